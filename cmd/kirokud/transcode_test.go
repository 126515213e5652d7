package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/testenv/audiotest"
	"github.com/kiroku-voice/kiroku/internal/testenv/s3test"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/s3"
)

// TestTranscodedInBackground: with transcoder.defer_backlog 0, a real
// call on an opus purpose is stored in the bucket (versitygw) as g711
// first and served so by the API, whole and by range; the background
// transcoder then converts it: the API serves the Ogg Opus, whole (its
// SHA-256 the catalog's) and by range, opusdec decodes the caller's
// tone, the bucket holds the .opus and the manifest only, one transcode
// entry is audited, and the metrics count it.
func TestTranscodedInBackground(t *testing.T) {
	srv := s3test.Start(t)
	d, api := startFormatDaemon(t, srv, "opus", "transcoder:\n  defer_backlog: 0\n  cpu_percent: 100\n")
	wantSuccess(t, d.call(t, "uac_pcap.xml", "0120000001", 3*time.Second, map[string]string{"pcap": tonePcap(t, 3*time.Second)}))
	d.waitLog(t, `"msg":"recording stored"`)
	cat := d.catalog(t)
	recs, _ := cat.List(t.Context(), catalog.Filter{})
	if len(recs) != 1 {
		t.Fatalf("got %d catalog rows, want 1", len(recs))
	}
	id := recs[0].ID
	reason := map[string]string{"X-Kiroku-Reason": "format%20check"}
	get := func(want string) []byte {
		t.Helper()
		code, hdr, whole := apiDo(t, "sup", "GET", api+"/api/v1/recordings/"+id+"/audio", reason)
		if code != 200 || hdr.Get("Content-Type") != want {
			t.Fatalf("audio: got %d %s, want 200 %s", code, hdr.Get("Content-Type"), want)
		}
		mid := len(whole) / 2
		reason["Range"] = fmt.Sprintf("bytes=%d-%d", mid, mid+499)
		if code, _, part := apiDo(t, "sup", "GET", api+"/api/v1/recordings/"+id+"/audio", reason); code != 206 || !bytes.Equal(part, whole[mid:mid+500]) {
			t.Errorf("range of the %s: got %d, %d bytes, want 206 and the middle 500 bytes", want, code, len(part))
		}
		delete(reason, "Range")
		return whole
	}
	// Served before the conversion as what it is then, unless the
	// transcoder was first (it is kicked by the store).
	if rec, _ := cat.Get(t.Context(), id); strings.HasSuffix(rec.ObjectKey, ".wav") {
		get("audio/wav")
	} else {
		t.Log("converted before the API was asked: served as g711 not checked")
	}
	d.waitLog(t, `"msg":"recording converted"`)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if n, err := cat.CountTranscodes(t.Context()); err == nil && n == 0 && strings.Contains(d.scrape(t), "kiroku_transcode_pending 0\n") {
			break // finished: the old object destroyed, the queue empty
		}
		if time.Now().After(deadline) {
			t.Fatal("the conversion never finished")
		}
	}
	rec, err := cat.Get(t.Context(), id)
	if err != nil || !strings.HasSuffix(rec.ObjectKey, id+".opus") {
		t.Fatalf("after the conversion: row %v, %v; want the .opus", rec, err)
	}
	whole := get("audio/ogg; codecs=opus")
	if sum := sha256.Sum256(whole); hex.EncodeToString(sum[:]) != rec.AudioSHA256 {
		t.Errorf("served opus sha256 %x, catalog %s", sum, rec.AudioSHA256)
	}
	file, dec := filepath.Join(t.TempDir(), id+".opus"), filepath.Join(t.TempDir(), "dec.wav")
	os.WriteFile(file, whole, 0o600)
	if out, err := exec.Command(audiotest.Tool(t, "opusdec"), "--quiet", "--rate", "8000", file, dec).CombinedOutput(); err != nil {
		t.Fatalf("opusdec: %v\n%s", err, out)
	}
	pcm, loud := audiotest.DecodeStereo(t, dec), 0
	for i := 0; i < len(pcm); i += 2 {
		if v := pcm[i]; v > 1000 || v < -1000 {
			loud++
		}
	}
	if loud < 8000 {
		t.Errorf("caller channel has %d loud samples, want the tone's (≥ 1 s)", loud)
	}
	st, err := s3.New(t.Context(), s3.Options{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Region: srv.Region, AccessKey: srv.AccessKey, SecretKey: s3.Secret(srv.SecretKey)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	st.List(t.Context(), "cs-quality/", func(o storage.Object) error {
		keys = append(keys, o.Key)
		return nil
	})
	if len(keys) != 2 || !slicesHave(keys, rec.ObjectKey) || !slicesHave(keys, rec.ManifestKey) {
		t.Errorf("bucket holds %v, want %s and %s only", keys, rec.ObjectKey, rec.ManifestKey)
	}
	if es, _ := audit.List(t.Context(), cat.DB(), audit.Filter{Target: id, Action: string(audit.ActionTranscode)}); len(es) != 1 {
		t.Errorf("got %d transcode audit entries, want 1", len(es))
	}
	if es, _ := audit.List(t.Context(), cat.DB(), audit.Filter{Target: id, Action: string(audit.ActionStore)}); len(es) != 1 ||
		!strings.Contains(es[0].Detail, id+`.wav"`) || !strings.Contains(es[0].Detail, `"transcode_to":"opus"`) {
		t.Errorf("store audit entries %v: want one naming the .wav and the opus to convert to", es)
	}
	m := d.scrape(t)
	for _, want := range []string{"kiroku_transcode_converted_total 1", "kiroku_transcode_pending 0", "kiroku_transcode_failed_total 0"} {
		if !strings.Contains(m, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func slicesHave(keys []string, k string) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}
