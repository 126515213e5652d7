package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kiroku-voice/kiroku/storage"
)

func testList(t *testing.T, s storage.Store) {
	id := func(n int) string { return fmt.Sprintf("0193a5c2-7d4e-7c1a-9f00-%012d", n) }
	var all []string
	for day, ids := range map[string][]int{"27": {3, 1, 2}, "28": {4}} {
		for _, n := range ids {
			all = append(all,
				"cs-quality/2026/11/"+day+"/"+id(n)+".wav",
				"cs-quality/2026/11/"+day+"/"+id(n)+".json")
		}
	}
	// Byte order of whole keys, not a walk of folders: '-' and '.' sort
	// before '/', '0' after it.
	all = append(all, "order/a/b", "order/a-c", "order/a.json", "order/a0", "sales/2026/11/27/"+id(9)+".wav")
	slices.Reverse(all)
	for i, k := range all {
		put(t, s, k, body(10+i, uint64(i)), storage.PutOptions{})
	}
	sorted := slices.Sorted(slices.Values(all))

	for _, tt := range []struct {
		name, prefix string
		want         []string
	}{
		{"everything", "", sorted},
		{"purpose", "cs-quality/", filter(sorted, "cs-quality/")},
		{"day", "cs-quality/2026/11/27/", filter(sorted, "cs-quality/2026/11/27/")},
		{"part of a segment", "cs-quality/2026/11/2", filter(sorted, "cs-quality/")},
		{"one recording", "cs-quality/2026/11/27/" + id(1), []string{
			"cs-quality/2026/11/27/" + id(1) + ".json",
			"cs-quality/2026/11/27/" + id(1) + ".wav",
		}},
		{"byte order", "order/", []string{"order/a-c", "order/a.json", "order/a/b", "order/a0"}},
		{"whole key", "order/a0", []string{"order/a0"}},
		{"nothing", "none/", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := keys(t, s, tt.prefix); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("sizes", func(t *testing.T) {
		err := s.List(t.Context(), "order/a0", func(o storage.Object) error {
			if want := int64(10 + slices.Index(all, o.Key)); o.Size != want {
				t.Errorf("%s: got size %d, want %d", o.Key, o.Size, want)
			}
			if o.Modified.IsZero() {
				t.Errorf("%s: no modification time", o.Key)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	for _, prefix := range []string{"/cs-quality", "cs-quality//", "../", "a/../b/"} {
		t.Run("bad prefix "+prefix, func(t *testing.T) {
			err := s.List(t.Context(), prefix, func(storage.Object) error { return nil })
			if !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("got %v, want ErrInvalidKey", err)
			}
		})
	}
}

func filter(keys []string, prefix string) []string {
	var out []string
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}

func testListStops(t *testing.T, s storage.Store) {
	for i := range 5 {
		put(t, s, fmt.Sprintf("stop/%d", i), []byte{byte(i)}, storage.PutOptions{})
	}
	stop := errors.New("enough")
	var seen int
	err := s.List(t.Context(), "stop/", func(storage.Object) error {
		seen++
		if seen == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != 2 {
		t.Errorf("got %v after %d objects, want fn's error after 2", err, seen)
	}
}
