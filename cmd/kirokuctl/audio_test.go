package main

import "testing"

// TestAudioShown: a recording with a silent channel never reads as plain
// audio in search rows or in show.
func TestAudioShown(t *testing.T) {
	for _, tc := range []struct {
		name     string
		has      bool
		silent   []string
		wantCell string
		wantLine string
	}{
		{"not recorded", false, nil, "no", "none (not recorded)"},
		{"audio on both", true, nil, "yes", "10 bytes, sha256 ab"},
		{"caller silent", true, []string{"caller"}, "silent:caller", "10 bytes, sha256 ab; silent (no RTP received): caller"},
		{"both silent", true, []string{"caller", "agent"}, "silent:caller,agent", "10 bytes, sha256 ab; silent (no RTP received): caller, agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := audioCell(tc.has, tc.silent); got != tc.wantCell {
				t.Errorf("cell: got %q, want %q", got, tc.wantCell)
			}
			if got := audioLine(tc.has, 10, "ab", tc.silent); got != tc.wantLine {
				t.Errorf("line: got %q, want %q", got, tc.wantLine)
			}
		})
	}
}
