// Package spool owns the local, crash-safe folder where each call leaves
// its manifest (and, once recorded, its audio) until the uploader has
// stored it. Every write is atomic and fsynced: a reader finds either the
// old manifest or the new one, never half of one.
//
// It must not know SIP, media or the store: callers fill a Manifest, the
// spool keeps it safe.
package spool
