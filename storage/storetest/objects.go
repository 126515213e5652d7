package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/storage"
)

func testRoundTrip(t *testing.T, s storage.Store) {
	b := body(100_000, 1)
	opts := storage.PutOptions{
		ContentType: "audio/wav",
		Meta:        map[string]string{"call-id": "a84b4c76e66710"},
		Tags:        map[string]string{"purpose": "cs-quality", "retain-until": "2027-11-27T00:00:00Z"},
	}
	obj := put(t, s, wavKey, b, opts)
	if obj.Key != wavKey || obj.Size != int64(len(b)) || obj.SHA256 != sum(b) {
		t.Errorf("put: got %s size %d sha %s, want %s size %d sha %s", obj.Key, obj.Size, obj.SHA256, wavKey, len(b), sum(b))
	}
	if !sameMap(obj.Tags, opts.Tags) || !sameMap(obj.Meta, opts.Meta) {
		t.Errorf("put: got tags %v meta %v, want %v %v", obj.Tags, obj.Meta, opts.Tags, opts.Meta)
	}
	if got := get(t, s, wavKey, 0, -1); !bytes.Equal(got, b) {
		t.Errorf("get: got %d bytes (sha %s), want %d (sha %s)", len(got), sum(got), len(b), sum(b))
	}
}

func testEmpty(t *testing.T, s storage.Store) {
	obj := put(t, s, "empty/object", nil, storage.PutOptions{SHA256: sum(nil)})
	if obj.Size != 0 || obj.SHA256 != sum(nil) {
		t.Errorf("put: got size %d sha %s, want 0 and %s", obj.Size, obj.SHA256, sum(nil))
	}
	for _, tt := range []struct {
		name           string
		offset, length int64
	}{
		{"whole", 0, -1},
		{"range", 0, 10},
		{"none", 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := get(t, s, "empty/object", tt.offset, tt.length); len(got) != 0 {
				t.Errorf("got %d bytes, want 0", len(got))
			}
		})
	}
	if got := stat(t, s, "empty/object"); got.Size != 0 {
		t.Errorf("stat: got size %d, want 0", got.Size)
	}
}

func testRange(t *testing.T, s storage.Store) {
	const n = 4096
	b := body(n, 2)
	put(t, s, wavKey, b, storage.PutOptions{})
	for _, tt := range []struct {
		name           string
		offset, length int64
		want           []byte
	}{
		{"whole", 0, -1, b},
		{"start", 0, 44, b[:44]},
		{"middle", 1000, 320, b[1000:1320]},
		{"to end", 4000, -1, b[4000:]},
		{"length beyond end", 4090, 100, b[4090:]},
		{"last byte", n - 1, -1, b[n-1:]},
		{"at end", n, -1, nil},
		{"at end with length", n, 10, nil},
		{"zero length", 100, 0, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := get(t, s, wavKey, tt.offset, tt.length); !bytes.Equal(got, tt.want) {
				t.Errorf("got %d bytes, want %d (equal prefix: %v)", len(got), len(tt.want), bytes.HasPrefix(tt.want, got))
			}
		})
	}
	for _, tt := range []struct {
		name           string
		offset, length int64
	}{
		{"past end", n + 1, -1},
		{"past end with length", n + 100, 10},
		{"past end zero length", n + 1, 0},
		{"negative offset", -1, 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rc, err := s.Get(t.Context(), wavKey, tt.offset, tt.length)
			if err == nil {
				rc.Close()
			}
			if !errors.Is(err, storage.ErrInvalidRange) {
				t.Errorf("got %v, want ErrInvalidRange", err)
			}
		})
	}
}

