package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kiroku-voice/kiroku/storage"
)

// badKeys are keys every store refuses.
var badKeys = []struct{ name, key string }{
	{"empty", ""},
	{"leading slash", "/cs-quality/a.wav"},
	{"trailing slash", "cs-quality/"},
	{"empty segment", "cs-quality//a.wav"},
	{"dot dot", "cs-quality/../a.wav"},
	{"dot dot alone", ".."},
	{"dot", "cs-quality/./a.wav"},
	{"backslash", `cs-quality\a.wav`},
	{"NUL", "cs-quality/a\x00.wav"},
	{"newline", "cs-quality/a\n.wav"},
	{"not UTF-8", "cs-quality/\xff.wav"},
	{"too long", strings.Repeat("a", storage.MaxKeyLen+1)},
}

func testBadKeys(t *testing.T, s storage.Store) {
	ctx := t.Context()
	for _, tt := range badKeys {
		t.Run(tt.name, func(t *testing.T) {
			check := func(op string, err error) {
				t.Helper()
				if !errors.Is(err, storage.ErrInvalidKey) {
					t.Errorf("%s: got %v, want ErrInvalidKey", op, err)
				}
			}
			_, err := s.Put(ctx, tt.key, strings.NewReader("x"), 1, storage.PutOptions{})
			check("put", err)
			_, err = s.Get(ctx, tt.key, 0, -1)
			check("get", err)
			_, err = s.Stat(ctx, tt.key)
			check("stat", err)
			check("set tags", s.SetTags(ctx, tt.key, map[string]string{"a": "b"}))
			check("delete", s.Delete(ctx, []string{tt.key})[0].Err)
		})
	}
	if got := keys(t, s, ""); len(got) != 0 {
		t.Errorf("list: got %q, want nothing stored", got)
	}
}

func testBadInput(t *testing.T, s storage.Store) {
	tooMany := map[string]string{}
	for i := range 11 {
		tooMany[fmt.Sprintf("t%d", i)] = "v"
	}
	for _, tt := range []struct {
		name string
		size int64
		opts storage.PutOptions
	}{
		{"negative size", -1, storage.PutOptions{}},
		{"sha-256 not hex", 1, storage.PutOptions{SHA256: strings.Repeat("z", 64)}},
		{"sha-256 short", 1, storage.PutOptions{SHA256: "abcd"}},
		{"eleven tags", 1, storage.PutOptions{Tags: tooMany}},
		{"metadata name", 1, storage.PutOptions{Meta: map[string]string{"call id": "x"}}},
		{"metadata value", 1, storage.PutOptions{Meta: map[string]string{"caller": "山田"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Put(t.Context(), wavKey, strings.NewReader("x"), tt.size, tt.opts); err == nil {
				t.Error("got no error")
			}
			absent(t, s, wavKey)
		})
	}
}
