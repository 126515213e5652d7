package s3

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/kiroku-voice/kiroku/storage"
)

// Get reads length bytes of key from offset, or to the end when length
// is negative, with one ranged GET; a length past the end stops at the
// end. An offset past the end is storage.ErrInvalidRange; an offset at
// the end gives no bytes. Errors of the request come back from Get, not
// from the first Read.
func (s *Store) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := storage.CheckKey(key); err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	if err := s.Check(ctx); err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	if offset < 0 {
		return nil, fmt.Errorf("get %s: negative offset %d: %w", key, offset, storage.ErrInvalidRange)
	}
	if length == 0 {
		return s.empty(ctx, key, offset)
	}
	var opts minio.GetObjectOptions
	switch {
	case length > 0:
		err := opts.SetRange(offset, offset+length-1)
		if err != nil {
			return nil, fmt.Errorf("get %s: %w", key, err)
		}
	case offset > 0:
		err := opts.SetRange(offset, 0)
		if err != nil {
			return nil, fmt.Errorf("get %s: %w", key, err)
		}
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, opts)
	if err == nil {
		// Stat sends the GET and keeps its body for Read.
		_, err = obj.Stat()
	}
	if err != nil {
		if obj != nil {
			_ = obj.Close()
		}
		err = mapErr(err)
		if errors.Is(err, storage.ErrInvalidRange) {
			// S3 refuses a range that starts at the end too; that one
			// is no error here, but an empty read.
			return s.empty(ctx, key, offset)
		}
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return obj, nil
}

// empty returns no bytes if key exists and offset is not past its end.
func (s *Store) empty(ctx context.Context, key string, offset int64) (io.ReadCloser, error) {
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, mapErr(err))
	}
	if offset > info.Size {
		return nil, fmt.Errorf("get %s: offset %d past size %d: %w", key, offset, info.Size, storage.ErrInvalidRange)
	}
	return io.NopCloser(strings.NewReader("")), nil
}

// Stat describes key with its tags, metadata and the SHA-256 the
// service keeps for it (empty for an object uploaded without one, or in
// parts by another client).
func (s *Store) Stat(ctx context.Context, key string) (storage.Object, error) {
	if err := storage.CheckKey(key); err != nil {
		return storage.Object{}, fmt.Errorf("stat: %w", err)
	}
	if err := s.Check(ctx); err != nil {
		return storage.Object{}, fmt.Errorf("stat %s: %w", key, err)
	}
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{Checksum: true})
	if err != nil {
		return storage.Object{}, fmt.Errorf("stat %s: %w", key, mapErr(err))
	}
	t, err := s.client.GetObjectTagging(ctx, s.bucket, key, minio.GetObjectTaggingOptions{})
	if err != nil {
		return storage.Object{}, fmt.Errorf("stat %s: tags: %w", key, mapErr(err))
	}
	return storage.Object{
		Key:      key,
		Size:     info.Size,
		Modified: info.LastModified,
		SHA256:   fullSHA256(info),
		Tags:     cloneMap(t.ToMap()),
		Meta:     lowerKeys(info.UserMetadata),
	}, nil
}

// fullSHA256 returns the hex SHA-256 of the whole object if the service
// has it; a multipart upload's checksum is one of the parts' checksums.
func fullSHA256(info minio.ObjectInfo) string {
	if info.ChecksumMode == "COMPOSITE" || strings.Contains(info.ChecksumSHA256, "-") {
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(info.ChecksumSHA256)
	if err != nil || len(b) != sha256.Size {
		return ""
	}
	return hex.EncodeToString(b)
}