func testStat(t *testing.T, s storage.Store) {
	b := body(5000, 3)
	before := time.Now().Add(-time.Minute)
	put(t, s, wavKey, b, storage.PutOptions{
		ContentType: "audio/wav",
		// Metadata names are case-insensitive in S3 and come back in
		// lower case from every store.
		Meta: map[string]string{"Call-ID": "a84b4c76e66710", "line": "0120-444-555"},
		Tags: map[string]string{"purpose": "cs-quality", "retain-until": "2027-11-27T00:00:00Z"},
	})
	got := stat(t, s, wavKey)
	want := storage.Object{
		Key:    wavKey,
		Size:   int64(len(b)),
		SHA256: sum(b),
		Tags:   map[string]string{"purpose": "cs-quality", "retain-until": "2027-11-27T00:00:00Z"},
		Meta:   map[string]string{"call-id": "a84b4c76e66710", "line": "0120-444-555"},
	}
	if got.Key != want.Key || got.Size != want.Size || got.SHA256 != want.SHA256 {
		t.Errorf("got %s size %d sha %s, want %s size %d sha %s", got.Key, got.Size, got.SHA256, want.Key, want.Size, want.SHA256)
	}
	if !sameMap(got.Tags, want.Tags) {
		t.Errorf("got tags %v, want %v", got.Tags, want.Tags)
	}
	if !sameMap(got.Meta, want.Meta) {
		t.Errorf("got meta %v, want %v", got.Meta, want.Meta)
	}
	if got.Modified.Before(before) || got.Modified.After(time.Now().Add(time.Minute)) {
		t.Errorf("got modified %v, want about now", got.Modified)
	}
}

func testSHA256Given(t *testing.T, s storage.Store) {
	b := body(70_000, 4)
	for _, tt := range []struct {
		name string
		sum  string
	}{
		{"lower case", sum(b)},
		{"upper case", strings.ToUpper(sum(b))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			obj := put(t, s, "given/"+tt.name, b, storage.PutOptions{SHA256: tt.sum})
			if obj.SHA256 != sum(b) {
				t.Errorf("put: got sha %s, want %s", obj.SHA256, sum(b))
			}
			if got := stat(t, s, "given/"+tt.name); got.SHA256 != sum(b) {
				t.Errorf("stat: got sha %s, want %s", got.SHA256, sum(b))
			}
		})
	}
}

func testSHA256Mismatch(t *testing.T, s storage.Store) {
	b := body(70_000, 5)
	other := sum([]byte("something else"))
	_, err := s.Put(t.Context(), wavKey, bytes.NewReader(b), int64(len(b)), storage.PutOptions{SHA256: other})
	if !errors.Is(err, storage.ErrChecksumMismatch) {
		t.Errorf("put: got %v, want ErrChecksumMismatch", err)
	}
	absent(t, s, wavKey)
	if got := keys(t, s, ""); len(got) != 0 {
		t.Errorf("list: got %v after a refused put, want nothing", got)
	}

	// A refused overwrite keeps the object that was there.
	old := put(t, s, wavKey, b[:100], storage.PutOptions{})
	_, err = s.Put(t.Context(), wavKey, bytes.NewReader(b), int64(len(b)), storage.PutOptions{SHA256: other})
	if !errors.Is(err, storage.ErrChecksumMismatch) {
		t.Errorf("overwrite: got %v, want ErrChecksumMismatch", err)
	}
	if got := stat(t, s, wavKey); got.SHA256 != old.SHA256 || got.Size != 100 {
		t.Errorf("after refused overwrite: got size %d sha %s, want 100 and %s", got.Size, got.SHA256, old.SHA256)
	}
}

func testShortReader(t *testing.T, s storage.Store) {
	b := body(1000, 6)
	_, err := s.Put(t.Context(), wavKey, bytes.NewReader(b[:500]), int64(len(b)), storage.PutOptions{})
	if err == nil {
		t.Error("put of 500 bytes as 1000: got no error")
	}
	absent(t, s, wavKey)
}

func testOverwrite(t *testing.T, s storage.Store) {
	first, second := body(3000, 7), body(2000, 8)
	put(t, s, wavKey, first, storage.PutOptions{
		Tags: map[string]string{"purpose": "cs-quality", "old": "yes"},
		Meta: map[string]string{"version": "1"},
	})
	put(t, s, wavKey, second, storage.PutOptions{
		Tags: map[string]string{"purpose": "cs-quality"},
		Meta: map[string]string{"version": "2"},
	})
	if got := get(t, s, wavKey, 0, -1); !bytes.Equal(got, second) {
		t.Errorf("get: got %d bytes, want the second put's %d", len(got), len(second))
	}
	got := stat(t, s, wavKey)
	if got.Size != int64(len(second)) || got.SHA256 != sum(second) {
		t.Errorf("stat: got size %d sha %s, want %d %s", got.Size, got.SHA256, len(second), sum(second))
	}
	if !sameMap(got.Tags, map[string]string{"purpose": "cs-quality"}) || got.Meta["version"] != "2" {
		t.Errorf("stat: got tags %v meta %v, want the second put's", got.Tags, got.Meta)
	}
}

