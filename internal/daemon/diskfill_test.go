package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
	"github.com/kiroku-voice/kiroku/spool"
)

// TestDiskFullDuringCalls: the spool disk (a 16 MiB tmpfs the test
// mounts) fills while calls are recorded. First to within the reserve's
// half: the recordings stop there, and their final manifests (written
// from the rest of the reserve) say "truncated: disk full" and are
// stored with the audio kept. Then to the last byte: the final manifests
// are refused, the calls wait in memory (kiroku_spool_stranded, and
// pending), and a call answered meanwhile is not recorded; once space is
// freed every one of them is stored without a restart, with its end
// reason rather than "interrupted", each with its consent decision.
func TestDiskFullDuringCalls(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting the test's tmpfs needs root")
	}
	dir := t.TempDir()
	writeNotice(t, dir)
	// No ballast: the filler below takes back any room freed, so the
	// ballast's room would go to the filler or to a manifest by chance
	// (spool's TestBallast covers it on a disk that is full and left so).
	path := writeConfig(t, dir, "90d", "spool: {reserve_mb: 8, ballast_kb: -1}\n")
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
	reserve := cfg.SpoolReserve()

	// To within the reserve's half, while three calls are recorded.
	calls := startCalls(t, d, 3, 4*time.Second)
	waitFor(t, "three recordings begun", func() bool { return wavs(t, sp, 0) == 3 })
	free, err := d.spool.Free()
	if err != nil {
		t.Fatal(err)
	}
	fill(t, filepath.Join(sp, "filler1"), int64(free-reserve/2)-64<<10)
	if res := calls.Wait(t.Context()); res.Err() != nil {
		t.Fatalf("sipp: %v\n%s", res.Err(), res.Log)
	}
	waitFor(t, "three recordings stored", func() bool { return len(stored(t, d)) == 3 })
	for _, r := range stored(t, d) {
		m := manifestOf(t, r)
		if m.Recording == nil || m.Recording.Truncated != spool.TruncatedDiskFull || r.ObjectKey == "" || m.EndReason != "caller-hangup" {
			t.Errorf("call %s: got recording %+v object %q end reason %q; want audio truncated by a full disk, stored, caller-hangup", r.ID, m.Recording, r.ObjectKey, m.EndReason)
			continue
		}
		if m.Recording.Duration <= 0 || m.Recording.Duration >= 4 {
			t.Errorf("call %s: got %.2fs of audio kept, want some and less than the call's 4s", r.ID, m.Recording.Duration)
		}
	}
	if got := counter(t, d, `kiroku_recordings_truncated_total{reason="disk_full"}`); got != "3" {
		t.Errorf("got truncated count %q, want 3", got)
	}
	first := map[string]bool{}
	for _, r := range stored(t, d) {
		first[r.ID] = true
	}
	if err := os.Remove(filepath.Join(sp, "filler1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stored recordings gone from the spool", func() bool { return wavs(t, sp, 0) == 0 })

	// To the last byte, kept there (what a call frees, such as its
	// dialogs file, is taken back at once): three recorded calls and one
	// answered after.
	calls = startCalls(t, d, 3, 4*time.Second)
	waitFor(t, "three more recordings with audio", func() bool { return wavs(t, sp, 16<<10) == 3 })
	stop := keepFull(t, filepath.Join(sp, "filler2"))
	late := startCalls(t, d, 1, time.Second)
	for _, p := range []*sipptest.Process{calls, late} {
		if res := p.Wait(t.Context()); res.Err() != nil {
			t.Fatalf("sipp: %v\n%s", res.Err(), res.Log)
		}
	}
	waitFor(t, "the calls ended", func() bool { return d.SIP().ActiveCalls() == 0 })
	stranded := gauge(t, d, "kiroku_spool_stranded")
	if stranded < 1 {
		t.Fatalf("got kiroku_spool_stranded %v with the disk full, want the calls whose final manifest it refused", stranded)
	}
	if got := gauge(t, d, "kiroku_spool_pending"); got < stranded {
		t.Errorf("got kiroku_spool_pending %v while %v calls are stranded, want them counted", got, stranded)
	}
	if got := gauge(t, d, "kiroku_spool_oldest_age_seconds"); got <= 0 {
		t.Errorf("got kiroku_spool_oldest_age_seconds %v while calls are stranded, want their age", got)
	}
	if got := len(stored(t, d)); float64(got) > 7-stranded {
		t.Errorf("got %d recordings stored while %v calls are stranded, want at most %v", got, stranded, 7-stranded)
	}
	t.Logf("%v of the 4 calls stranded while the disk was full", stranded)

	stop()
	waitFor(t, "the stranded calls stored", func() bool { return len(stored(t, d)) == 7 })
	truncated, unrecorded := 0, 0
	for _, r := range stored(t, d) {
		if first[r.ID] {
			continue
		}
		m := manifestOf(t, r)
		if m.EndReason != "caller-hangup" || m.Consent.Decision != spool.Notified || r.Decision != spool.Notified {
			t.Errorf("call %s: got end reason %q decision %q (row %q); want caller-hangup, notified", r.ID, m.EndReason, m.Consent.Decision, r.Decision)
		}
		switch {
		case m.Recording != nil && m.Recording.Truncated == spool.TruncatedDiskFull && r.ObjectKey != "":
			truncated++
		case m.Recording == nil && m.NotRecorded == spool.NotRecordedDiskFull && r.ObjectKey == "":
			unrecorded++
		default:
			t.Errorf("call %s: got recording %+v not recorded %q object %q; want truncated audio or not recorded: disk full", r.ID, m.Recording, m.NotRecorded, r.ObjectKey)
		}
	}
	if truncated != 3 || unrecorded != 1 {
		t.Errorf("got %d truncated recordings and %d calls not recorded, want 3 and 1", truncated, unrecorded)
	}
	if got := gauge(t, d, "kiroku_spool_stranded"); got != 0 {
		t.Errorf("got kiroku_spool_stranded %v once stored, want 0", got)
	}
}

