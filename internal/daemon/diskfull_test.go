package daemon

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/testenv/tmpfstest"
	"github.com/kiroku-voice/kiroku/spool"
)

// TestDiskFullNotRecorded: on a spool disk (a 16 MiB tmpfs the test
// mounts) with less free space than spool.reserve_mb, an answered call is
// not recorded, its manifest and catalog row say "disk full" with the
// caller's consent decision, and kiroku_recordings_total counts it as
// disk_full, not with opt-outs; once space returns calls are recorded.
func TestDiskFullNotRecorded(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting the test's tmpfs needs root")
	}
	dir := t.TempDir()
	writeNotice(t, dir)
	path := writeConfig(t, dir, "90d", "spool: {reserve_mb: 8}\n")
	sp := mountSpool(t, dir)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(t.Context(), cfg, path, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop(context.Background()) }) // before the umount
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	free, err := d.spool.Free()
	if err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(sp, "filler")
	if err := os.WriteFile(filler, make([]byte, free-4<<20), 0o600); err != nil {
		t.Fatal(err)
	}

	call(t, d, time.Second)
	waitFor(t, "the unrecorded call's row", func() bool { return len(stored(t, d)) == 1 })
	r := stored(t, d)[0]
	var m spool.Manifest
	if err := json.Unmarshal(r.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	if m.NotRecorded != spool.NotRecordedDiskFull || m.Recording != nil || m.Consent.Decision != spool.Notified || r.ObjectKey != "" {
		t.Errorf("got not_recorded %q recording %v decision %q object %q; want disk full, no audio, notified", m.NotRecorded, m.Recording, m.Consent.Decision, r.ObjectKey)
	}
	if got := counter(t, d, `kiroku_recordings_total{outcome="disk_full"}`); got != "1" {
		t.Errorf("got disk_full count %q, want 1", got)
	}
	if got := counter(t, d, `kiroku_recordings_total{outcome="not_recorded"}`); got != "" {
		t.Errorf("got not_recorded count %q, want none: a full disk is not an opt-out", got)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	call(t, d, time.Second)
	waitFor(t, "the next call stored", func() bool { return len(stored(t, d)) == 2 })
	for _, r := range stored(t, d) {
		if r.ID != m.ID && r.ObjectKey == "" {
			t.Errorf("call %s after space returned: not recorded", r.ID)
		}
	}
}

// counter scrapes d's metrics for the value of series (name and labels
// as exposed), "" when absent.
func counter(t *testing.T, d *Daemon, series string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	d.metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			return v
		}
	}
	return ""
}

// mountSpool mounts a 16 MiB tmpfs as the spool of the daemon whose
// data_dir is dir/data, and unmounts it when the test ends (after the
// daemon's Stop, registered later). It skips the test without root.
func mountSpool(t *testing.T, dir string) string {
	t.Helper()
	return tmpfstest.Mount(t, filepath.Join(dir, "data", "spool"), "16m")
}
