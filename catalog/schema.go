package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
)

// migrations are applied in order; each runs once, in a transaction,
// recorded in schema_migrations. Never edit a shipped one: add another.
// Times are Unix microseconds (BIGINT) so that both SQLite and PostgreSQL
// index and compare them the same way; booleans are INTEGER 0 or 1 in
// both. The same list runs on both (see dialect).
var migrations = []string{
	// 1: recordings, tombstones, audit.
	`CREATE TABLE recordings (
		id               TEXT PRIMARY KEY,
		sip_call_id      TEXT NOT NULL DEFAULT '',
		client           TEXT NOT NULL DEFAULT '',
		started_at       BIGINT NOT NULL,
		answered_at      BIGINT,
		ended_at         BIGINT,
		caller           TEXT NOT NULL DEFAULT '',
		dialled          TEXT NOT NULL DEFAULT '',
		line             TEXT NOT NULL,
		purpose          TEXT NOT NULL,
		agent            TEXT NOT NULL DEFAULT '',
		consent_decision TEXT NOT NULL,
		consent          TEXT NOT NULL DEFAULT '{}',
		object_key       TEXT NOT NULL DEFAULT '',
		manifest_key     TEXT NOT NULL DEFAULT '',
		size             BIGINT NOT NULL DEFAULT 0,
		duration_ms      BIGINT NOT NULL DEFAULT 0,
		sha256           TEXT NOT NULL DEFAULT '',
		audio_sha256     TEXT NOT NULL DEFAULT '',
		retain_until     BIGINT NOT NULL,
		legal_hold       INTEGER NOT NULL DEFAULT 0,
		hold_reason      TEXT NOT NULL DEFAULT '',
		state            TEXT NOT NULL,
		key_id           TEXT NOT NULL DEFAULT '',
		wrapped_key      BLOB,
		cut_short        INTEGER NOT NULL DEFAULT 0,
		stored_at        BIGINT NOT NULL,
		manifest         TEXT NOT NULL DEFAULT '{}'
	);
	CREATE INDEX recordings_started ON recordings (started_at);
	CREATE INDEX recordings_line ON recordings (line, started_at);
	CREATE INDEX recordings_purpose ON recordings (purpose, started_at);
	CREATE INDEX recordings_caller ON recordings (caller, started_at);
	CREATE INDEX recordings_decision ON recordings (consent_decision, started_at);
	CREATE INDEX recordings_retain ON recordings (retain_until) WHERE legal_hold = 0;
	CREATE TABLE tombstones (
		id          TEXT PRIMARY KEY,
		purpose     TEXT NOT NULL,
		line        TEXT NOT NULL,
		started_at  BIGINT NOT NULL,
		deleted_at  BIGINT NOT NULL,
		reason      TEXT NOT NULL,
		actor       TEXT NOT NULL,
		object_key  TEXT NOT NULL DEFAULT '',
		sha256      TEXT NOT NULL DEFAULT ''
	);
	CREATE TABLE audit (
		seq       BIGINT PRIMARY KEY,
		at        BIGINT NOT NULL,
		actor     TEXT NOT NULL,
		action    TEXT NOT NULL,
		target    TEXT NOT NULL DEFAULT '',
		reason    TEXT NOT NULL DEFAULT '',
		detail    TEXT NOT NULL DEFAULT '',
		prev_hash TEXT NOT NULL,
		hash      TEXT NOT NULL
	);
	CREATE INDEX audit_target ON audit (target, seq);`,
	// 2: search pages (httpapi) are ordered by (started_at, id) and cut by
	// a keyset cursor on both; each filter's index carries both so a page
	// reads only its rows. They replace migration 1's (column, started_at)
	// indexes, which they cover.
	`CREATE INDEX recordings_started_id ON recordings (started_at, id);
	CREATE INDEX recordings_line_started_id ON recordings (line, started_at, id);
	CREATE INDEX recordings_purpose_started_id ON recordings (purpose, started_at, id);
	CREATE INDEX recordings_caller_started_id ON recordings (caller, started_at, id);
	CREATE INDEX recordings_decision_started_id ON recordings (consent_decision, started_at, id);
	DROP INDEX recordings_started;
	DROP INDEX recordings_line;
	DROP INDEX recordings_purpose;
	DROP INDEX recordings_caller;
	DROP INDEX recordings_decision;`,
	// 3: data-subject requests (package rights): the requests, the
	// third-party provision records, and the customer reference a
	// correction may fix (a fact about the caller, not the audio).
	`ALTER TABLE recordings ADD COLUMN customer_ref TEXT NOT NULL DEFAULT '';
	CREATE TABLE requests (
		id           TEXT PRIMARY KEY,
		kind         TEXT NOT NULL,
		callers      TEXT NOT NULL DEFAULT '[]',
		verification TEXT NOT NULL DEFAULT '',
		requester    TEXT NOT NULL DEFAULT '',
		received_at  BIGINT NOT NULL,
		answered_at  BIGINT,
		outcome      TEXT NOT NULL DEFAULT '',
		result       TEXT NOT NULL DEFAULT '',
		operator     TEXT NOT NULL
	);
	CREATE INDEX requests_received ON requests (received_at, id);
	CREATE TABLE provisions (
		id          TEXT PRIMARY KEY,
		recipient   TEXT NOT NULL,
		provided_at BIGINT NOT NULL,
		items       TEXT NOT NULL DEFAULT '[]',
		legal_basis TEXT NOT NULL,
		consent_ref TEXT NOT NULL DEFAULT '',
		operator    TEXT NOT NULL
	);
	CREATE INDEX provisions_at ON provisions (provided_at, id);`,
	// 4: the last scheduled run of each job (the purge) that some node
	// claimed, so that a schedule firing on several nodes runs once.
	`CREATE TABLE job_runs (
		name TEXT PRIMARY KEY,
		slot BIGINT NOT NULL,
		at   BIGINT NOT NULL
	);`,
	// 5: outsourced lines (clients). Searches, contract ends and incident
	// reports by client; the client of deleted recordings; incident
	// reports by actor and by time; contract-end runs (at most one
	// unfinished per client) and their per-recording progress, so that an
	// interrupted run resumes without destroying what was not verified as
	// returned.
	`CREATE INDEX recordings_client_started_id ON recordings (client, started_at, id);
	ALTER TABLE tombstones ADD COLUMN client TEXT NOT NULL DEFAULT '';
	CREATE INDEX tombstones_client ON tombstones (client, id);
	CREATE INDEX audit_actor ON audit (actor, seq);
	CREATE INDEX audit_at ON audit (at, seq);
	CREATE TABLE contract_ends (
		id            TEXT PRIMARY KEY,
		client        TEXT NOT NULL,
		target_kind   TEXT NOT NULL,
		target_bucket TEXT NOT NULL DEFAULT '',
		target_prefix TEXT NOT NULL DEFAULT '',
		state         TEXT NOT NULL,
		operators     TEXT NOT NULL DEFAULT '[]',
		started_at    BIGINT NOT NULL,
		finished_at   BIGINT,
		first_seq     BIGINT NOT NULL DEFAULT 0,
		last_seq      BIGINT NOT NULL DEFAULT 0,
		certificate   TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX contract_ends_client ON contract_ends (client, started_at);
	CREATE UNIQUE INDEX contract_ends_open ON contract_ends (client) WHERE finished_at IS NULL;
	CREATE TABLE contract_end_items (
		run             TEXT NOT NULL,
		recording       TEXT NOT NULL,
		started_at      BIGINT NOT NULL,
		object_key      TEXT NOT NULL DEFAULT '',
		manifest_key    TEXT NOT NULL DEFAULT '',
		state           TEXT NOT NULL,
		held            INTEGER NOT NULL DEFAULT 0,
		hold_reason     TEXT NOT NULL DEFAULT '',
		audio_file      TEXT NOT NULL DEFAULT '',
		audio_sha256    TEXT NOT NULL DEFAULT '',
		manifest_file   TEXT NOT NULL DEFAULT '',
		manifest_sha256 TEXT NOT NULL DEFAULT '',
		error           TEXT NOT NULL DEFAULT '',
		verified_at     BIGINT,
		destroyed_at    BIGINT,
		PRIMARY KEY (run, recording)
	);
	CREATE INDEX contract_end_items_state ON contract_end_items (run, state, recording);`,
	// 6: recordings whose channels received no RTP packet (the file holds
	// silence there): the channels, comma-separated (caller, agent), ''
	// when both had audio. Rows stored before it say ''.
	`ALTER TABLE recordings ADD COLUMN silent_channels TEXT NOT NULL DEFAULT '';`,
	// 7: caller_withheld: the caller withheld the number (Privacy id or user
	// from a trunk trusted to assert identity); the API shows "withheld"
	// instead of it to all but privacy officers, while data-subject
	// requests still find the recording by it.
	`ALTER TABLE recordings ADD COLUMN caller_withheld INTEGER NOT NULL DEFAULT 0;`,
	// 8: who took the call as the agent platform named them in its answer
	// (a line's agent_identity), '' when it did not; searched exactly,
	// by supervisors, page by page like the other filters. Rows stored
	// before it say ''.
	`ALTER TABLE recordings ADD COLUMN agent_id TEXT NOT NULL DEFAULT '';
	CREATE INDEX recordings_agent_id_started_id ON recordings (agent_id, started_at, id);`,
	// 9: the erasure ledger: for each number an erasure request erased, a
	// keyed hash of it (never the number) and when. A recording of that
	// number from a call begun before then — one in the spool or a call in
	// progress at the erasure — is destroyed when it reaches the uploader
	// instead of being stored (see ErasedSince).
	`CREATE TABLE erasures (
		number_mac TEXT NOT NULL,
		erased_at  BIGINT NOT NULL,
		request    TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX erasures_mac ON erasures (number_mac, erased_at);`,
	// 10: recordings stored in a format cheaper to encode than their
	// purpose's, awaiting the background transcoder: the format and
	// bitrate to convert to, the object a conversion put (so that one
	// interrupted deletes it or finishes), and, once the row was
	// switched, the old object still to destroy (see transcode.go).
	`CREATE TABLE transcodes (
		id        TEXT PRIMARY KEY,
		format    TEXT NOT NULL,
		bitrate   INTEGER NOT NULL DEFAULT 0,
		queued_at BIGINT NOT NULL,
		new_key   TEXT NOT NULL DEFAULT '',
		old_key   TEXT NOT NULL DEFAULT '',
		attempts  INTEGER NOT NULL DEFAULT 0,
		error     TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX transcodes_queued ON transcodes (queued_at, id);`,
	// 11: notes on recordings: a supervisor's timestamped comment (at a
	// point of the audio, or on the whole), destroyed with the recording
	// (Tombstone deletes them in the same transaction).
	`CREATE TABLE notes (
		id         TEXT PRIMARY KEY,
		recording  TEXT NOT NULL,
		offset_ms  BIGINT NOT NULL DEFAULT -1,
		author     TEXT NOT NULL,
		body       TEXT NOT NULL,
		created_at BIGINT NOT NULL
	);
	CREATE INDEX notes_recording ON notes (recording, created_at, id);`,
	// 12: the webhook outbox: each event about a recording, written in the
	// transaction that made the change it reports (or right after it),
	// until the endpoint has taken it (then deleted) or it is given up
	// (state 'dead', kept for the operator). next_at is when it is next
	// due, moved on by each try and by a claim (see ClaimOutbox).
	`CREATE TABLE webhook_outbox (
		id         TEXT PRIMARY KEY,
		recording  TEXT NOT NULL,
		type       TEXT NOT NULL,
		body       TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		state      TEXT NOT NULL,
		tries      INTEGER NOT NULL DEFAULT 0,
		next_at    BIGINT NOT NULL,
		last_error TEXT NOT NULL DEFAULT '',
		dead_at    BIGINT
	);
	CREATE INDEX webhook_outbox_due ON webhook_outbox (state, next_at);
	CREATE INDEX webhook_outbox_recording ON webhook_outbox (recording);`,
	// 13: the stop-of-use ledger: for each number a stop-of-use request
	// restricted, a keyed hash of it (as the erasure ledger's) and when;
	// resumed_at once a resume-use request lifted it. A recording of that
	// number from a call begun before the stop — one in a spool or a call
	// in progress then — is stored restricted (see StoppedSince).
	`CREATE TABLE stop_uses (
		number_mac TEXT NOT NULL,
		stopped_at BIGINT NOT NULL,
		request    TEXT NOT NULL DEFAULT '',
		resumed_at BIGINT
	);
	CREATE INDEX stop_uses_mac ON stop_uses (number_mac, stopped_at);`,
}

