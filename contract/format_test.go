package contract_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
	"github.com/kiroku-voice/kiroku/contract"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/spool"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

// TestReturnStoredFormat: a client's recording stored as FLAC is returned
// to the target as recordings/<id>.flac — the stored FLAC, verified by
// the catalog's SHA-256 — and its returned manifest names the format.
func TestReturnStoredFormat(t *testing.T) {
	e := newEnv(t, catalogtest.New(t, catalog.SQLite), 0)
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
		AudioFormat: func(string) (audiofile.Format, int, bool) { return audiofile.FLAC, 0, true }})
	if err := up.Pass(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec, err := e.cat.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := e.svc.ReturnS3(t.Context(), "adm", acme, contract.Target{Kind: contract.KindS3, Bucket: "returns"})
	if err != nil {
		t.Fatal(err)
	}
	if cert.Counts.Returned != 1 {
		t.Fatalf("got counts %+v, want 1 returned", cert.Counts)
	}
	rc, err := e.target.Get(t.Context(), "acme/"+cert.Run+"/recordings/"+id+".flac", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	audio, _ := io.ReadAll(rc)
	rc.Close()
	got := sha256.Sum256(audio)
	if !bytes.HasPrefix(audio, []byte("fLaC")) || hex.EncodeToString(got[:]) != rec.AudioSHA256 {
		t.Errorf("returned %d bytes, sha256 %x; want the stored FLAC of sha256 %s", len(audio), got, rec.AudioSHA256)
	}
	rc, err = e.target.Get(t.Context(), "acme/"+cert.Run+"/manifests/"+id+".json", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	var man contract.ItemManifest
	json.NewDecoder(rc).Decode(&man)
	rc.Close()
	if man.Audio == nil || man.Audio.File != "recordings/"+id+".flac" || man.Audio.Format == "" || man.Audio.Format[:10] != "audio/flac" {
		t.Errorf("returned manifest's audio: %+v", man.Audio)
	}
}
