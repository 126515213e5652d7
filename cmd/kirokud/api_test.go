package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// apiToken is the bearer token of name in the API tests.
func apiToken(name string) string { return "krk_e2e_" + name + "_5d0c2a9e71" }

var apiRE = regexp.MustCompile(`"msg":"api listening","addr":"([^"]+)"`)

// apiYAML is an api section on a loopback port with a token (apiToken)
// of each name, holding the role it maps to.
func apiYAML(roles map[string]string) string {
	var b strings.Builder
	b.WriteString("api:\n  listen: \"127.0.0.1:0\"\n  tokens:\n")
	for name, role := range roles {
		sum := sha256.Sum256([]byte(apiToken(name)))
		fmt.Fprintf(&b, "    - {name: %s, roles: [%s], sha256: %s}\n", name, role, hex.EncodeToString(sum[:]))
	}
	return b.String()
}

// startAPIDaemon runs kirokud with the supervisor API on a loopback port
// and tokens for a supervisor, an auditor and a privacy officer (whom
// cs-quality names among its listeners too).
func startAPIDaemon(t *testing.T, lines ...string) (*proc, string) {
	t.Helper()
	d := prepare(t, "5s", lines...)
	path := filepath.Join(d.dir, "kiroku.yaml")
	y, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	y = []byte(strings.Replace(string(y), "listeners: [supervisor]", "listeners: [supervisor, privacy-officer]", 1))
	y = append(y, apiYAML(map[string]string{"sup": "supervisor", "aud": "auditor", "po": "privacy-officer"})...)
	if err := os.WriteFile(path, y, 0o600); err != nil {
		t.Fatal(err)
	}
	d.start(t)
	m := apiRE.FindStringSubmatch(d.log.String())
	if m == nil {
		t.Fatal("kirokud did not log its API address")
	}
	return d, "http://" + m[1]
}

// apiDo sends a request as name and returns the status and body.
func apiDo(t *testing.T, name, method, url string, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiToken(name))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// TestAPIEndToEnd: a real call through kirokud, then the supervisor API
// of the same daemon: the call listed while in progress and paused and
// resumed under authentication, the stored recording found, its audio
// streamed decrypted by range (the same bytes as the store holds), every
// access in the audit log, requests counted in /metrics, and no token in
// kirokud's log.
func TestAPIEndToEnd(t *testing.T) {
	d, api := startAPIDaemon(t, "0120000001")
	p := d.call(t, "uac_pcap.xml", "0120000001", 4*time.Second, map[string]string{"pcap": tonePcap(t, 4*time.Second)})
	callID := d.waitRecording(t)

	code, _, body := apiDo(t, "sup", "GET", api+"/api/v1/calls", nil)
	if code != 200 || !strings.Contains(string(body), callID) || !strings.Contains(string(body), "0312****78") {
		t.Fatalf("calls in progress: got %d %s", code, body)
	}
	if code, _, body := apiDo(t, "", "GET", api+"/api/v1/calls", nil); code != http.StatusUnauthorized {
		t.Errorf("calls without a token: got %d %s, want 401", code, body)
	}
	time.Sleep(500 * time.Millisecond) // half a second of audio before the pause
	if code, _, body := apiDo(t, "sup", "POST", api+"/api/v1/calls/"+callID+"/pause", nil); code != 200 {
		t.Fatalf("pause: got %d %s", code, body)
	}
	if code, _, body := apiDo(t, "sup", "POST", api+"/api/v1/calls/"+callID+"/resume", nil); code != 200 {
		t.Fatalf("resume: got %d %s", code, body)
	}
	wantSuccess(t, p)
	d.waitLog(t, `"msg":"recording stored"`)

	var list struct {
		Recordings []struct {
			ID       string `json:"id"`
			HasAudio bool   `json:"has_audio"`
			Caller   string `json:"caller"`
		} `json:"recordings"`
	}
	code, _, body = apiDo(t, "sup", "GET", api+"/api/v1/recordings?line=0120000001", nil)
	if json.Unmarshal(body, &list); code != 200 || len(list.Recordings) != 1 || list.Recordings[0].ID != callID || !list.Recordings[0].HasAudio {
		t.Fatalf("search: got %d %s", code, body)
	}
	stored := d.audio(t, callID)
	reason := map[string]string{"X-Kiroku-Reason": "e2e%20check"}
	code, hdr, whole := apiDo(t, "sup", "GET", api+"/api/v1/recordings/"+callID+"/audio", reason)
	if code != 200 || !bytes.Equal(whole, stored) || hdr.Get("Content-Type") != "audio/wav" {
		t.Fatalf("audio: got %d, %d bytes (%s), want the %d stored bytes", code, len(whole), hdr.Get("Content-Type"), len(stored))
	}
	sum := sha256.Sum256(stored)
	if hdr.Get("ETag") != `"`+hex.EncodeToString(sum[:])+`"` {
		t.Errorf("got ETag %s, want the WAV's SHA-256", hdr.Get("ETag"))
	}
	mid := int64(len(stored) / 2)
	reason["Range"] = fmt.Sprintf("bytes=%d-%d", mid, mid+99999)
	code, hdr, part := apiDo(t, "sup", "GET", api+"/api/v1/recordings/"+callID+"/audio", reason)
	if code != 206 || !bytes.Equal(part, stored[mid:min(mid+100000, int64(len(stored)))]) {
		t.Fatalf("range: got %d %q, %d bytes", code, hdr.Get("Content-Range"), len(part))
	}
	reason["Range"] = "bytes=-0"
	if code, hdr, _ := apiDo(t, "sup", "GET", api+"/api/v1/recordings/"+callID+"/audio", reason); code != 416 || hdr.Get("Content-Range") != fmt.Sprintf("bytes */%d", len(stored)) {
		t.Errorf("bytes=-0: got %d %q, want 416", code, hdr.Get("Content-Range"))
	}

	var audit struct {
		Entries []struct {
			Actor, Action, Target, Reason string
		} `json:"entries"`
	}
	code, _, body = apiDo(t, "aud", "GET", api+"/api/v1/audit?target="+callID, nil)
	if json.Unmarshal(body, &audit); code != 200 {
		t.Fatalf("audit: got %d %s", code, body)
	}
	var actions []string
	for _, e := range audit.Entries {
		actions = append(actions, e.Actor+":"+e.Action)
	}
	want := "sup:pause sup:resume kirokud:store sup:play sup:play"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("audit of the recording: got %q, want %q", got, want)
	}
	if m := d.scrape(t); !strings.Contains(m, `kiroku_http_requests_total{code="200",route="GET /api/v1/recordings"} 1`) {
		t.Errorf("/metrics lacks the API request count:\n%s", grep(m, "kiroku_http"))
	}
	log := d.log.String()
	for _, name := range []string{"sup", "aud"} {
		if strings.Contains(log, apiToken(name)) {
			t.Errorf("kirokud's log holds the token of %s", name)
		}
	}
}
