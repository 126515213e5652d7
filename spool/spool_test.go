package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestManifestRoundTrip(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	m := &Manifest{ID: "0190-abc", Caller: "0312345678", StartedAt: now,
		Consent: Consent{Decision: OptedOut, OptOut: &OptOut{Digit: "9", At: now, Via: "rfc4733"}}}
	if err := d.WriteManifest(m); err != nil {
		t.Fatal(err)
	}
	got, err := d.ReadManifest("0190-abc")
	if err != nil {
		t.Fatal(err)
	}
	if got.Consent.Decision != OptedOut || got.Consent.OptOut.Digit != "9" || !got.StartedAt.Equal(now) || got.Version != ManifestVersion {
		t.Errorf("got %+v, want the manifest written", got)
	}
	entries, _ := os.ReadDir(d.Path())
	if len(entries) != 1 {
		t.Errorf("got %d files in the spool, want 1 (no temporary left)", len(entries))
	}
}

func TestWriteManifestRejectsBadID(t *testing.T) {
	d, _ := Open(t.TempDir())
	for _, id := range []string{"", "../x", "a/b", ".hidden"} {
		t.Run(id, func(t *testing.T) {
			if err := d.WriteManifest(&Manifest{ID: id}); err == nil {
				t.Errorf("id %q: got no error, want one", id)
			}
		})
	}
}

func TestWriteManifestUnwritable(t *testing.T) {
	if os.Geteuid() == 0 {
		// root ignores directory permissions; use a path that cannot exist.
		d := &Dir{path: filepath.Join(t.TempDir(), "missing", "spool")}
		if err := d.WriteManifest(&Manifest{ID: "x"}); err == nil {
			t.Fatal("got no error writing into a missing folder")
		}
		return
	}
	dir := t.TempDir()
	d, _ := Open(dir)
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	if err := d.WriteManifest(&Manifest{ID: "x"}); err == nil {
		t.Fatal("got no error writing into a read-only folder")
	}
}

// TestFinishedAndRemove: the listing the uploader and the purge read,
// and the removal of a call's files.
func TestFinishedAndRemove(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Manifest{{ID: "03", State: StateDone}, {ID: "01", State: StateSpooled}, {ID: "02", State: StateActive}} {
		if err := d.WriteManifest(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(d.RecordingPath("01"), []byte("RIFF"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.ManifestPath("04"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	tmp, err := d.CreateTemp("01.sealed.*")
	if err != nil {
		t.Fatal(err)
	}
	tmp.Close()
	var bad []string
	ms, err := d.Finished(func(id string, _ error) { bad = append(bad, id) })
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	if len(ids) != 2 || ids[0] != "01" || ids[1] != "03" || len(bad) != 1 || bad[0] != "04" {
		t.Fatalf("got finished %v and unreadable %v, want [01 03] and [04]", ids, bad)
	}
	for range 2 { // removing what is gone already is no error
		if err := d.Remove("01"); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{d.RecordingPath("01"), d.ManifestPath("01")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s: got %v, want it removed", filepath.Base(p), err)
		}
	}
	if _, err := os.Stat(tmp.Name()); err != nil {
		t.Errorf("temporary: %v, want it left for its owner", err)
	}
}

// TestRemoveTemps: the temporaries an interrupted run leaves (an
// upload's sealed copy, a manifest write never renamed) are removed and
// counted; the calls' own files stay.
func TestRemoveTemps(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := &Manifest{ID: "call-1", State: StateDone}
	if err := d.WriteManifest(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.RecordingPath("call-1"), []byte("RIFF"), 0o600); err != nil {
		t.Fatal(err)
	}
	sealed, err := d.CreateTemp("call-1.sealed.*")
	if err != nil {
		t.Fatal(err)
	}
	sealed.Write(make([]byte, 1000))
	sealed.Close()
	if err := os.WriteFile(filepath.Join(d.Path(), ".call-1.json.123"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, size, err := d.RemoveTemps()
	if err != nil || n != 2 || size != 1001 {
		t.Errorf("got %d files, %d bytes, %v; want 2, 1001, nil", n, size, err)
	}
	entries, _ := os.ReadDir(d.Path())
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 2 || names[0] != "call-1.json" || names[1] != "call-1.wav" {
		t.Errorf("got %v left, want the call's manifest and audio", names)
	}
	if n, _, err := d.RemoveTemps(); n != 0 || err != nil {
		t.Errorf("second run: got %d, %v; want 0, nil", n, err)
	}
}

// TestCheckAgentID: ids an agent platform sends are kept; empty, long
// and unprintable ones are refused with the reason.
func TestCheckAgentID(t *testing.T) {
	for _, tc := range []struct {
		v, err string // err: the error; "" for none
	}{
		{"A-1001", ""},
		{"agent 7", ""},
		{"佐藤", ""},
		{strings.Repeat("a", 64), ""},
		{"", "empty"},
		{strings.Repeat("a", 65), "65 bytes, more than 64"},
		{"A\xff", "not UTF-8"},
		{"A\n1001", "holds U+000A, which does not print"},
		{"A\x00", "holds U+0000, which does not print"},
		{"\u202eA", "holds U+202E, which does not print"},
	} {
		err := CheckAgentID(tc.v)
		if got := fmt.Sprint(err); (tc.err == "" && err != nil) || (tc.err != "" && got != tc.err) {
			t.Errorf("CheckAgentID(%q): got %v, want %q", tc.v, err, tc.err)
		}
	}
}

// BenchmarkFree is one statfs of the spool's disk (Free), and
// BenchmarkFreeRecent what each recorder's write pays to learn it: the
// figure cached for freeAge, shared by every call, under contention from
// all the benchmark's goroutines.
func BenchmarkFree(b *testing.B) {
	d, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("statfs", func(b *testing.B) {
		for b.Loop() {
			if _, err := d.Free(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("recent-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := d.FreeRecent(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
