package s3

import (
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"

	"github.com/kiroku-voice/kiroku/storage"
)

// List calls fn for every object whose key starts with prefix, in the
// order the service lists them (byte order of keys on S3), until fn
// returns an error, which List returns. The objects carry Key, Size and
// Modified; Stat gives the rest.
func (s *Store) List(ctx context.Context, prefix string, fn func(storage.Object) error) error {
	if err := storage.CheckPrefix(prefix); err != nil {
		return fmt.Errorf("list: %w", err)
	}
	if err := s.Check(ctx); err != nil {
		return fmt.Errorf("list %s: %w", prefix, err)
	}
	// Cancelling stops minio-go's listing goroutine when fn stops early.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return fmt.Errorf("list %q: %w", prefix, mapErr(o.Err))
		}
		if err := fn(storage.Object{Key: o.Key, Size: o.Size, Modified: o.LastModified}); err != nil {
			return err
		}
	}
	// A cancelled context closes the listing without an error.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	return nil
}
