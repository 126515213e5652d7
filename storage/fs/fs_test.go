package fs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

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

// files lists every file and folder under dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLayout(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	b := []byte("RIFF....WAVE")
	sum := sha256.Sum256(b)
	_, err := s.Put(t.Context(), "cs-quality/2026/11/27/id.wav", bytes.NewReader(b), int64(len(b)), storage.PutOptions{
		ContentType: "audio/wav",
		Tags:        map[string]string{"purpose": "cs-quality"},
		Meta:        map[string]string{"Call-ID": "x"},
	})
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	want := []string{
		"cs-quality", "cs-quality/2026", "cs-quality/2026/11", "cs-quality/2026/11/27",
		"cs-quality/2026/11/27/id.wav", "cs-quality/2026/11/27/id.wav.meta.json",
	}
	if got := files(t, s.Dir()); !slices.Equal(got, want) {
		t.Errorf("got files %q, want %q", got, want)
	}
	data, err := os.ReadFile(filepath.Join(s.Dir(), "cs-quality/2026/11/27/id.wav"))
	if err != nil || !bytes.Equal(data, b) {
		t.Errorf("data file: got %q, %v, want %q", data, err, b)
	}
	var sc sidecar
	raw, err := os.ReadFile(filepath.Join(s.Dir(), "cs-quality/2026/11/27/id.wav.meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &sc); err != nil {
		t.Fatalf("sidecar: %v", err)
	}
	if sc.SHA256 != hex.EncodeToString(sum[:]) || sc.ContentType != "audio/wav" || sc.Tags["purpose"] != "cs-quality" || sc.Meta["call-id"] != "x" {
		t.Errorf("got sidecar %+v", sc)
	}
	for _, name := range want {
		fi, err := os.Stat(filepath.Join(s.Dir(), name))
		if err != nil {
			t.Fatal(err)
		}
		perm, wantPerm := fi.Mode().Perm(), iofs.FileMode(filePerm)
		if fi.IsDir() {
			wantPerm = dirPerm
		}
		if perm&^wantPerm != 0 {
			t.Errorf("%s: got mode %v, want at most %v", name, perm, wantPerm)
		}
	}
}

func TestReservedKeys(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for _, key := range []string{"a.wav.meta.json", "x/.kiroku-tmp-abc", ".kiroku-tmp-1/a.wav"} {
		t.Run(key, func(t *testing.T) {
			_, err := s.Put(t.Context(), key, strings.NewReader("x"), 1, storage.PutOptions{})
			if !errors.Is(err, storage.ErrInvalidKey) || !strings.Contains(err.Error(), "reserved") {
				t.Errorf("got %v, want ErrInvalidKey saying reserved", err)
			}
		})
	}
}

func TestNothingLeftBehind(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	for _, tt := range []struct {
		name string
		r    io.Reader
		opts storage.PutOptions
	}{
		{"sha-256 mismatch", strings.NewReader("0123456789"), storage.PutOptions{SHA256: strings.Repeat("ab", 32)}},
		{"short reader", strings.NewReader("01234"), storage.PutOptions{}},
		{"failing reader", iotest.ErrReader(errors.New("spool disk")), storage.PutOptions{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Put(t.Context(), "cs-quality/2026/11/27/id.wav", tt.r, 10, tt.opts); err == nil {
				t.Fatal("got no error")
			}
			if got := files(t, s.Dir()); len(got) != 0 {
				t.Errorf("got files %q, want none", got)
			}
		})
	}
}