// blobType matches the SQLite column type that PostgreSQL calls BYTEA.
var blobType = regexp.MustCompile(`\bBLOB\b`)

// dialect returns migration m as c's database takes it. The migrations
// are written once, in SQL both take, except for the type of byte
// columns: BLOB in SQLite, BYTEA in PostgreSQL.
func (c *Catalog) dialect(m string) string {
	if c.driver == Postgres {
		return blobType.ReplaceAllString(m, "BYTEA")
	}
	return m
}

// migrate brings the schema to the current version. Each step reads the
// version inside its (serialised) write transaction, so that nodes
// starting together apply each migration once.
func (c *Catalog) migrate(ctx context.Context) error {
	err := c.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("catalog: migrations table: %w", err)
	}
	for {
		applied := 0
		err := c.Tx(ctx, func(tx *sql.Tx) error {
			var have int
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
				return fmt.Errorf("catalog: schema version: %w", err)
			}
			if have > len(migrations) {
				return fmt.Errorf("catalog: schema version %d is newer than this kirokud knows (%d)", have, len(migrations))
			}
			if have == len(migrations) {
				return nil
			}
			v := have + 1
			if _, err := tx.ExecContext(ctx, c.dialect(migrations[v-1])); err != nil {
				return fmt.Errorf("catalog: migration %d: %w", v, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, v); err != nil {
				return fmt.Errorf("catalog: migration %d: %w", v, err)
			}
			applied = v
			return nil
		})
		if err != nil || applied == 0 {
			return err
		}
	}
}
