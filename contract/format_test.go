package contract_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/contract"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage/transcode"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

// TestReturnStoredFormat: a client's recording stored as each format —
// g711, flac, opus, and opus converted later by the background
// transcoder from the g711 stored first — is returned as recordings/<id>
// with the stored format's extension: the stored file, verified by the
// catalog's SHA-256, which SHA256SUMS lists. To a bucket, its returned
// manifest names the format; in a ZIP, the recipient's checksums of what
// it received confirm it and the run is certified.
func TestReturnStoredFormat(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format audiofile.Format
		later  bool // stored cheap first, converted by the transcoder
		ext    string
		magic  string
		desc   string
	}{
		{"g711", audiofile.G711, false, ".wav", "RIFF", "audio/wav; codec=pcm_mulaw"},
		{"flac", audiofile.FLAC, false, ".flac", "fLaC", "audio/flac"},
		{"opus", audiofile.Opus, false, ".opus", "OggS", "audio/ogg; codec=opus"},
		{"opus converted later", audiofile.Opus, true, ".opus", "OggS", "audio/ogg; codec=opus"},
	} {
		t.Run(tc.name+"/zip", func(t *testing.T) {
			e := newEnv(t, catalogtest.New(t, catalog.SQLite), 0)
			rec := storeAs(t, e, tc.format, tc.later)
			var zipped bytes.Buffer
			info, _, err := e.svc.ReturnZIP(t.Context(), "adm", acme, &zipped)
			if err != nil {
				t.Fatal(err)
			}
			zr, err := zip.NewReader(bytes.NewReader(zipped.Bytes()), int64(zipped.Len()))
			if err != nil {
				t.Fatal(err)
			}
			files, sums := map[string][]byte{}, map[string]string{}
			for _, f := range zr.File {
				rc, _ := f.Open()
				files[f.Name], _ = io.ReadAll(rc)
				rc.Close()
			}
			for _, line := range strings.Split(strings.TrimSpace(string(files["SHA256SUMS"])), "\n") {
				if sum, name, ok := strings.Cut(line, "  "); ok {
					sums[name] = sum
				}
			}
			file := "recordings/" + rec.ID + tc.ext
			audio, ok := files[file]
			got := sha256.Sum256(audio)
			if !ok || !bytes.HasPrefix(audio, []byte(tc.magic)) || hex.EncodeToString(got[:]) != rec.AudioSHA256 || sums[file] != rec.AudioSHA256 {
				t.Fatalf("ZIP's %s: %v, sha256 %x, SHA256SUMS says %s; want the stored %s of sha256 %s", file, ok, got, sums[file], tc.magic, rec.AudioSHA256)
			}
			received := map[string]string{} // what the recipient computes
			for name, b := range files {
				if name != "SHA256SUMS" && name != "index.json" {
					s := sha256.Sum256(b)
					received[name] = hex.EncodeToString(s[:])
				}
			}
			conf, err := e.svc.Confirm(t.Context(), "adm", info.ID, received, acme)
			if err != nil || conf.Verified != 1 || conf.Certificate == nil || conf.Certificate.Counts.Returned != 1 {
				t.Fatalf("confirm: %+v, %v; want 1 verified and the run certified", conf, err)
			}
		})
		t.Run(tc.name+"/s3", func(t *testing.T) {
			e := newEnv(t, catalogtest.New(t, catalog.SQLite), 0)
			rec := storeAs(t, e, tc.format, tc.later)
			id := rec.ID
			cert, err := e.svc.ReturnS3(t.Context(), "adm", acme, contract.Target{Kind: contract.KindS3, Bucket: "returns"})
			if err != nil {
				t.Fatal(err)
			}
			if cert.Counts.Returned != 1 {
				t.Fatalf("got counts %+v, want 1 returned", cert.Counts)
			}
			file := "recordings/" + id + tc.ext
			audio := targetFile(t, e, "acme/"+cert.Run+"/"+file)
			got := sha256.Sum256(audio)
			if !bytes.HasPrefix(audio, []byte(tc.magic)) || hex.EncodeToString(got[:]) != rec.AudioSHA256 {
				t.Errorf("returned %d bytes starting %q, sha256 %x; want the stored %s of sha256 %s", len(audio), audio[:min(4, len(audio))], got, tc.magic, rec.AudioSHA256)
			}
			if sums := string(targetFile(t, e, "acme/"+cert.Run+"/SHA256SUMS")); !strings.Contains(sums, hex.EncodeToString(got[:])+"  "+file+"\n") {
				t.Errorf("SHA256SUMS does not list %s with the returned bytes' checksum:\n%s", file, sums)
			}
			var man contract.ItemManifest
			json.Unmarshal(targetFile(t, e, "acme/"+cert.Run+"/manifests/"+id+".json"), &man)
			if man.Audio == nil || man.Audio.File != file || !strings.HasPrefix(man.Audio.Format, tc.desc) {
				t.Errorf("returned manifest's audio: %+v, want %s in %s", man.Audio, file, tc.desc)
			}
		})
	}
}

// storeAs stores a recording of acme as format, through the transcoder
// when later (stored cheap first), and returns its row.
func storeAs(t *testing.T, e *env, format audiofile.Format, later bool) *catalog.Recording {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	f, _ := os.Create(e.sp.RecordingPath(id))
	w, _ := wav.NewWriter(f, 8000, 2)
	w.Write(bytes.Repeat([]byte{9, 1, 2, 3}, 8000))
	w.Close()
	f.Close()
	b, _ := os.ReadFile(e.sp.RecordingPath(id))
	sum := sha256.Sum256(b)
	s := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	m := &spool.Manifest{ID: id, State: spool.StateSpooled, Caller: "0312345678", Line: "0120000002", Purpose: "cs",
		Client: "acme", StartedAt: s, EndedAt: &s, Consent: spool.Consent{Decision: spool.Notified},
		Recording: &spool.Recording{File: id + ".wav", Duration: 1, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}}
	if err := e.sp.WriteManifest(m); err != nil {
		t.Fatal(err)
	}
	up := upload.New(upload.Options{Spool: e.sp, Store: e.st, Catalog: e.cat, Keys: e.keys,
		RetainUntil: func(_, _ string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true },
		AudioFormat: func(string) (audiofile.Format, int, bool) { return format, 0, true },
		Defer:       func(audiofile.Format, int) bool { return later }})
	if err := up.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	if later {
		tr := transcode.New(transcode.Options{Catalog: e.cat, Store: e.st, Keys: e.keys, TempDir: t.TempDir(), Share: 1})
		if err := tr.Pass(t.Context()); err != nil || tr.Stats().Converted != 1 {
			t.Fatalf("transcoder: %v, stats %+v", err, tr.Stats())
		}
	}
	rec, err := e.cat.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// targetFile reads key from the return target.
func targetFile(t *testing.T, e *env, key string) []byte {
	t.Helper()
	rc, err := e.target.Get(t.Context(), key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return b
}
