// Package storage defines Kiroku's blob store, the one interface the
// uploader, retention and the API use to keep recordings, and holds its
// implementations: fs (a local folder, the embedded default) and s3 (any
// S3-compatible service through minio-go). Subpackages add client-side
// envelope encryption (crypt) and the spool uploader (upload).
//
// It must not know purposes or SIP: keys, bytes, tags and metadata are all
// it deals in.
//
// It must not import catalog, spool, sip or media.
package storage
