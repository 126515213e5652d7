package crypt

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fetcher(b []byte) func(off, n int64) (io.ReadCloser, error) {
	return func(off, n int64) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b[off : off+n])), nil
	}
}

func TestSealRanges(t *testing.T) {
	key, _ := NewDataKey()
	for _, size := range []int64{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 3*ChunkSize + 777} {
		plain := make([]byte, size)
		rand.Read(plain)
		var sealed bytes.Buffer
		if err := Seal(&sealed, bytes.NewReader(plain), size, key); err != nil {
			t.Fatal(err)
		}
		if got := int64(sealed.Len()); got != SealedSize(size) {
			t.Fatalf("size %d: sealed %d bytes, SealedSize says %d", size, got, SealedSize(size))
		}
		if bytes.Contains(sealed.Bytes(), plain[:min(size, 64)]) && size >= 16 {
			t.Fatalf("size %d: plaintext visible in the sealed object", size)
		}
		r, err := NewRangeReader(key, int64(sealed.Len()), fetcher(sealed.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if r.Size() != size {
			t.Fatalf("got plain size %d, want %d", r.Size(), size)
		}
		for _, rg := range [][2]int64{{0, size}, {0, min(size, 10)}, {size / 2, size - size/2}, {max(size-5, 0), min(size, 5)}, {min(ChunkSize-3, size), min(6, max(size-(ChunkSize-3), 0))}} {
			var out bytes.Buffer
			if err := r.WriteRange(&out, rg[0], rg[1]); err != nil {
				t.Fatalf("size %d range %v: %v", size, rg, err)
			}
			if !bytes.Equal(out.Bytes(), plain[rg[0]:rg[0]+rg[1]]) {
				t.Fatalf("size %d range %v: wrong bytes", size, rg)
			}
		}
	}
}

func TestSealDetectsTampering(t *testing.T) {
	key, _ := NewDataKey()
	plain := bytes.Repeat([]byte("kiroku"), 30000)
	var sealed bytes.Buffer
	Seal(&sealed, bytes.NewReader(plain), int64(len(plain)), key)
	b := sealed.Bytes()
	for name, mutate := range map[string]func([]byte) []byte{
		"flipped bit": func(b []byte) []byte { c := bytes.Clone(b); c[headerSize+100] ^= 1; return c },
		"truncated":   func(b []byte) []byte { return bytes.Clone(b[:headerSize+ChunkSize+tagSize]) },
		"chunks swapped": func(b []byte) []byte {
			c := bytes.Clone(b)
			n := ChunkSize + tagSize
			copy(c[headerSize:], b[headerSize+n:headerSize+2*n])
			copy(c[headerSize+n:], b[headerSize:headerSize+n])
			return c
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := mutate(b)
			r, err := NewRangeReader(key, int64(len(c)), fetcher(c))
			if err == nil {
				err = r.WriteRange(io.Discard, 0, r.Size())
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("got %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestWrapRotation(t *testing.T) {
	k1, _ := NewDataKey()
	k2, _ := NewDataKey()
	old, _ := NewKeyring("2026-01", map[string][]byte{"2026-01": k1})
	dk, _ := NewDataKey()
	id, wrapped, err := old.Wrap(dk, "rec-1")
	if err != nil || id != "2026-01" {
		t.Fatalf("wrap: %v %q", err, id)
	}
	rotated, _ := NewKeyring("2026-06", map[string][]byte{"2026-01": k1, "2026-06": k2})
	got, err := rotated.Unwrap(id, wrapped, "rec-1")
	if err != nil || !bytes.Equal(got, dk) {
		t.Fatalf("old key after rotation: %v", err)
	}
	if _, err := rotated.Unwrap(id, wrapped, "rec-2"); !errors.Is(err, ErrWrongKey) {
		t.Errorf("wrapped key opened for another recording: %v", err)
	}
	wrong, _ := NewKeyring("2026-01", map[string][]byte{"2026-01": k2})
	if _, err := wrong.Unwrap(id, wrapped, "rec-1"); !errors.Is(err, ErrWrongKey) {
		t.Errorf("got %v with a wrong master key, want ErrWrongKey", err)
	}
	if _, err := rotated.Unwrap("nope", wrapped, "rec-1"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("got %v for an unknown id, want ErrUnknownKey", err)
	}
	if s := rotated.String(); bytes.Contains([]byte(s), k1) {
		t.Error("String shows key material")
	}
}

func TestParseKey(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", true},
		{"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", true},
		{"short", false},
		{"000102", false},
	} {
		if _, err := ParseKey(c.in); (err == nil) != c.ok {
			t.Errorf("ParseKey(%q): got err %v, want ok=%v", c.in, err, c.ok)
		}
	}
}

// TestSealOnceRepeats: the same key, label and bytes seal to the same
// bytes (a retried upload), another label or key to others, and both open.
func TestSealOnceRepeats(t *testing.T) {
	key, err := NewDataKey()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewDataKey()
	plain := bytes.Repeat([]byte("kiroku"), 30000) // several chunks
	seal := func(k []byte, label string) []byte {
		var b bytes.Buffer
		if err := SealOnce(&b, bytes.NewReader(plain), int64(len(plain)), k, label); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	a, b := seal(key, "audio"), seal(key, "audio")
	if !bytes.Equal(a, b) {
		t.Error("two seals of the same bytes under one key and label differ")
	}
	if bytes.Equal(a, seal(key, "other")) || bytes.Equal(a, seal(other, "audio")) {
		t.Error("another label or key sealed to the same bytes")
	}
	r, err := NewRangeReader(key, int64(len(a)), fetcher(a))
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := r.WriteRange(&got, 0, r.Size()); err != nil || !bytes.Equal(got.Bytes(), plain) {
		t.Errorf("opened %d bytes (%v), want the %d sealed", got.Len(), err, len(plain))
	}
}

// TestClientKeys: a client's recordings get its own key, others the
// active one; once the client's keys are forgotten what they wrapped no
// longer opens and the client gets no key, while the others still open.
func TestClientKeys(t *testing.T) {
	k, err := NewKeyring("g1", map[string][]byte{"g1": bytes.Repeat([]byte{1}, KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.AddClient("acme", "acme-1", map[string][]byte{"acme-1": bytes.Repeat([]byte{2}, KeySize)}); err != nil {
		t.Fatal(err)
	}
	if err := k.AddClient("globex", "g1", map[string][]byte{"g1": bytes.Repeat([]byte{3}, KeySize)}); err == nil {
		t.Error("a client key with the id of a global key was taken")
	}
	dk := bytes.Repeat([]byte{9}, KeySize)
	idA, wA, err := k.WrapFor("acme", dk, "rec-a")
	if err != nil || idA != "acme-1" {
		t.Fatalf("acme: wrapped with %q (%v), want acme-1", idA, err)
	}
	idG, wG, err := k.WrapFor("", dk, "rec-g")
	if err != nil || idG != "g1" {
		t.Fatalf("no client: wrapped with %q (%v), want g1", idG, err)
	}
	if id, _, _ := k.WrapFor("initech", dk, "rec-i"); id != "g1" {
		t.Errorf("a client without keys: wrapped with %q, want the active g1", id)
	}
	if got, err := k.Unwrap(idA, wA, "rec-a"); err != nil || !bytes.Equal(got, dk) {
		t.Fatalf("unwrap acme's: %v", err)
	}
	fp, err := k.Fingerprint("acme-1")
	if err != nil || len(fp) != 16 || fp == Fingerprint(bytes.Repeat([]byte{1}, KeySize)) {
		t.Errorf("fingerprint %q %v", fp, err)
	}
	if ids := k.ClientKeys("acme"); len(ids) != 1 || ids[0] != "acme-1" {
		t.Errorf("acme's keys: %v", ids)
	}
	k.Forget("acme")
	if _, err := k.Unwrap(idA, wA, "rec-a"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("acme's wrapped key after Forget: %v, want ErrUnknownKey", err)
	}
	if _, _, err := k.WrapFor("acme", dk, "rec-a2"); !errors.Is(err, ErrKeyDestroyed) {
		t.Errorf("a new acme recording after Forget: %v, want ErrKeyDestroyed", err)
	}
	if _, err := k.ManifestKey("acme-1"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("acme's manifest key after Forget: %v", err)
	}
	if got, err := k.Unwrap(idG, wG, "rec-g"); err != nil || !bytes.Equal(got, dk) {
		t.Errorf("the global key after acme's Forget: %v", err)
	}
}

// TestDestroyKeyFile: a destroyed key file holds no trace of the key and
// says it was destroyed; destroying it again changes nothing.
func TestDestroyKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acme.key")
	key := bytes.Repeat([]byte{0xab}, KeySize)
	if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadKeyFile(path); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("load: %v", err)
	}
	if err := DestroyKeyFile(path, "by contract end R1 at 2026-12-02T00:00:00Z"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if bytes.Contains(b, []byte(hex.EncodeToString(key))) || !strings.Contains(string(b), "contract end R1") {
		t.Errorf("destroyed file holds %q", b)
	}
	if _, err := LoadKeyFile(path); !errors.Is(err, ErrKeyDestroyed) || !strings.Contains(err.Error(), "contract end R1") {
		t.Errorf("load after destruction: %v, want ErrKeyDestroyed with the note", err)
	}
	if err := DestroyKeyFile(path, "again"); err != nil {
		t.Fatal(err)
	}
	if b2, _ := os.ReadFile(path); !bytes.Equal(b, b2) {
		t.Errorf("destroyed twice: %q, then %q", b, b2)
	}
}
