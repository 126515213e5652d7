// Package audit is Kiroku's append-only, hash-chained audit log. Each entry
// carries the hash of the one before it; its own hash is SHA-256 over its
// canonical form, so an edited, deleted, inserted or reordered entry breaks
// the chain at a place Verify names. Entries are appended by the code path
// that acts, in its transaction where it has one. The chain head survives
// restarts (it is the last row).
//
// It stays one chain across kirokud nodes sharing a PostgreSQL catalog:
// the catalog serialises write transactions (an advisory lock taken first
// by each on PostgreSQL, the write lock on SQLite), so no two appends
// extend the same head, while reads never wait for them.
//
// Checkpoint signs the head into a small object beside the recordings so
// that a rewrite of the whole database is detectable too.
//
// Nothing may read or delete recordings without passing through here.
//
// It must not import catalog, storage/..., sip or httpapi.
package audit
