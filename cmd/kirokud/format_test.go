package main

import (
	"bytes"
	"crypto/sha256"
	bin "encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/testenv/audiotest"
	"github.com/kiroku-voice/kiroku/internal/testenv/s3test"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/storage/s3"
)

// startFormatDaemon runs kirokud with cs-quality's audio_format set to
// format, storing into srv's bucket, with the supervisor API; extra is
// appended to its configuration.
func startFormatDaemon(t *testing.T, srv *s3test.Server, format string, extra ...string) (*proc, string) {
	t.Helper()
	d := prepare(t, "5s", "0120000001")
	path := filepath.Join(d.dir, "kiroku.yaml")
	y, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	purpose := "listeners: [supervisor]}"
	if !bytes.Contains(y, []byte(purpose)) {
		t.Fatalf("the test configuration has no %q", purpose)
	}
	y = bytes.Replace(y, []byte(purpose), []byte("listeners: [supervisor], audio_format: "+format+"}"), 1)
	y = fmt.Appendf(y, "storage:\n  backend: s3\n  s3: {endpoint: %q, bucket: %q, region: %q}\n", srv.Endpoint, srv.Bucket, srv.Region)
	y = fmt.Appendf(y, "api:\n  listen: \"127.0.0.1:0\"\n  tokens:\n")
	sum := sha256.Sum256([]byte(apiToken("sup")))
	y = fmt.Appendf(y, "    - {name: sup, roles: [supervisor], sha256: %s}\n", hex.EncodeToString(sum[:]))
	for _, x := range extra {
		y = append(y, x...)
	}
	if err := os.WriteFile(path, y, 0o600); err != nil {
		t.Fatal(err)
	}
	d.env = []string{s3.EnvAccessKey + "=" + srv.AccessKey, s3.EnvSecretKey + "=" + srv.SecretKey}
	d.start(t)
	m := apiRE.FindStringSubmatch(d.log.String())
	if m == nil {
		t.Fatal("kirokud did not log its API address")
	}
	return d, "http://" + m[1]
}

