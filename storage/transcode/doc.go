// Package transcode converts stored recordings to their purpose's format
// in the background: the uploader stores a recording whose purpose's
// flac or opus it should not spend the spool's time on in a format
// cheaper to encode (g711 or pcm) and queues it in the catalog; the
// Transcoder, one worker at a bounded share of a CPU, decrypts the
// stored object, encodes it, puts the new object sealed under the
// recording's own data key with its SHA-256, verifies it, switches the
// catalog row to it with an audit entry in one transaction, rewrites the
// stored manifest, and destroys the old object through the recording
// package's one destroy path. Every step is resumable from the queue.
//
// It never converts a recording that is held, restricted, being purged
// or gone: such a one keeps its stored object, and a conversion that
// finds it so deletes what it put.
//
// It reads the manifest as the spool wrote it (spool.Manifest), and walks
// no spool. It must not import sip, storage/upload, httpapi or internal/config.
package transcode
