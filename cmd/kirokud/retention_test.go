package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audit"
)

func postJSON(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return res.StatusCode, m
}

// TestRetentionControl: holds by caller number through the supervisor
// API under a privacy officer's token (the audit actor is the token; a
// body's actor is refused), the purge plan, a purge run now, the control
// listener refusing every write, and a reload that drops a purpose still
// carried by recordings refused.
func TestRetentionControl(t *testing.T) {
	d, api := startAPIDaemon(t, "0120000001")
	wantSuccess(t, d.call(t, "uac_pcap.xml", "0120000001", time.Second, map[string]string{"pcap": tonePcap(t, time.Second)}))
	d.waitLog(t, `"msg":"recording stored"`)
	post := func(path string, body any) (int, map[string]any) {
		t.Helper()
		code, b, err := apiJSON(t.Context(), api, "po", "POST", path, body)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		return code, m
	}
	for _, tc := range []struct {
		body string
		code int
	}{
		{`{"caller":"0312345678","on":true}`, 400},
		{`{"caller":"0312345678","reason":"x"}`, 400},
		{`{"ids":["nosuch"],"on":true,"reason":"x"}`, 404},
		{`{"caller":"0312345678","on":true,"reason":"complaint 17","actor":"officer"}`, 400},
	} {
		if code, m := post("/api/v1/holds", json.RawMessage(tc.body)); code != tc.code {
			t.Errorf("%s: got %d %v, want %d", tc.body, code, m, tc.code)
		}
	}
	if code, m := postJSON(t, d.controlURL(t)+"/api/v1/holds", `{"caller":"0312345678","on":true,"reason":"x","actor":"officer"}`); code != http.StatusMethodNotAllowed {
		t.Errorf("hold through the control listener: %d %v, want 405", code, m)
	}
	code, m := post("/api/v1/holds", json.RawMessage(`{"caller":"0312345678","on":true,"reason":"complaint 17"}`))
	if code != 200 || m["changed"] != float64(1) {
		t.Fatalf("hold: %d %v", code, m)
	}
	code, b, _ := apiJSON(t.Context(), api, "po", "GET", "/api/v1/retention/plan", nil)
	var plan struct {
		Purposes []struct {
			Purpose           string
			Stored, Due, Held int
		}
	}
	json.Unmarshal(b, &plan)
	if code != 200 || len(plan.Purposes) != 1 || plan.Purposes[0].Stored != 1 || plan.Purposes[0].Due != 0 {
		t.Errorf("got plan %d %s", code, b)
	}
	if code, m := post("/api/v1/retention/purge", nil); code != 200 || m["deleted"] != float64(0) {
		t.Errorf("purge now: %d %v", code, m)
	}
	cat := d.catalog(t)
	if es, _ := audit.List(t.Context(), cat.DB(), audit.Filter{Action: "hold"}); len(es) != 1 || es[0].Actor != "po" {
		t.Errorf("hold audit: %+v", es)
	}
	// Drop the purpose the stored recording carries: refused.
	cfgPath := filepath.Join(d.dir, "kiroku.yaml")
	b, _ = os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, []byte(strings.ReplaceAll(string(b), "cs-quality", "renamed")), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog(t, `was removed, but 1 recordings still carry it`)
}
