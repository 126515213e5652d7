package daemon

import (
	"database/sql"
	"errors"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"go.uber.org/zap/zaptest"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/internal/config"
)

// TestVerifyAuditCatchesRewrite: after a recorded call and a stop (which
// signs the head into the store), the shipped verify passes; then the
// audit log is rewritten whole — an entry's actor changed and every hash
// after it recomputed, as someone with the database but not the master
// key would — and the chain alone still verifies, but VerifyAudit fails
// naming the checkpoint the log no longer matches. A deleted entry is
// caught too (by the chain).
func TestVerifyAuditCatchesRewrite(t *testing.T) {
	_, path := recordedThenStopped(t)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	log := zaptest.NewLogger(t)
	rep, err := VerifyAudit(t.Context(), cfg, log)
	if err != nil {
		t.Fatalf("intact log: %v", err)
	}
	if rep.Entries == 0 || rep.Matched == 0 || rep.Newest == 0 {
		t.Fatalf("intact log: got %+v, want entries and a matching checkpoint", rep)
	}

	db, err := sql.Open("sqlite", cfg.Catalog.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	entries, err := audit.List(t.Context(), db, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	dropTriggers(t, db)
	if _, err := db.Exec(`DELETE FROM audit`); err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		if i == 0 {
			e.Actor = "someone-else"
		}
		if _, err := audit.Append(t.Context(), db, audit.Entry{At: e.At, Actor: e.Actor, Action: e.Action,
			Target: e.Target, Reason: e.Reason, Detail: e.Detail}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := audit.Verify(t.Context(), db); err != nil || n != int64(len(entries)) {
		t.Fatalf("the rewritten chain: %d, %v; want it to verify on its own", n, err)
	}
	rep, err = VerifyAudit(t.Context(), cfg, log)
	if !errors.Is(err, ErrAuditTampered) || !strings.Contains(err.Error(), audit.CheckpointPrefix) {
		t.Fatalf("rewritten log: got %v (%+v), want ErrAuditTampered naming the checkpoint", err, rep)
	}
	if len(rep.Failures) == 0 || !strings.Contains(rep.String(), "mismatch: ") {
		t.Errorf("report %q lists no mismatch", rep)
	}

	if _, err := db.Exec(`DELETE FROM audit WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyAudit(t.Context(), cfg, log); !errors.Is(err, ErrAuditTampered) {
		t.Fatalf("an entry deleted: got %v, want ErrAuditTampered", err)
	}
}

// dropTriggers removes any trigger guarding the audit table, as someone
// rewriting the file would.
func dropTriggers(t *testing.T, db *sql.DB) {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	for _, n := range names {
		if _, err := db.Exec(`DROP TRIGGER "` + n + `"`); err != nil {
			t.Fatal(err)
		}
	}
}
