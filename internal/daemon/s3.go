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

// openS3 builds the S3 store; credentials come from the credentials file
// or the environment, never from the configuration itself.
func openS3(ctx context.Context, cfg *config.Config) (storage.Store, error) {
	return openS3Bucket(ctx, cfg, cfg.Storage.S3.Bucket, true)
}

// openS3Bucket builds a store on bucket of the configured S3 service
// with the configured credentials; lock uses the configured Object Lock
// (a contract-end return copy goes to a bucket without it).
func openS3Bucket(ctx context.Context, cfg *config.Config, bucket string, lock bool) (storage.Store, error) {
	c := cfg.Storage.S3
	opts := s3.Options{Endpoint: c.Endpoint, Bucket: bucket, Region: c.Region, UseTLS: c.TLS, CAFile: c.CAFile}
	if lock {
		opts.ObjectLock, opts.LockMode = c.ObjectLock != "", c.ObjectLock
	}
	if c.CredentialsFile != "" {
		b, err := os.ReadFile(c.CredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("storage.s3.credentials_file: %w", err)
		}
		ak, sk, ok := strings.Cut(strings.TrimSpace(string(b)), ":")
		if !ok || ak == "" || sk == "" {
			return nil, fmt.Errorf("storage.s3.credentials_file %s: want one line ACCESS_KEY:SECRET_KEY", c.CredentialsFile)
		}
		opts.AccessKey, opts.SecretKey = ak, s3.Secret(sk)
	}
	st, err := s3.New(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return st, nil
}