// TestStoredAsEachFormat: a real call on a purpose of each compressed
// format is stored in the bucket (versitygw) sealed under the format's
// extension; the API streams it whole and by range with the format's
// content type and file name, and its SHA-256 as ETag; decoded by
// outside tools (flac, sox), its samples are the spool's PCM exactly:
// rebuilt into the spool's WAV they have the pcm_sha256 the manifest
// kept; opus (lossy) decodes with opusdec to the caller's tone.
func TestStoredAsEachFormat(t *testing.T) {
	for _, tc := range []struct {
		format, ext, ctype, desc string
	}{
		{"g711", ".wav", "audio/wav", "codec=pcm_mulaw"},
		{"flac", ".flac", "audio/flac", "audio/flac; codec=flac"},
		{"opus", ".opus", "audio/ogg; codecs=opus", "audio/ogg; codec=opus; bitrate=24000"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			srv := s3test.Start(t)
			d, api := startFormatDaemon(t, srv, tc.format)
			wantSuccess(t, d.call(t, "uac_pcap.xml", "0120000001", 3*time.Second, map[string]string{"pcap": tonePcap(t, 3*time.Second)}))
			d.waitLog(t, `"msg":"recording stored"`)
			cat := d.catalog(t)
			recs, _ := cat.List(t.Context(), catalog.Filter{})
			if len(recs) != 1 {
				t.Fatalf("got %d catalog rows, want 1", len(recs))
			}
			rec := recs[0]
			if !strings.HasSuffix(rec.ObjectKey, rec.ID+tc.ext) {
				t.Fatalf("got object key %q, want …%s", rec.ObjectKey, tc.ext)
			}
			var m struct {
				Recording struct {
					Format    string `json:"format"`
					SHA256    string `json:"sha256"`
					PCMSHA256 string `json:"pcm_sha256"`
				} `json:"recording"`
			}
			json.Unmarshal(rec.Manifest, &m)
			if !strings.Contains(m.Recording.Format, tc.desc) || m.Recording.SHA256 != rec.AudioSHA256 || m.Recording.PCMSHA256 == "" {
				t.Fatalf("catalog manifest's recording: %+v (audio sha256 %s)", m.Recording, rec.AudioSHA256)
			}

			reason := map[string]string{"X-Kiroku-Reason": "format%20check"}
			code, hdr, whole := apiDo(t, "sup", "GET", api+"/api/v1/recordings/"+rec.ID+"/audio", reason)
			sum := sha256.Sum256(whole)
			if code != 200 || hdr.Get("Content-Type") != tc.ctype || hex.EncodeToString(sum[:]) != rec.AudioSHA256 {
				t.Fatalf("audio: got %d %s, %d bytes sha256 %x; want 200 %s sha256 %s", code, hdr.Get("Content-Type"), len(whole), sum, tc.ctype, rec.AudioSHA256)
			}
			if cd := hdr.Get("Content-Disposition"); !strings.Contains(cd, `filename="`+rec.ID+tc.ext+`"`) {
				t.Errorf("Content-Disposition %q, want the file name %s%s", cd, rec.ID, tc.ext)
			}
			mid := len(whole) / 2
			reason["Range"] = fmt.Sprintf("bytes=%d-%d", mid, mid+999)
			if code, _, part := apiDo(t, "sup", "GET", api+"/api/v1/recordings/"+rec.ID+"/audio", reason); code != 206 || !bytes.Equal(part, whole[mid:mid+1000]) {
				t.Errorf("range: got %d, %d bytes, want 206 and the middle 1000 bytes", code, len(part))
			}
			delete(reason, "Range")
			code, _, body := apiDo(t, "sup", "GET", api+"/api/v1/recordings/"+rec.ID, reason)
			var detail struct {
				AudioFile   string `json:"audio_file"`
				AudioFormat string `json:"audio_format"`
			}
			if json.Unmarshal(body, &detail); code != 200 || detail.AudioFile != rec.ID+tc.ext || !strings.Contains(detail.AudioFormat, tc.desc) {
				t.Errorf("detail: got %d audio_file %q audio_format %q", code, detail.AudioFile, detail.AudioFormat)
			}

			file := filepath.Join(t.TempDir(), rec.ID+tc.ext)
			os.WriteFile(file, whole, 0o600)
			if tc.format == "flac" {
				if out, err := exec.Command(audiotest.Tool(t, "flac"), "-t", "-w", "-s", file).CombinedOutput(); err != nil {
					t.Fatalf("flac -t: %v\n%s", err, out)
				}
			}
			if tc.format == "opus" {
				// Lossy: decoded by the reference decoder, checked for the
				// caller's tone below (audiofile's tests measure quality).
				dec := filepath.Join(t.TempDir(), "dec.wav")
				if out, err := exec.Command(audiotest.Tool(t, "opusdec"), "--quiet", "--rate", "8000", file, dec).CombinedOutput(); err != nil {
					t.Fatalf("opusdec: %v\n%s", err, out)
				}
				file = dec
			}
			pcm := audiotest.DecodeStereo(t, file)
			if got := spoolSHA256(t, pcm); tc.format != "opus" && got != m.Recording.PCMSHA256 {
				t.Errorf("decoded samples rebuild a WAV of sha256 %s, the spool's was %s", got, m.Recording.PCMSHA256)
			}
			loud := 0
			for i := 0; i < len(pcm); i += 2 {
				if v := pcm[i]; v > 1000 || v < -1000 {
					loud++
				}
			}
			if loud < 8000 {
				t.Errorf("caller channel has %d loud samples, want the tone's (≥ 1 s)", loud)
			}
		})
	}
}

// spoolSHA256 is the SHA-256 of the spool WAV the recorder would have
// written of pcm (its WAV writer's header, then the samples).
func spoolSHA256(t *testing.T, pcm []int16) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "spool.wav")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := wav.NewWriter(f, 8000, 2)
	b := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		bin.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	w.Write(b)
	w.Close()
	f.Close()
	data, _ := os.ReadFile(p)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
