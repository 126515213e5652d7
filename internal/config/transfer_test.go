package config

import "testing"

func TestTransferTargetMatches(t *testing.T) {
	for _, tc := range []struct {
		pattern            string
		scheme, user, host string
		port               int
		want               bool
	}{
		{"sip:*@192.0.2.30", "sip", "desk-1", "192.0.2.30", 0, true},
		{"sip:*@192.0.2.30", "sip", "desk-1", "192.0.2.30", 5080, true}, // no port in the pattern: any
		{"sip:*@192.0.2.30", "sips", "desk-1", "192.0.2.30", 0, false},
		{"sip:*@192.0.2.30", "sip", "desk-1", "192.0.2.31", 0, false},
		{"sip:sup@PBX.example:5060", "sip", "sup", "pbx.example", 0, true}, // 5060 is sip's default
		{"sip:sup@pbx.example:5060", "sip", "sup", "pbx.example", 5070, false},
		{"sip:sup@pbx.example", "sip", "other", "pbx.example", 0, false},
		{"sips:sup@pbx.example:5061", "sips", "sup", "pbx.example", 0, true},
		{"sip:*@[2001:db8::1]:5060", "sip", "a", "[2001:db8::1]", 5060, true},
		{"sip:*@[2001:db8::1]", "sip", "a", "2001:db8::1", 7000, true},
	} {
		tt, err := ParseTransferTarget(tc.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		if got := tt.Matches(tc.scheme, tc.user, tc.host, tc.port); got != tc.want {
			t.Errorf("%s matches %s:%s@%s:%d = %v, want %v", tc.pattern, tc.scheme, tc.user, tc.host, tc.port, got, tc.want)
		}
	}
}
