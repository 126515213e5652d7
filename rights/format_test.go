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
	"github.com/kiroku-voice/kiroku/storage/transcode"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

// TestDisclosureStoredFormat: a recording stored as each format —
// g711, flac, opus, and opus converted later by the background
// transcoder from the g711 stored first — is disclosed as the stored
// file, recordings/<id> with its extension, whose bytes are of that
// format with the SHA-256 the catalog holds and SHA256SUMS lists.
func TestDisclosureStoredFormat(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format audiofile.Format
		later  bool
		ext    string
		magic  string
	}{
		{"g711", audiofile.G711, false, ".wav", "RIFF"},
		{"flac", audiofile.FLAC, false, ".flac", "fLaC"},
		{"opus", audiofile.Opus, false, ".opus", "OggS"},
		{"opus converted later", audiofile.Opus, true, ".opus", "OggS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.up = upload.New(upload.Options{Spool: e.spool, Store: e.store, Catalog: e.cat, Keys: e.keys,
				RetainUntil: func(_, _ string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true },
				AudioFormat: func(string) (audiofile.Format, int, bool) { return tc.format, 0, true },
				Defer:       func(audiofile.Format, int) bool { return tc.later }})
			rid := e.record(t, numA, "cs-quality", 16000)
			if tc.later {
				tr := transcode.New(transcode.Options{Catalog: e.cat, Store: e.store, Keys: e.keys, TempDir: t.TempDir(), Share: 1})
				if err := tr.Pass(t.Context()); err != nil || tr.Stats().Converted != 1 {
					t.Fatalf("transcoder: %v, stats %+v", err, tr.Stats())
				}
			}
			id := create(t, e, rights.KindDisclosure, "運転免許証 確認番号 R-1234", numA)
			var buf bytes.Buffer
			m, err := e.svc.Disclose(t.Context(), "sato", id, &buf, allowAll)
			if err != nil {
				t.Fatal(err)
			}
			file := "recordings/" + rid + tc.ext
			if len(m.Items) != 1 || m.Items[0].File != file {
				t.Fatalf("got items %+v, want %s", m.Items, file)
			}
			files := readZip(t, buf.Bytes())
			audio := files[file]
			sum := sha256.Sum256(audio)
			rec, err := e.cat.Get(t.Context(), rid)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(audio, []byte(tc.magic)) || hex.EncodeToString(sum[:]) != rec.AudioSHA256 {
				t.Errorf("the ZIP's audio is %d bytes starting %q, sha256 %x; want %s of sha256 %s", len(audio), audio[:min(4, len(audio))], sum, tc.magic, rec.AudioSHA256)
			}
			if !strings.Contains(string(files["SHA256SUMS"]), hex.EncodeToString(sum[:])+"  "+file+"\n") {
				t.Errorf("SHA256SUMS does not list %s:\n%s", file, files["SHA256SUMS"])
			}
			var got rights.Manifest
			if err := json.Unmarshal(files["manifest.json"], &got); err != nil || got.Items[0].File != file {
				t.Errorf("manifest.json items %+v, %v", got.Items, err)
			}
		})
	}
}
