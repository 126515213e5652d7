package fs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/storage"
)

// TestRemoveTemps: a Put's temporary left by a crash is removed once it
// is older than the age given; a younger one (a Put that may be in
// progress) and the objects stay.
func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Put(t.Context(), "p/2026/01/02/a.wav", bytes.NewReader([]byte("audio")), 5, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "p", "2026", "01", "02", tempPrefix+"old")
	young := filepath.Join(dir, "p", tempPrefix+"young")
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, make([]byte, 100), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	n, size, err := s.RemoveTemps(time.Hour)
	if err != nil || n != 1 || size != 100 {
		t.Fatalf("got %d files, %d bytes, %v; want 1, 100, nil", n, size, err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the old temporary is still there: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("the young temporary was removed: %v", err)
	}
	if _, err := s.Stat(t.Context(), "p/2026/01/02/a.wav"); err != nil {
		t.Errorf("the object: %v", err)
	}
}
