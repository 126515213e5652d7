package s3

import (
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/tags"

	"github.com/kiroku-voice/kiroku/storage"
)

// SetTags replaces key's tags (none with an empty map).
func (s *Store) SetTags(ctx context.Context, key string, m map[string]string) error {
	if err := storage.CheckKey(key); err != nil {
		return fmt.Errorf("set tags: %w", err)
	}
	if err := s.Check(ctx); err != nil {
		return fmt.Errorf("set tags %s: %w", key, err)
	}
	t, err := tags.NewTags(m, true)
	if err != nil {
		return fmt.Errorf("set tags %s: %w", key, err)
	}
	// Make sure key is an object: versitygw's posix backend would tag
	// the folder "a" of an object "a/b" too.
	if _, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{}); err != nil {
		return fmt.Errorf("set tags %s: %w", key, mapErr(err))
	}
	if len(m) == 0 {
		err = s.client.RemoveObjectTagging(ctx, s.bucket, key, minio.RemoveObjectTaggingOptions{})
	} else {
		err = s.client.PutObjectTagging(ctx, s.bucket, key, t, minio.PutObjectTaggingOptions{})
	}
	if err != nil {
		return fmt.Errorf("set tags %s: %w", key, mapErr(err))
	}
	return nil
}

// SetLegalHold sets or clears key's legal hold when the store uses
// Object Lock, and does nothing otherwise.
func (s *Store) SetLegalHold(ctx context.Context, key string, on bool) error {
	if !s.lock {
		return nil
	}
	if err := s.Check(ctx); err != nil {
		return fmt.Errorf("legal hold %s: %w", key, err)
	}
	if err := storage.CheckKey(key); err != nil {
		return fmt.Errorf("legal hold: %w", err)
	}
	status := minio.LegalHoldDisabled
	if on {
		status = minio.LegalHoldEnabled
	}
	err := s.client.PutObjectLegalHold(ctx, s.bucket, key, minio.PutObjectLegalHoldOptions{Status: &status})
	if err != nil {
		return fmt.Errorf("legal hold %s: %w", key, mapErr(err))
	}
	return nil
}