func TestDeleteTidies(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	keys := []string{"cs-quality/2026/11/27/a.wav", "cs-quality/2026/11/27/a.json", "cs-quality/2026/11/28/b.wav", "sales/c.wav"}
	for _, k := range keys {
		if _, err := s.Put(t.Context(), k, strings.NewReader("x"), 1, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range s.Delete(t.Context(), keys[:3]) {
		if r.Err != nil {
			t.Errorf("delete %s: %v", r.Key, r.Err)
		}
	}
	want := []string{"sales", "sales/c.wav", "sales/c.wav.meta.json"}
	if got := files(t, s.Dir()); !slices.Equal(got, want) {
		t.Errorf("got files %q, want %q", got, want)
	}
}

func TestKeyConflicts(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	for _, k := range []string{"a/b", "x/y/z"} {
		if _, err := s.Put(ctx, k, strings.NewReader("x"), 1, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct{ key, want string }{
		{"a/b/c", `object "a/b" is in the way`},
		{"x/y", "folder of other keys"},
	} {
		t.Run(tt.key, func(t *testing.T) {
			_, err := s.Put(ctx, tt.key, strings.NewReader("x"), 1, storage.PutOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error saying %s", err, tt.want)
			}
		})
	}
	if r := s.Delete(ctx, []string{"x/y"}); r[0].Err != nil {
		t.Errorf("delete of a folder's name: got %v, want nil (no such object)", r[0].Err)
	}
	if _, err := s.Stat(ctx, "x/y/z"); err != nil {
		t.Errorf("stat x/y/z after deleting x/y: %v", err)
	}
}

func TestSidecarTrust(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	key := "cs-quality/a.wav"
	if _, err := s.Put(ctx, key, strings.NewReader("first"), 5, storage.PutOptions{Tags: map[string]string{"purpose": "cs-quality"}}); err != nil {
		t.Fatal(err)
	}
	// As if a crash came between the sidecar's rename and the data's:
	// other bytes under the old record.
	path := filepath.Join(s.Dir(), key)
	if err := os.WriteFile(path, []byte("second!"), 0o640); err != nil {
		t.Fatal(err)
	}
	got, err := s.Stat(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if got.SHA256 != "" || got.Size != 7 || got.Tags["purpose"] != "cs-quality" {
		t.Errorf("got %+v, want no SHA-256 for bytes the sidecar does not describe", got)
	}

	// A file put in the folder by hand is an object without a record.
	if err := os.WriteFile(filepath.Join(s.Dir(), "cs-quality/by-hand.wav"), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	got, err = s.Stat(ctx, "cs-quality/by-hand.wav")
	if err != nil || got.SHA256 != "" || got.Size != 1 {
		t.Errorf("got %+v, %v, want size 1 and no SHA-256", got, err)
	}
	if err := s.SetTags(ctx, "cs-quality/by-hand.wav", map[string]string{"purpose": "cs-quality"}); err != nil {
		t.Errorf("set tags: %v", err)
	}
	// Leftovers of an interrupted upload are not objects.
	if err := os.WriteFile(filepath.Join(s.Dir(), "cs-quality", tempPrefix+"x"), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	var listed []string
	if err := s.List(ctx, "", func(o storage.Object) error { listed = append(listed, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"cs-quality/a.wav", "cs-quality/by-hand.wav"}; !slices.Equal(listed, want) {
		t.Errorf("got %q, want %q", listed, want)
	}
}

func TestReaderKeepsObject(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := t.Context()
	if _, err := s.Put(ctx, "k", strings.NewReader("old"), 3, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Get(ctx, "k", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := s.Put(ctx, "k", strings.NewReader("new"), 3, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Delete(ctx, []string{"k"})
	if b, err := io.ReadAll(rc); err != nil || string(b) != "old" {
		t.Errorf("got %q, %v, want the object as it was when opened", b, err)
	}
}

func TestNewAndClose(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, dir string }{
		{"empty", ""},
		{"under a file", filepath.Join(file, "store")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.dir); err == nil {
				t.Error("got no error")
			}
		})
	}
	s, err := New(filepath.Join(t.TempDir(), "new", "folder"))
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(s.Close(), s.Close()); err != nil {
		t.Errorf("close twice: %v", err)
	}
	if _, err := s.Put(t.Context(), "k", strings.NewReader("x"), 1, storage.PutOptions{}); err == nil {
		t.Error("put after close: got no error")
	}
}
