// Package catalog indexes recordings: who called which line for which
// purpose, the consent evidence, where the audio is stored, its checksum,
// retention date, legal hold, state, and the wrapped key that opens it;
// and the tombstones of deleted recordings.
//
// Two databases hold it, behind the same *sql.DB and *sql.Tx: a SQLite
// file (modernc.org/sqlite, no cgo, WAL mode; the embedded default, one
// node) and PostgreSQL (pgx through database/sql; several nodes sharing
// it). The SQL is written once, with ? placeholders, in what both take;
// the PostgreSQL connection rebinds the placeholders and serialises write
// transactions across nodes (pgConn), and the migrations differ only in
// the name of the byte type (dialect). TryLock elects one holder for a
// job such as the purge, and ClaimRun lets one node run each scheduled
// activation of it.
//
// Every SQL statement on its tables is here (the audit package writes the
// audit table through the same Querier): other packages call named
// functions and methods such as DueCounts or Rows, never the database.
//
// It must not hold policy: retention dates, holds and states are set by
// the packages that decide them.
package catalog
