package config

import "testing"

// TestTranscoder: absent, the section defers at a backlog of more than
// 8 at half of one CPU; defer_backlog 0 (always) is kept as given, not taken
// for absent; -1 never defers.
func TestTranscoder(t *testing.T) {
	c, err := Load("testdata/transcoder/zero.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Transcoder.CPUPercent != 5 || c.Transcoder.DeferBacklog != 0 || !c.Transcoder.Defers(1) {
		t.Errorf("got cpu_percent %d defer_backlog %d (defers one waiting: %v), want 5, 0, true",
			c.Transcoder.CPUPercent, c.Transcoder.DeferBacklog, c.Transcoder.Defers(1))
	}
	d, err := Load("testdata/minimal.yaml") // no transcoder section: the defaults
	if err != nil {
		t.Fatal(err)
	}
	if d.Transcoder.CPUPercent != DefaultTranscodeCPUPercent || d.Transcoder.DeferBacklog != DefaultTranscodeDeferBacklog || d.Transcoder.Defers(8) || !d.Transcoder.Defers(9) {
		t.Errorf("defaults: got cpu_percent %d defer_backlog %d", d.Transcoder.CPUPercent, d.Transcoder.DeferBacklog)
	}
	if (Transcoder{DeferBacklog: -1}).Defers(1 << 20) {
		t.Error("defer_backlog -1 deferred")
	}
}
