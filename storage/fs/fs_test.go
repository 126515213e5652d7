package fs

import (
	"testing"

	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/storetest"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) storage.Store { return newStore(t) })
}
