// Package storetest is the contract every storage.Store keeps: one suite
// that the tests of each backend (fs, s3) run against a store of their
// own, so that the uploader, retention and the API can count on the same
// behaviour from all of them.
//
// It is for _test.go files only.
package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/kiroku-voice/kiroku/storage"
)

// Run runs the contract suite. newStore is called once per subtest and
// must return an empty store that the test's cleanup closes; subtests
// run in parallel.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"round trip", testRoundTrip},
		{"empty object", testEmpty},
		{"range", testRange},
		{"stat", testStat},
		{"sha-256 given", testSHA256Given},
		{"sha-256 mismatch", testSHA256Mismatch},
		{"short reader", testShortReader},
		{"overwrite", testOverwrite},
		{"list", testList},
		{"list stops", testListStops},
		{"delete batch", testDeleteBatch},
		{"bad keys", testBadKeys},
		{"bad input", testBadInput},
		{"set tags", testSetTags},
		{"not found", testNotFound},
		{"concurrent puts", testConcurrentPuts},
		{"cancelled", testCancelled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// A recording's key and its companion, as the uploader makes them.
const (
	wavKey  = "cs-quality/2026/11/27/0193a5c2-7d4e-7c1a-9f00-000000000001.wav"
	jsonKey = "cs-quality/2026/11/27/0193a5c2-7d4e-7c1a-9f00-000000000001.json"
)

// body returns n bytes that differ per seed.
func body(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// put stores b under key and fails the test on error.
func put(t *testing.T, s storage.Store, key string, b []byte, opts storage.PutOptions) storage.Object {
	t.Helper()
	obj, err := s.Put(t.Context(), key, bytes.NewReader(b), int64(len(b)), opts)
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return obj
}

// get reads key from offset for length and fails the test on error.
func get(t *testing.T, s storage.Store, key string, offset, length int64) []byte {
	t.Helper()
	rc, err := s.Get(t.Context(), key, offset, length)
	if err != nil {
		t.Fatalf("get %s [%d,%d]: %v", key, offset, length, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

// stat describes key and fails the test on error.
func stat(t *testing.T, s storage.Store, key string) storage.Object {
	t.Helper()
	obj, err := s.Stat(t.Context(), key)
	if err != nil {
		t.Fatalf("stat %s: %v", key, err)
	}
	return obj
}

// keys lists the keys under prefix.
func keys(t *testing.T, s storage.Store, prefix string) []string {
	t.Helper()
	var got []string
	err := s.List(t.Context(), prefix, func(o storage.Object) error {
		got = append(got, o.Key)
		return nil
	})
	if err != nil {
		t.Fatalf("list %q: %v", prefix, err)
	}
	return got
}

// absent fails the test unless key is not stored.
func absent(t *testing.T, s storage.Store, key string) {
	t.Helper()
	if _, err := s.Stat(t.Context(), key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("stat %s: got %v, want ErrNotFound", key, err)
	}
}

// sameMap compares maps, taking nil and empty as the same.
func sameMap(a, b map[string]string) bool {
	return len(a) == len(b) && (len(a) == 0 || maps.Equal(a, b))
}
