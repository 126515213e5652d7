package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/daemon"
	"github.com/kiroku-voice/kiroku/spool"
)

// startClientKirokud runs a daemon whose spool holds two calls of client
// acme and one of no client, with tokens for an admin, a privacy
// officer and acme's supervisor.
func startClientKirokud(t *testing.T) *kirokud {
	t.Helper()
	dir := t.TempDir()
	writeWAV(t, filepath.Join(dir, "notice.wav"), 1, 4000)
	cfg := fmt.Sprintf(`sip:
  listen: ["udp://127.0.0.1:0"]
  trunks: [{name: test, cidrs: ["127.0.0.0/8"]}]
data_dir: data
log: {format: json, level: warn}
control: {listen: ""}
api:
  listen: "127.0.0.1:0"
  tokens:
    - {name: adm, roles: [admin], sha256: %s}
    - {name: po, roles: [privacy-officer], sha256: %s}
    - {name: acme-sup, roles: [supervisor], clients: [acme], sha256: %s}
purposes:
  - {name: cs-quality, retention: 90d, listeners: [supervisor, privacy-officer, admin]}
clients:
  - {id: acme, name: ACME 株式会社}
lines:
  - {number: "0120000001", purpose: cs-quality, notice: notice.wav, downstream: "echo:"}
`, hash(tok("adm")), hash(tok("po")), hash(tok("acme-sup")))
	path := filepath.Join(dir, "kirokud.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(filepath.Join(c.DataDir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	k := &kirokud{wavs: map[string][]byte{}}
	start := time.Now().Add(-time.Hour)
	for i, client := range []string{"acme", "acme", ""} {
		id := uuid.Must(uuid.NewV7()).String()
		k.ids = append(k.ids, id)
		started := start.Add(time.Duration(i) * time.Minute)
		ended := started.Add(time.Minute)
		b := writeWAV(t, sp.RecordingPath(id), 2, 8000)
		sum := sha256.Sum256(b)
		m := &spool.Manifest{ID: id, State: spool.StateSpooled, Caller: fmt.Sprintf("031234567%d", i), Dialled: "0120000002",
			Line: "0120000002", Purpose: "cs-quality", Client: client, StartedAt: started, EndedAt: &ended,
			Consent:   spool.Consent{Decision: spool.Notified, Notice: spool.Notice{File: "notice.wav", Completed: true}},
			Recording: &spool.Recording{File: id + ".wav", Duration: 1, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}}
		k.wavs[id] = b
		if err := sp.WriteManifest(m); err != nil {
			t.Fatal(err)
		}
	}
	d, err := daemon.New(t.Context(), c, path, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d.Stop(ctx)
	})
	k.d, k.url = d, "http://"+d.APIAddr().String()
	deadline := time.Now().Add(20 * time.Second)
	for n, _ := d.Catalog().Count(t.Context()); n != 3; n, _ = d.Catalog().Count(t.Context()) {
		if time.Now().After(deadline) {
			t.Fatalf("the spooled calls were not stored (%d)", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return k
}

// TestContractEndAndIncident: acme's supervisor downloads one of acme's
// recordings; the incident report for that token lists it; the dry run
// shows what a ZIP return then does; the return is received, checked,
// confirmed and certified in one command.
func TestContractEndAndIncident(t *testing.T) {
	k := startClientKirokud(t)
	file := filepath.Join(t.TempDir(), "a.wav")
	if code, out, stderr := k.ctl(t, "acme-sup", "recordings", "download", k.ids[0], "-reason", "苦情対応", "-out", file); code != 0 {
		t.Fatalf("download: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr := k.ctl(t, "po", "incident", "report", "-actor", "acme-sup", "-format", "csv")
	if code != 0 || !strings.Contains(out, "# caller: 0312345670") || !strings.Contains(out, `"`+k.ids[0]+`","acme",`) || strings.Contains(out, k.ids[1]) {
		t.Fatalf("incident report: exit %d\n%s%s", code, out, stderr)
	}
	if code, out, stderr := k.ctl(t, "po", "incident", "report", "-actor", "acme-sup"); code != 0 || !strings.Contains(out, "left out (purposes not open to your roles): 0") {
		t.Errorf("incident report table: exit %d, want the left-out count\n%s%s", code, out, stderr)
	}
	if code, _, stderr := k.ctl(t, "acme-sup", "incident", "report", "-actor", "acme-sup"); code != exitFail || !strings.Contains(stderr, "HTTP 403") {
		t.Errorf("incident report as a supervisor: exit %d %s", code, stderr)
	}
	code, out, stderr = k.ctl(t, "adm", "contract-end", "acme", "-dry-run")
	if code != 0 || !strings.Contains(out, "recordings to return: 2 (2 with audio, 0 restricted)") || !strings.Contains(out, "then destroyed: 2; kept under legal hold: 0") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := k.ctl(t, "adm", "contract-end", "acme"); code != exitUsage {
		t.Errorf("contract-end without a mode: exit %d %s", code, stderr)
	}
	if code, _, stderr := k.ctl(t, "adm", "contract-end", "acme", "-s3-bucket", "returns"); code != exitFail || !strings.Contains(stderr, "needs storage.backend s3") {
		t.Errorf("s3 return on an fs store: exit %d %s", code, stderr)
	}
	zipPath := filepath.Join(t.TempDir(), "acme.zip")
	code, out, stderr = k.ctl(t, "adm", "contract-end", "acme", "-zip", zipPath)
	if code != 0 || !strings.Contains(out, "2 recordings, 2 returned and verified, 2 destroyed, 0 kept under legal hold") {
		t.Fatalf("zip return: exit %d\n%s%s", code, out, stderr)
	}
	for _, f := range []string{zipPath, strings.TrimSuffix(zipPath, ".zip") + ".certificate.json", strings.TrimSuffix(zipPath, ".zip") + ".certificate.txt"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if n, _ := k.d.Catalog().Count(t.Context()); n != 1 {
		t.Errorf("got %d recordings left, want the one of no client", n)
	}
	if code, out, _ := k.ctl(t, "po", "contract-ends", "list"); code != 0 || !strings.Contains(out, "done") {
		t.Errorf("contract-ends list: exit %d\n%s", code, out)
	}
}

// TestTokenNewClients: a token scoped to clients gets them in its
// configuration line; a bad id is a usage error.
func TestTokenNewClients(t *testing.T) {
	var out, errOut strings.Builder
	code := run(t.Context(), []string{"token", "new", "-name", "acme-yamada", "-roles", "supervisor", "-clients", "acme,globex"}, &out, &errOut, func(string) string { return "" })
	if code != 0 || !strings.Contains(out.String(), "- {name: acme-yamada, roles: [supervisor], clients: [acme, globex], sha256: ") {
		t.Errorf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if code := run(t.Context(), []string{"token", "new", "-name", "x", "-roles", "supervisor", "-clients", "ACME"}, &out, &errOut, func(string) string { return "" }); code != exitUsage {
		t.Errorf("bad client id: exit %d", code)
	}
}
