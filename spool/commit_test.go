package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestGroupCommit: manifests written together share their flushes (fewer
// batches than files), each writer returns with its manifest readable,
// and nothing temporary is left.
func TestGroupCommit(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("call-%03d", i)
			if errs[i] = d.WriteManifest(&Manifest{ID: id, Line: id}); errs[i] != nil {
				return
			}
			m, err := d.ReadManifest(id)
			if err != nil || m.Line != id {
				errs[i] = fmt.Errorf("read back %s: got %+v, %v", id, m, err)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	batches, files := d.commitStats()
	if files != n {
		t.Errorf("got %d files written, want %d", files, n)
	}
	if batches >= n {
		t.Errorf("got %d batches for %d concurrent writes, want them grouped", batches, n)
	}
	entries, _ := os.ReadDir(d.Path())
	if len(entries) != n {
		t.Errorf("got %d files in the spool, want %d (no temporary left)", len(entries), n)
	}
	t.Logf("%d manifests in %d batches", files, batches)
}

// TestQueueManifestOrder: of the manifests of one call queued in a row,
// the last one is what the spool holds, and every writer is told.
func TestQueueManifestOrder(t *testing.T) {
	d, _ := Open(t.TempDir())
	var wg sync.WaitGroup
	states := []string{StateNotice, StateBridging, StateActive, StateSpooled}
	for _, st := range states {
		wg.Add(1)
		d.QueueManifest(&Manifest{ID: "c1", State: st}, func(err error) {
			if err != nil {
				t.Errorf("state %s: %v", st, err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	m, err := d.ReadManifest("c1")
	if err != nil {
		t.Fatal(err)
	}
	if m.State != StateSpooled {
		t.Errorf("got state %q, want the last queued (%q)", m.State, StateSpooled)
	}
}

// TestQueueManifestFailure: a write that cannot be made is reported to
// its writer, and the manifest already there stands.
func TestQueueManifestFailure(t *testing.T) {
	dir := t.TempDir()
	d, _ := Open(dir)
	if err := d.WriteManifest(&Manifest{ID: "c1", State: StateNotice}); err != nil {
		t.Fatal(err)
	}
	// A folder where the new manifest should go makes its rename fail.
	if err := os.Mkdir(filepath.Join(dir, "c2.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c2.json", "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var err1, err2 error
	wg.Add(2)
	d.QueueManifest(&Manifest{ID: "c2", State: StateActive}, func(err error) { err2 = err; wg.Done() })
	d.QueueManifest(&Manifest{ID: "c1", State: StateBridging}, func(err error) { err1 = err; wg.Done() })
	wg.Wait()
	if err2 == nil {
		t.Error("c2: got no error renaming over a folder")
	}
	if err1 != nil {
		t.Errorf("c1: got %v, want its write to succeed beside c2's failure", err1)
	}
	if m, err := d.ReadManifest("c1"); err != nil || m.State != StateBridging {
		t.Errorf("c1: got %+v, %v; want state %q", m, err, StateBridging)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name()[0] == '.' {
			t.Errorf("temporary %s left behind", e.Name())
		}
	}
}