func testSetTags(t *testing.T, s storage.Store) {
	b := body(100, 9)
	put(t, s, wavKey, b, storage.PutOptions{Tags: map[string]string{"purpose": "cs-quality", "retain-until": "2027-11-27T00:00:00Z"}})
	for _, tt := range []struct {
		name string
		tags map[string]string
	}{
		{"replace", map[string]string{"purpose": "cs-quality", "retain-until": "2028-01-31T00:00:00Z", "hold": "case-42"}},
		{"fewer", map[string]string{"purpose": "cs-quality"}},
		{"none", nil},
		{"again", map[string]string{"purpose": "cs-quality"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.SetTags(t.Context(), wavKey, tt.tags); err != nil {
				t.Fatalf("set tags: %v", err)
			}
			got := stat(t, s, wavKey)
			if !sameMap(got.Tags, tt.tags) {
				t.Errorf("got tags %v, want %v", got.Tags, tt.tags)
			}
			if got.SHA256 != sum(b) || got.Size != int64(len(b)) {
				t.Errorf("got size %d sha %s after set tags, want %d %s", got.Size, got.SHA256, len(b), sum(b))
			}
		})
	}
	tooMany := map[string]string{}
	for i := range 11 {
		tooMany[fmt.Sprintf("t%d", i)] = "v"
	}
	if err := s.SetTags(t.Context(), wavKey, tooMany); err == nil {
		t.Error("eleven tags: got no error")
	}
}

func testNotFound(t *testing.T, s storage.Store) {
	ctx := t.Context()
	put(t, s, "cs-quality/2026/11/27/other.wav", []byte("x"), storage.PutOptions{})
	for _, key := range []string{wavKey, "cs-quality", "cs-quality/2026/11/27"} {
		t.Run(key, func(t *testing.T) {
			_, err := s.Get(ctx, key, 0, -1)
			if !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("get: got %v, want ErrNotFound", err)
			}
			_, err = s.Get(ctx, key, 10, 10)
			if !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("get range: got %v, want ErrNotFound", err)
			}
			_, err = s.Get(ctx, key, 0, 0)
			if !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("get nothing: got %v, want ErrNotFound", err)
			}
			if _, err := s.Stat(ctx, key); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("stat: got %v, want ErrNotFound", err)
			}
			if err := s.SetTags(ctx, key, map[string]string{"a": "b"}); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("set tags: got %v, want ErrNotFound", err)
			}
			if err := s.SetTags(ctx, key, nil); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("clear tags: got %v, want ErrNotFound", err)
			}
			if r := s.Delete(ctx, []string{key}); r[0].Err != nil {
				t.Errorf("delete: got %v, want nil for an absent key", r[0].Err)
			}
		})
	}
}

func testConcurrentPuts(t *testing.T, s storage.Store) {
	const n = 24
	key := func(i int) string { return fmt.Sprintf("concurrent/%02d/%d.wav", i%3, i) }
	parallel(t, n, func(i int) error {
		b := body(20_000+i, uint64(i))
		obj, err := s.Put(t.Context(), key(i), bytes.NewReader(b), int64(len(b)), storage.PutOptions{SHA256: sum(b)})
		if err == nil && obj.SHA256 != sum(b) {
			err = fmt.Errorf("put %s: got sha %s, want %s", key(i), obj.SHA256, sum(b))
		}
		return err
	})
	for i := range n {
		b := body(20_000+i, uint64(i))
		if got := get(t, s, key(i), 0, -1); !bytes.Equal(got, b) {
			t.Errorf("%s: got %d bytes (sha %s), want %d (sha %s)", key(i), len(got), sum(got), len(b), sum(b))
		}
	}
	if got := keys(t, s, "concurrent/"); len(got) != n {
		t.Errorf("list: got %d keys, want %d", len(got), n)
	}
}

func testCancelled(t *testing.T, s storage.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	b := body(1000, 10)
	if _, err := s.Put(ctx, wavKey, bytes.NewReader(b), int64(len(b)), storage.PutOptions{}); err == nil {
		t.Error("put with a cancelled context: got no error")
	}
	absent(t, s, wavKey)
}
