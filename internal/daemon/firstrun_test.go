package daemon

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/kiroku-voice/kiroku/internal/config"
)

// firstRunConfig writes the test configuration with api.first_run_token
// in place of its configured token.
func firstRunConfig(t *testing.T, dir string) *config.Config {
	t.Helper()
	writeNotice(t, dir)
	path := writeConfig(t, dir, "90d")
	b, _ := os.ReadFile(path)
	y := regexp.MustCompile(`(?m)^  tokens: .*$`).ReplaceAllString(string(b), "  first_run_token: true")
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// whoami asks the API who tok is, returning the status and the roles.
func whoami(t *testing.T, d *Daemon, tok string) (int, []string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://"+d.APIAddr().String()+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var me struct {
		Name  string   `json:"name"`
		Roles []string `json:"roles"`
	}
	json.NewDecoder(res.Body).Decode(&me)
	if res.StatusCode == 200 && me.Name != config.FirstRunTokenName {
		t.Errorf("got name %q, want %s", me.Name, config.FirstRunTokenName)
	}
	return res.StatusCode, me.Roles
}

// TestFirstRunToken: the first start makes the token (0600, every role)
// and hands it out once; later starts and reloads accept the same file
// and never rewrite it; a file that holds no token stops the start,
// naming the file, and is left as it was.
func TestFirstRunToken(t *testing.T) {
	dir := t.TempDir()
	cfg := firstRunConfig(t, dir)
	file := filepath.Join(cfg.DataDir, config.FirstRunTokenFile)
	start := func() *Daemon {
		t.Helper()
		d, err := New(t.Context(), cfg, filepath.Join(dir, "kiroku.yaml"), zaptest.NewLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		return d
	}
	stop := func(d *Daemon) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if err := d.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}

	d := start()
	path, tok := d.FirstRunToken()
	fi, err := os.Stat(file)
	if err != nil || path != file || fi.Mode().Perm() != 0o600 {
		t.Fatalf("got %q, %v (mode %v), want %s at 0600", path, err, fi.Mode(), file)
	}
	b, _ := os.ReadFile(file)
	if !validToken(tok) || string(b) != tok+"\n" {
		t.Fatalf("got token %q and file %q, want the token in the file", tok, b)
	}
	if code, roles := whoami(t, d, tok); code != 200 || strings.Join(roles, ",") != "supervisor,privacy-officer,auditor,admin" {
		t.Errorf("first-run token: got %d %v, want 200 with every role", code, roles)
	}
	if err := d.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if code, _ := whoami(t, d, tok); code != 200 {
		t.Errorf("after a reload: got %d, want the token still accepted", code)
	}
	if code, _ := whoami(t, d, "krk_"+strings.Repeat("A", 43)); code != 401 {
		t.Errorf("another token: got %d, want 401", code)
	}
	stop(d)

	d = start()
	if p, again := d.FirstRunToken(); p != file || again != "" {
		t.Errorf("second start: got %q %q, want the file and no token to show", p, again)
	}
	if b2, _ := os.ReadFile(file); string(b2) != string(b) {
		t.Errorf("second start rewrote the token file: %q, was %q", b2, b)
	}
	if code, _ := whoami(t, d, tok); code != 200 {
		t.Errorf("second start: got %d, want the first token accepted", code)
	}
	stop(d)

	os.WriteFile(file, []byte("not a token\n"), 0o600)
	if _, err := New(t.Context(), cfg, "", zaptest.NewLogger(t)); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("a file without a token: got %v, want an error naming %s", err, file)
	}
	if b3, _ := os.ReadFile(file); string(b3) != "not a token\n" {
		t.Errorf("a refused start changed the file to %q", b3)
	}
}
