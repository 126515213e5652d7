package daemon

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/s3"
)

// buildS3 builds the S3 store without reaching the service (it checks
// the bucket on first use); credentials come from the credentials file
// or the environment, never from the configuration itself.
func buildS3(cfg *config.Config) (storage.Store, error) {
	opts, err := s3Options(cfg, cfg.Storage.S3.Bucket, true)
	if err != nil {
		return nil, err
	}
	st, err := s3.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return st, nil
}

// openS3Bucket opens and checks a store on bucket of the configured S3
// service with the configured credentials, without Object Lock (a
// contract-end return copy goes there).
func openS3Bucket(ctx context.Context, cfg *config.Config, bucket string) (storage.Store, error) {
	opts, err := s3Options(cfg, bucket, false)
	if err != nil {
		return nil, err
	}
	st, err := s3.New(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return st, nil
}

// s3Options are the configured service's options for bucket; lock uses
// the configured Object Lock.
func s3Options(cfg *config.Config, bucket string, lock bool) (s3.Options, error) {
	c := cfg.Storage.S3
	opts := s3.Options{Endpoint: c.Endpoint, Bucket: bucket, Region: c.Region, UseTLS: c.TLS, CAFile: c.CAFile}
	if lock {
		opts.ObjectLock, opts.LockMode = c.ObjectLock != "", c.ObjectLock
	}
	if c.CredentialsFile != "" {
		b, err := os.ReadFile(c.CredentialsFile)
		if err != nil {
			return opts, fmt.Errorf("storage.s3.credentials_file: %w", err)
		}
		ak, sk, ok := strings.Cut(strings.TrimSpace(string(b)), ":")
		if !ok || ak == "" || sk == "" {
			return opts, fmt.Errorf("storage.s3.credentials_file %s: want one line ACCESS_KEY:SECRET_KEY", c.CredentialsFile)
		}
		opts.AccessKey, opts.SecretKey = ak, s3.Secret(sk)
	}
	return opts, nil
}
