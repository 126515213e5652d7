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
	c := cfg.Storage.S3
	opts := s3.Options{Endpoint: c.Endpoint, Bucket: c.Bucket, Region: c.Region, UseTLS: c.TLS, CAFile: c.CAFile,
		ObjectLock: c.ObjectLock != "", LockMode: c.ObjectLock}
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
