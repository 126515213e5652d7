package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/testenv/pgtest"
)

// TestStoredInPostgres: kirokud with a PostgreSQL catalog, its connection
// string in the environment, records a call and stores it: the recording
// is indexed and audited in PostgreSQL (no SQLite file appears), a purge
// run through the supervisor API takes the purge lock, and the password
// never reaches the log.
func TestStoredInPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	pc, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	d := prepare(t, "5s", "0120000001")
	f, err := os.OpenFile(filepath.Join(d.dir, "kiroku.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "catalog:\n  driver: postgres\n  dsn_env: KIROKU_TEST_CATALOG_DSN\n%s", apiYAML(map[string]string{"po": "privacy-officer"}))
	f.Close()
	d.env = []string{"KIROKU_TEST_CATALOG_DSN=" + dsn}
	d.start(t)
	d.waitLog(t, `"catalog":"postgres"`)
	wantSuccess(t, d.call(t, "uac_pcap.xml", "0120000001", 2*time.Second, map[string]string{"pcap": tonePcap(t, 2*time.Second)}))
	d.waitLog(t, `"msg":"recording stored"`)

	cat, err := catalog.OpenPostgres(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	recs, err := cat.List(t.Context(), catalog.Filter{})
	if err != nil || len(recs) != 1 || recs[0].State != catalog.StateStored || len(recs[0].WrappedKey) == 0 {
		t.Fatalf("got %d rows (%v), want the one stored recording with its wrapped key", len(recs), err)
	}
	if _, err := os.Stat(filepath.Join(d.dir, "data", "store", recs[0].ObjectKey)); err != nil {
		t.Errorf("audio object: %v", err)
	}
	if es, _ := audit.List(t.Context(), cat.DB(), audit.Filter{Target: recs[0].ID, Action: "store"}); len(es) != 1 {
		t.Errorf("got %d store entries in the audit log, want 1", len(es))
	}
	if code, b, err := apiJSON(t.Context(), apiURL(t, d), "po", "POST", "/api/v1/retention/purge", nil); code != 200 || !strings.Contains(string(b), `"deleted":0`) {
		t.Errorf("purge now: %d %s %v", code, b, err)
	}
	if n, err := audit.Verify(t.Context(), cat.DB()); err != nil || n < 1 {
		t.Errorf("audit chain: %d entries, %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(d.dir, "data", "catalog.db")); err == nil {
		t.Error("a SQLite catalog was made beside the PostgreSQL one")
	}
	if strings.Contains(d.log.String(), pc.Password) {
		t.Error("the catalog password is in kirokud's log")
	}
}

// TestPostgresUnreachable: a PostgreSQL catalog that is not there stops
// the start with a precise error (no crash, no password in it).
func TestPostgresUnreachable(t *testing.T) {
	d := prepare(t, "5s", "0120000001")
	f, err := os.OpenFile(filepath.Join(d.dir, "kiroku.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "catalog:\n  driver: postgres\n  dsn_env: KIROKU_TEST_CATALOG_DSN\n%s", apiYAML(map[string]string{"po": "privacy-officer"}))
	f.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	const secret = "n0t-To-B3-Logged"
	cmd := exec.CommandContext(t.Context(), binary, "-config", filepath.Join(d.dir, "kiroku.yaml"))
	cmd.Env = append(os.Environ(), fmt.Sprintf("KIROKU_TEST_CATALOG_DSN=host=127.0.0.1 port=%d user=kiroku password=%s dbname=kiroku sslmode=disable", closed, secret))
	b, err := cmd.CombinedOutput()
	out := string(b)
	if err == nil || cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("got %v, want exit 1:\n%s", err, out)
	}
	if !strings.Contains(out, "catalog: postgres: failed to connect") || !strings.Contains(out, "connection refused") {
		t.Errorf("log does not say the catalog is unreachable:\n%s", out)
	}
	if strings.Contains(out, secret) || strings.Contains(out, "panic") {
		t.Errorf("log holds the password or a panic:\n%s", out)
	}
}
