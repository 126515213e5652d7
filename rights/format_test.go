package rights_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/rights"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

// TestDisclosureStoredFormat: a recording stored as FLAC is disclosed as
// the stored file, recordings/<id>.flac, whose bytes are a FLAC stream
// with the SHA-256 the catalog holds and SHA256SUMS lists.
func TestDisclosureStoredFormat(t *testing.T) {
	e := newEnv(t)
	e.up = upload.New(upload.Options{Spool: e.spool, Store: e.store, Catalog: e.cat, Keys: e.keys,
		RetainUntil: func(_, _ string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true },
		AudioFormat: func(string) (audiofile.Format, int, bool) { return audiofile.FLAC, 0, true }})
	rid := e.record(t, numA, "cs-quality", 16000)
	id := create(t, e, rights.KindDisclosure, "運転免許証 確認番号 R-1234", numA)
	var buf bytes.Buffer
	m, err := e.svc.Disclose(t.Context(), "sato", id, &buf, allowAll)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Items) != 1 || m.Items[0].File != "recordings/"+rid+".flac" {
		t.Fatalf("got items %+v, want recordings/%s.flac", m.Items, rid)
	}
	files := readZip(t, buf.Bytes())
	audio := files["recordings/"+rid+".flac"]
	sum := sha256.Sum256(audio)
	rec, err := e.cat.Get(t.Context(), rid)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(audio, []byte("fLaC")) || hex.EncodeToString(sum[:]) != rec.AudioSHA256 {
		t.Errorf("the ZIP's audio is %d bytes starting %q, sha256 %x; want FLAC of sha256 %s", len(audio), audio[:min(4, len(audio))], sum, rec.AudioSHA256)
	}
	if !strings.Contains(string(files["SHA256SUMS"]), hex.EncodeToString(sum[:])+"  recordings/"+rid+".flac\n") {
		t.Errorf("SHA256SUMS does not list the FLAC:\n%s", files["SHA256SUMS"])
	}
	var got rights.Manifest
	if err := json.Unmarshal(files["manifest.json"], &got); err != nil || got.Items[0].File != "recordings/"+rid+".flac" {
		t.Errorf("manifest.json items %+v, %v", got.Items, err)
	}
}
