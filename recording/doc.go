// Package recording owns a stored recording: the object keys and tags of
// its audio and manifest, the manifest as sealed beside the audio,
// opening and decrypting the audio by byte range, rebuilding the catalog
// from the bucket, and the one way to destroy a recording (Destroyer:
// tombstone and audit entry in one catalog transaction, and deletion of
// its objects), which the purge, erasure and contract end all use.
//
// The uploader (storage/upload) is its client: it stores what this
// package names and seals. Policy packages (retention, rights, contract)
// and the API read and destroy recordings through it, never through the
// uploader.
//
// It must not speak HTTP or SIP, decide policy (who may destroy what, and
// when, is its callers' decision), write SQL (the catalog does) or walk
// the spool (the spool does).
package recording
