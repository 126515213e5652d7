// Package contract ends a client's contract: it returns every recording
// of the client's lines (decrypted audio, a manifest, checksums) to a
// target the client receives — a ZIP stream or a copy into another S3
// bucket — verifies the copy (read back, or confirmed by the recipient's
// checksums), destroys the originals by crypto-shredding and deletion
// (legal holds honoured: listed, not destroyed), and certifies what it
// did with the audit sequence numbers covering it. Progress is kept per
// recording in the catalog, so an interrupted run resumes without ever
// destroying a recording whose copy was not verified.
//
// The originals are destroyed through recording.Destroyer, as every
// deletion is.
//
// It must not speak HTTP, nor bypass the audit log: every step is an
// entry. It must not import storage/upload (stored recordings are opened
// and destroyed through package recording), write SQL (the catalog does)
// or walk the spool.
package contract
