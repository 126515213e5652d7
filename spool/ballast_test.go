package spool

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/testenv/tmpfstest"
)

// TestBallast: on a disk filled to its last byte, a final manifest is
// written into the room the ballast held back, not kept in memory (where
// a kill -9 would lose it); with the ballast spent the next one is kept
// (stranded); the ballast comes back once the disk has room, and a
// reopened spool takes over the ballast file left on its disk.
func TestBallast(t *testing.T) {
	path := tmpfstest.Mount(t, filepath.Join(t.TempDir(), "spool"), "2m")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	const size = 256 << 10
	if err := d.KeepBallast(size); err != nil {
		t.Fatal(err)
	}
	if got := d.Ballast(); got != size {
		t.Fatalf("got a ballast of %d bytes, want %d", got, size)
	}
	if fi, err := os.Stat(filepath.Join(path, ballastName)); err != nil || fi.Size() != size {
		t.Fatalf("ballast file: %v %v, want %d bytes", fi, err, size)
	}
	filler := filepath.Join(path, "filler")
	fillDisk(t, filler)

	now := time.Now().UTC()
	final := func(id string) *Manifest {
		return &Manifest{ID: id, State: StateDone, StartedAt: now, EndedAt: &now, EndReason: "caller-hangup",
			Consent: Consent{Decision: Notified}, NotRecorded: NotRecordedDiskFull}
	}
	if err := d.WriteManifest(final("0190-probe")); !IsDiskFull(err) {
		t.Fatalf("got %v writing a manifest on the full disk, want it refused for want of space", err)
	}
	if err := d.WriteFinal(final("0190-a")); err != nil {
		t.Fatalf("final manifest with the ballast to give up: %v", err)
	}
	if got, err := d.ReadManifest("0190-a"); err != nil || got.EndReason != "caller-hangup" {
		t.Fatalf("got %+v, %v; want the final manifest on the disk", got, err)
	}
	if d.Stranded() != 0 || d.Ballast() != 0 {
		t.Errorf("got %d stranded and a ballast of %d, want none of either", d.Stranded(), d.Ballast())
	}
	if _, err := os.Stat(filepath.Join(path, ballastName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ballast file after it was given up: %v", err)
	}
	fillDisk(t, filepath.Join(path, "filler2")) // what the manifest left
	if err := d.WriteFinal(final("0190-b")); !IsDiskFull(err) || d.Stranded() != 1 {
		t.Fatalf("got %v and %d stranded with the ballast spent, want the manifest kept in memory", err, d.Stranded())
	}
	if err := d.RestoreBallast(); err != nil || d.Ballast() != 0 {
		t.Fatalf("got %v and a ballast of %d on a full disk, want none made", err, d.Ballast())
	}

	for _, f := range []string{filler, filepath.Join(path, "filler2")} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	if n, left, err := d.RetryStranded(); err != nil || n != 1 || left != 0 {
		t.Fatalf("got %d written, %d left, %v; want the stranded one written", n, left, err)
	}
	if err := d.RestoreBallast(); err != nil || d.Ballast() != size {
		t.Fatalf("got %v and a ballast of %d with room again, want %d", err, d.Ballast(), size)
	}

	// A restart takes over the ballast on the disk; a size of 0 removes it.
	d2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := d2.KeepBallast(size); err != nil || d2.Ballast() != size {
		t.Fatalf("reopened: got %v and a ballast of %d, want %d", err, d2.Ballast(), size)
	}
	if err := d2.KeepBallast(0); err != nil || d2.Ballast() != 0 {
		t.Fatalf("no ballast: got %v and %d", err, d2.Ballast())
	}
	if _, err := os.Stat(filepath.Join(path, ballastName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ballast file with none kept: %v", err)
	}
	list, err := d2.Finished(nil)
	if err != nil || len(list) != 2 {
		t.Errorf("got %d finished calls, %v; want the two final manifests, the ballast not listed", len(list), err)
	}
}

// fillDisk writes path until its disk refuses another byte.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	page := make([]byte, 4<<10)
	for {
		if _, err := f.Write(page); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	for _, n := range []int{512, 64, 1} { // the last partial page
		for {
			if _, err := f.Write(page[:n]); err != nil {
				break
			}
		}
	}
}
