// Package fs is the embedded default blob store: objects are files in a
// local folder, laid out like the S3 bucket (the key is the path under
// the folder), so that the folder can be copied to a bucket as it is.
//
// Each object has a sidecar file "<key>.meta.json" beside it holding its
// SHA-256, tags, metadata and content type; List hides sidecars and the
// temporary files of uploads in progress. Writes are atomic (a temporary
// file in the same folder, fsync, rename, fsync of the folder), so a
// reader sees a whole object or none, and a crash leaves at worst a
// temporary file that the next Put in that folder does not mind.
//
// Unlike S3, a key cannot be both an object and the folder of other
// keys ("a/b" and "a/b/c"): Put refuses the second with an error saying
// so. Object Lock does not exist here: RetainUntil is ignored and
// SetLegalHold does nothing.
//
// It must not know purposes or SIP.
//
// It must not import catalog, spool or sip.
package fs
