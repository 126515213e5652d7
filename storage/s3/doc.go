// Package s3 is the blob store on any S3-compatible service (AWS S3,
// MinIO, Ceph RGW, versitygw) through minio-go. Objects keep their tags
// as S3 object tags and their metadata as x-amz-meta-* headers, and are
// uploaded in one PUT whose SHA-256 the service checks
// (x-amz-checksum-sha256), so a stored object is the one that was meant.
//
// With Options.ObjectLock, uploads carry retention until
// PutOptions.RetainUntil, SetLegalHold sets S3 legal holds, and Delete
// removes every version of a key so that the service's locks decide
// (storage.ErrLocked) rather than a delete marker hiding a locked object.
//
// The secret key never reaches an error, a log or a printout: it is a
// Secret, which prints as "<secret>".
//
// It must not know purposes or SIP.
//
// It must not import catalog, spool or sip.
package s3
