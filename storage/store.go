package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors a Store returns for decisions (test with errors.Is).
var (
	ErrNotFound = errors.New("object not found")
	// ErrLocked is returned when the store refuses to delete an object
	// under retention or legal hold (S3 Object Lock).
	ErrLocked = errors.New("object is locked")
	// ErrInvalidRange is returned by Get for an offset past the end.
	ErrInvalidRange = errors.New("invalid range")
	// ErrUnavailable is wrapped by a store that could not reach its
	// service (refused, reset, timed out): a state to wait out, unlike an
	// answer that the bucket or the credentials are wrong.
	ErrUnavailable = errors.New("store unavailable")
)

// Object describes a stored object.
type Object struct {
	Key      string
	Size     int64
	Modified time.Time
	// SHA256 is the hex SHA-256 of the stored bytes, as the store confirms
	// it (S3 checksum or the fs backend's own record); empty if unknown.
	SHA256 string
	Tags   map[string]string
	Meta   map[string]string
}

// PutOptions go with an upload.
type PutOptions struct {
	ContentType string
	Meta        map[string]string // user metadata (S3 x-amz-meta-*)
	Tags        map[string]string // object tags (S3 tagging), e.g. purpose, retain-until
	// SHA256 is the hex SHA-256 of the bytes being put. The store checks
	// it and refuses the upload on mismatch, so a stored object is always
	// the one that was meant.
	SHA256 string
	// RetainUntil, when not zero, asks for S3 Object Lock retention up to
	// that time where the bucket supports it (ignored by fs).
	RetainUntil time.Time
}

// DeleteResult is the outcome of deleting one key.
type DeleteResult struct {
	Key string
	Err error // nil when deleted or already absent
}

// Store is a blob store. Keys are slash-separated paths without a leading
// slash, "..", or empty segments.
type Store interface {
	// Put stores size bytes from r under key, atomically: readers see the
	// whole new object or none of it.
	Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (Object, error)
	// Get reads length bytes from offset (length < 0: to the end).
	Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// Stat describes key, with its tags and metadata.
	Stat(ctx context.Context, key string) (Object, error)
	// Delete removes keys in batches (S3: 1,000 a request); an absent key
	// is not an error. The result has one entry per key, in order.
	Delete(ctx context.Context, keys []string) []DeleteResult
	// List calls fn for every object whose key starts with prefix, in key
	// order, until fn returns an error (which List returns).
	List(ctx context.Context, prefix string, fn func(Object) error) error
	// SetTags replaces key's tags.
	SetTags(ctx context.Context, key string, tags map[string]string) error
	// SetLegalHold sets or clears an S3 Object Lock legal hold where the
	// bucket supports it; it returns nil without effect elsewhere.
	SetLegalHold(ctx context.Context, key string, on bool) error
	// Close releases the store's resources.
	Close() error
}
