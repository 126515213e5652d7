package sumzip

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"
)

func TestSums(t *testing.T) {
	var buf bytes.Buffer
	z := New(&buf)
	sumA, err := z.File("a.txt", strings.NewReader("alpha"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := z.Create("b.wav")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "RIFF")
	sumB := z.End()
	if err := z.JSON("c.json", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range r.File {
		rc, _ := f.Open()
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
		if f.Name == "b.wav" && f.Method != zip.Store {
			t.Errorf("b.wav: method %d, want stored", f.Method)
		}
	}
	hexsum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	if sumA != hexsum([]byte("alpha")) || sumB != hexsum([]byte("RIFF")) {
		t.Errorf("got sums %s %s", sumA, sumB)
	}
	want := hexsum(files["a.txt"]) + "  a.txt\n" + hexsum(files["b.wav"]) + "  b.wav\n" + hexsum(files["c.json"]) + "  c.json\n"
	if got := string(files[SumsFile]); got != want {
		t.Errorf("SHA256SUMS:\n%s\nwant\n%s", got, want)
	}
}