// startCalls starts SIPp making n calls of hold each to d's line, all at
// once.
func startCalls(t *testing.T, d *Daemon, n int, hold time.Duration) *sipptest.Process {
	t.Helper()
	return sipptest.Start(t, sipptest.Options{
		Scenario: sipptest.Scenario(t, "uac.xml"),
		Remote:   d.SIP().Listeners()[0].Addr.String(),
		Keys:     map[string]string{"dialled": "0120000001", "caller": "0312345678", "rtp_port": strconv.Itoa(sipptest.FreePort(t, "udp"))},
		Calls:    n,
		Rate:     n * 10,
		Duration: hold,
		Timeout:  30 * time.Second,
	})
}

// wavs counts the sealed recordings in spool folder sp larger than min
// bytes.
func wavs(t *testing.T, sp string, min int64) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(sp, "*"+spool.SealedExt))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range m {
		if fi, err := os.Stat(p); err == nil && fi.Size() > min {
			n++
		}
	}
	return n
}

// keepFull fills the disk of path to the last byte and keeps it full,
// taking back whatever is freed, until the func it returns is called;
// that removes path.
func keepFull(t *testing.T, path string) (stop func()) {
	t.Helper()
	fill(t, path, -1)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		page := make([]byte, 4<<10)
		for {
			select {
			case <-quit:
				return
			default:
			}
			if _, err := f.Write(page); err != nil {
				time.Sleep(time.Millisecond) // full: look again soon
			}
		}
	}()
	return func() {
		close(quit)
		<-done
		f.Close()
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

// fill writes n bytes to path, or with n < 0 as many as the disk takes.
func fill(t *testing.T, path string, n int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for left := n; n < 0 || left > 0; left -= int64(len(buf)) {
		if n >= 0 && left < int64(len(buf)) {
			buf = buf[:left]
		}
		if _, err := f.Write(buf); err != nil {
			if n < 0 && errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
}

// manifestOf decodes the spool manifest kept in r.
func manifestOf(t *testing.T, r *catalog.Recording) spool.Manifest {
	t.Helper()
	var m spool.Manifest
	if err := json.Unmarshal(r.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
