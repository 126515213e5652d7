package spool

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWriteFinalStranded: a final manifest the disk refuses is kept, as
// it stood, and RetryStranded writes it once the spool can take it; a
// later successful WriteFinal of the same call forgets it.
func TestWriteFinalStranded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spool")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := os.Remove(path); err != nil { // the folder gone: every write fails
		t.Fatal(err)
	}
	m := &Manifest{ID: "0190-a", State: StateSpooled, StartedAt: now.Add(-time.Minute), EndReason: "caller-hangup", EndedAt: &now,
		Consent: Consent{Decision: Notified}, Recording: &Recording{File: "0190-a.wav", Truncated: TruncatedDiskFull}}
	if err := d.WriteFinal(m); err == nil {
		t.Fatal("got no error writing into a missing folder")
	}
	m.EndReason = "changed after" // the kept copy is the one handed in
	if got := d.Stranded(); got != 1 {
		t.Fatalf("got %d stranded, want 1", got)
	}
	if got := d.StrandedOldest(); !got.Equal(now.Add(-time.Minute)) {
		t.Errorf("got oldest stranded call started %v, want %v", got, now.Add(-time.Minute))
	}
	if n, left, err := d.RetryStranded(); err == nil || n != 0 || left != 1 {
		t.Fatalf("got %d written, %d left, %v; want 0, 1 and the error while the folder is missing", n, left, err)
	}
	if err := os.Mkdir(path, 0o750); err != nil {
		t.Fatal(err)
	}
	if n, left, err := d.RetryStranded(); err != nil || n != 1 || left != 0 {
		t.Fatalf("got %d written, %d left, %v; want 1, 0, nil", n, left, err)
	}
	got, err := d.ReadManifest("0190-a")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != StateSpooled || got.EndReason != "caller-hangup" || got.Recording.Truncated != TruncatedDiskFull {
		t.Errorf("got state %q end reason %q truncated %q; want the final manifest as kept", got.State, got.EndReason, got.Recording.Truncated)
	}
	fin, err := d.Finished(nil)
	if err != nil || len(fin) != 1 {
		t.Errorf("got %d finished, %v; want the call listed for upload", len(fin), err)
	}

	// Refused, then written by the caller's own retry: nothing stays.
	os.RemoveAll(path)
	b := &Manifest{ID: "0190-b", State: StateDone}
	if err := d.WriteFinal(b); err == nil {
		t.Fatal("got no error writing into a missing folder")
	}
	os.Mkdir(path, 0o750)
	if err := d.WriteFinal(b); err != nil {
		t.Fatal(err)
	}
	if got := d.Stranded(); got != 0 || !d.StrandedOldest().IsZero() {
		t.Errorf("got %d stranded (oldest %v) after the write succeeded, want 0", got, d.StrandedOldest())
	}
}
