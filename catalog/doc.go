// Package catalog indexes recordings: who called which line for which
// purpose, the consent evidence, where the audio is stored, its checksum,
// retention date, legal hold, state, and the wrapped key that opens it;
// and the tombstones of deleted recordings. The embedded default is a
// SQLite file (modernc.org/sqlite, no cgo) in WAL mode; the SQL is kept to
// what PostgreSQL also takes, so a second implementation can follow.
//
// It must not hold policy: retention dates, holds and states are set by
// the packages that decide them.
package catalog
