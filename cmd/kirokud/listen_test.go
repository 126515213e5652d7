package main

import (
	"bytes"
	bin "encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/internal/wav"
)

// peak is the largest magnitude of the left (caller) channel of
// interleaved 16-bit stereo PCM.
func peak(pcm []byte) int {
	m := 0
	for i := 0; i+3 < len(pcm); i += 4 {
		v := int(int16(bin.LittleEndian.Uint16(pcm[i:])))
		m = max(m, v, -v)
	}
	return m
}

// TestListenInEndToEnd: a real call through kirokud (SIPp sending a
// tone). While it is in progress a supervisor listens in over HTTP and
// with kirokuctl calls listen at once: both hear the tone until the call
// ends, kirokuctl saves a WAV of the recording's format, and the audit
// log holds for each a listen with its reason and a listen-end with the
// bytes sent; a privacy officer is refused (403).
func TestListenInEndToEnd(t *testing.T) {
	ctl := filepath.Join(t.TempDir(), "kirokuctl")
	if out, err := exec.Command("go", "build", "-o", ctl, "../kirokuctl").CombinedOutput(); err != nil {
		t.Fatalf("build kirokuctl: %v\n%s", err, out)
	}
	d, api := startAPIDaemon(t, "0120000001")
	p := d.call(t, "uac_pcap.xml", "0120000001", 4*time.Second, map[string]string{"pcap": tonePcap(t, 4*time.Second)})
	callID := d.waitRecording(t)

	if code, _, body := apiDo(t, "po", "GET", api+"/api/v1/calls/"+callID+"/listen", map[string]string{"X-Kiroku-Reason": "curious"}); code != http.StatusForbidden {
		t.Errorf("privacy officer: got %d %s, want 403", code, body)
	}

	saved := filepath.Join(t.TempDir(), "live.wav")
	var ctlOut bytes.Buffer
	cmd := exec.CommandContext(t.Context(), ctl, "calls", "listen", callID, "-reason", "coaching session", "-out", saved)
	cmd.Env = append(os.Environ(), "KIROKU_SERVER="+api, "KIROKU_TOKEN="+apiToken("sup"))
	cmd.Stdout, cmd.Stderr = &ctlOut, &ctlOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	req, err := http.NewRequestWithContext(t.Context(), "GET", api+"/api/v1/calls/"+callID+"/listen", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiToken("sup"))
	req.Header.Set("X-Kiroku-Reason", "quality%20review")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := io.ReadAll(res.Body) // until the call ends
	res.Body.Close()
	if res.StatusCode != 200 || err != nil || len(stream) < 44+8000*4 {
		t.Fatalf("listen: got %d, %d bytes, %v; want over a second of audio until the call ended", res.StatusCode, len(stream), err)
	}
	if p := peak(stream[44:]); p < 1000 {
		t.Errorf("listen over HTTP: the caller's channel peaks at %d, want the tone", p)
	}
	wantSuccess(t, p)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("kirokuctl calls listen: %v\n%s", err, ctlOut.String())
	}
	b, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	a, err := wav.Decode(b)
	if err != nil || a.SampleRate != 8000 || a.Channels != 2 || len(a.Data) < 8000*4 {
		t.Fatalf("kirokuctl's file: %v, %v; want over a second of 8 kHz stereo WAV (%s)", a, err, ctlOut.String())
	}
	if p := peak(a.Data); p < 1000 {
		t.Errorf("kirokuctl's file: the caller's channel peaks at %d, want the tone", p)
	}

	reasons := map[string]bool{"coaching session": false, "quality review": false}
	var page apiclient.AuditPage
	waitFor(t, "two listens and their ends in the audit log", func() bool {
		_, _, body := apiDo(t, "aud", "GET", api+"/api/v1/audit?target="+callID, nil)
		page = apiclient.AuditPage{}
		json.Unmarshal(body, &page)
		n := 0
		for _, e := range page.Entries {
			if e.Action == "listen-end" {
				n++
			}
		}
		return n == 2
	})
	for _, e := range page.Entries {
		switch e.Action {
		case "listen":
			if _, ok := reasons[e.Reason]; !ok || e.Actor != "sup" {
				t.Errorf("got listen entry %+v, want sup's with one of the reasons", e)
			}
		case "listen-end":
			var det struct {
				Bytes int64  `json:"bytes"`
				End   string `json:"end"`
			}
			json.Unmarshal(e.Detail, &det)
			if _, ok := reasons[e.Reason]; !ok || det.Bytes < 44+8000*4 || det.End != "call ended" {
				t.Errorf("got listen-end entry %+v, want a reason, the bytes sent and \"call ended\"", e)
			}
			reasons[e.Reason] = true
			if e.Reason == "quality review" && det.Bytes != int64(len(stream)) {
				t.Errorf("the HTTP listen's end says %d bytes, %d came", det.Bytes, len(stream))
			}
		}
	}
	for r, ended := range reasons {
		if !ended {
			t.Errorf("no listen-end with the reason %q", r)
		}
	}
}
