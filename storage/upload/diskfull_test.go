package upload_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/testenv/tmpfstest"
	"github.com/kiroku-voice/kiroku/spool"
)

// TestDataKeyOnFullDisk: with the spool's disk full to the last byte
// (a small tmpfs the test mounts, filled), the uploader cannot keep a
// call's data key in the spool — a new one for a call without audio, or
// the chosen format beside the key that sealed a recording's audio —
// and keeps it in memory instead: both calls are stored, which frees the
// disk, instead of waiting for space they would free themselves.
func TestDataKeyOnFullDisk(t *testing.T) {
	dir := tmpfstest.Mount(t, filepath.Join(t.TempDir(), "spool"), "4m")
	e := newEnv(t, nil)
	sp, err := spool.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	e.spool = sp
	e.up = e.uploader(e.keys)
	none, _ := e.call(t, 0)
	audio, _ := e.call(t, 8000)

	// Fill the disk: large writes, then ever smaller ones, until not a
	// byte more fits.
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	for n := 1 << 20; n > 0; n /= 2 {
		for {
			if _, err := f.Write(make([]byte, n)); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
	}
	f.Close()
	if free, err := sp.Free(); err != nil || free != 0 {
		t.Fatalf("free space %d (%v), want the disk full", free, err)
	}

	if err := e.up.Pass(t.Context()); err != nil {
		t.Fatalf("upload on a full disk: %v", err)
	}
	for _, m := range []*spool.Manifest{none, audio} {
		r, err := e.cat.Get(t.Context(), m.ID)
		if err != nil {
			t.Fatalf("%s not stored on a full disk: %v", m.ID, err)
		}
		if r.State != catalog.StateStored || len(r.WrappedKey) == 0 {
			t.Errorf("%s: state %s, wrapped key %d bytes", m.ID, r.State, len(r.WrappedKey))
		}
		if _, err := os.Stat(sp.ManifestPath(m.ID)); !os.IsNotExist(err) {
			t.Errorf("%s: spool manifest %v, want removed once stored", m.ID, err)
		}
	}
	if r, _ := e.cat.Get(t.Context(), audio.ID); r.ObjectKey == "" {
		t.Errorf("the recorded call was stored without its audio")
	}
}
