// Package upload drains the spool into the store: each finished call's
// audio is sealed with its own data key, put with its SHA-256 (the store
// refuses a mismatch), checked by what the store then reports, indexed in
// the catalog with an audit entry in the same transaction, and only then
// removed from the spool. While the store is down it retries forever with
// capped exponential back-off and jitter; calls go on and the spool grows.
// A restart resumes; an upload cut by kill -9 is redone to the same keys,
// so nothing is lost and nothing is stored twice.
//
// It is a client of package recording, which names the objects (Keys),
// tags them (Tags) and seals the manifest stored beside the audio
// (SealManifest), and of package spool, which lists the finished calls
// and removes them. It must not be imported to read or destroy stored
// recordings (package recording does both); only the daemon that runs
// it, and tests, import it.
package upload
