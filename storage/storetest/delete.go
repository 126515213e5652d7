package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kiroku-voice/kiroku/storage"
)

func testDeleteBatch(t *testing.T, s storage.Store) {
	// More than one S3 request's worth (1,000), absent keys mixed in.
	const present, total = 1100, 1500
	var del []string
	var stored []string
	for i := range total {
		k := fmt.Sprintf("cs-quality/2026/11/%02d/%06d.wav", 1+i%28, i)
		del = append(del, k)
		if i < present && i%4 != 3 {
			stored = append(stored, k)
		}
	}
	parallel(t, len(stored), func(i int) error {
		_, err := s.Put(t.Context(), stored[i], strings.NewReader("x"), 1, storage.PutOptions{})
		return err
	})
	put(t, s, "kept/object", []byte("kept"), storage.PutOptions{})
	del = append(del, del[0]) // a key twice

	results := s.Delete(t.Context(), del)
	if len(results) != len(del) {
		t.Fatalf("got %d results for %d keys", len(results), len(del))
	}
	for i, r := range results {
		if r.Key != del[i] || r.Err != nil {
			t.Errorf("result %d: got %s, %v, want %s, nil", i, r.Key, r.Err, del[i])
		}
	}
	if got := keys(t, s, ""); !slices.Equal(got, []string{"kept/object"}) {
		t.Errorf("list after delete: got %d keys (%.3q...), want only kept/object", len(got), got)
	}
	absent(t, s, stored[0])

	results = s.Delete(t.Context(), []string{"kept/object", "", "../x", "never/there"})
	for i, wantInvalid := range []bool{false, true, true, false} {
		if got := errors.Is(results[i].Err, storage.ErrInvalidKey); got != wantInvalid || (!wantInvalid && results[i].Err != nil) {
			t.Errorf("delete %q: got %v, want invalid key %v", results[i].Key, results[i].Err, wantInvalid)
		}
	}
	absent(t, s, "kept/object")
	if got := s.Delete(t.Context(), nil); len(got) != 0 {
		t.Errorf("delete of no keys: got %v", got)
	}
}

// parallel runs fn(0..n-1) on a few goroutines and fails the test on the
// first error.
func parallel(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	var (
		wg   sync.WaitGroup
		next = make(chan int)
		errs = make(chan error, n)
	)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}
