package s3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/kiroku-voice/kiroku/storage"
)

// Options say where the bucket is and how to reach it.
type Options struct {
	// Endpoint is the service's "host:port", without a scheme.
	Endpoint string
	// Bucket must exist; New checks.
	Bucket string
	// Region is the bucket's region; empty lets minio-go ask.
	Region string
	// UseTLS speaks HTTPS.
	UseTLS bool
	// CAFile is a PEM file of the certificates to trust for HTTPS
	// instead of the system's.
	CAFile string
	// AccessKey and SecretKey sign requests; when both are empty, New
	// takes them from the environment (CredentialsFromEnv).
	AccessKey string
	SecretKey Secret
	// ObjectLock uses the bucket's S3 Object Lock: retention on upload,
	// legal holds, and deletes by version. The bucket must have it.
	ObjectLock bool
	// LockMode is the retention mode, "GOVERNANCE" (the default) or
	// "COMPLIANCE" (which not even the bucket's owner can lift).
	LockMode string
}

// Retention modes of Options.LockMode.
const (
	Governance = "GOVERNANCE"
	Compliance = "COMPLIANCE"
)

// Store is a blob store in an S3 bucket. It is safe for concurrent use.
type Store struct {
	client    *minio.Client
	transport *http.Transport
	bucket    string
	endpoint  string
	secure    bool
	lock      bool
	lockMode  minio.RetentionMode
	// versioned makes Delete remove keys version by version: a plain
	// delete in a versioned bucket only adds a delete marker, which no
	// lock refuses and which leaves the bytes in place.
	versioned bool

	// checkMu guards checked and versioned: the bucket is checked once,
	// by Check or by the first operation, whichever comes first.
	checkMu sync.Mutex
	checked atomic.Bool

	closeOnce sync.Once
}

// New connects to the service and checks that the bucket exists (and
// has Object Lock if opts.ObjectLock). Its errors name the endpoint and
// bucket, never the credentials.
func New(ctx context.Context, opts Options) (*Store, error) {
	s, err := Open(opts)
	if err != nil {
		return nil, err
	}
	if err := s.Check(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Open builds a store without touching the network: the bucket is
// checked by Check, or by the first operation that needs it. A daemon
// uses it to take calls while the service is down or hung.
func Open(opts Options) (*Store, error) {
	if err := opts.check(); err != nil {
		return nil, fmt.Errorf("s3 store: %w", err)
	}
	if opts.AccessKey == "" && opts.SecretKey == "" {
		opts.AccessKey, opts.SecretKey = CredentialsFromEnv()
	}
	switch {
	case opts.AccessKey == "" && opts.SecretKey == "":
		return nil, fmt.Errorf("s3 store: no credentials: set the access and secret keys or %s and %s", EnvAccessKey, EnvSecretKey)
	case opts.AccessKey == "":
		return nil, errors.New("s3 store: secret key without access key")
	case opts.SecretKey == "":
		return nil, errors.New("s3 store: access key without secret key")
	}

	transport, err := minio.DefaultTransport(opts.UseTLS)
	if err != nil {
		return nil, fmt.Errorf("s3 store: %w", err)
	}
	if opts.CAFile != "" {
		pool, err := loadCAs(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("s3 store: %w", err)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	client, err := minio.New(opts.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(opts.AccessKey, string(opts.SecretKey), ""),
		Secure:    opts.UseTLS,
		Region:    opts.Region,
		Transport: transport,
		// Lets a PUT carry x-amz-checksum-sha256 (minio-go refuses
		// checksum headers without it).
		TrailingHeaders: true,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 store: endpoint %s: %w", opts.Endpoint, err)
	}
	s := &Store{
		client:    client,
		transport: transport,
		bucket:    opts.Bucket,
		endpoint:  opts.Endpoint,
		secure:    opts.UseTLS,
		lock:      opts.ObjectLock,
		lockMode:  minio.RetentionMode(strings.ToUpper(opts.LockMode)),
	}
	if s.lockMode == "" {
		s.lockMode = Governance
	}
	return s, nil
}

// Check makes sure the bucket is there and, when Object Lock was asked
// for, has it; it learns whether the bucket is versioned. Once it has
// succeeded it returns nil at once. When the service cannot be reached
// (refused, reset, timed out, ctx ended) its error wraps
// storage.ErrUnavailable; an answer that the bucket is missing or lacks
// Object Lock, or a refusal of the credentials, does not.
func (s *Store) Check(ctx context.Context) error {
	if s.checked.Load() {
		return nil
	}
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	if s.checked.Load() {
		return nil
	}
	if err := s.checkBucket(ctx); err != nil {
		return fmt.Errorf("s3 store: %w", err)
	}
	s.checked.Store(true)
	return nil
}

// unavailable wraps err with storage.ErrUnavailable unless the service
// answered it.
func unavailable(err error) error {
	if minio.ToErrorResponse(err).StatusCode != 0 {
		return err
	}
	return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
}

// check validates the options that need no connection.
func (o *Options) check() error {
	if o.Endpoint == "" {
		return errors.New("no endpoint")
	}
	if strings.Contains(o.Endpoint, "://") {
		return fmt.Errorf("endpoint %q: want host:port without a scheme (UseTLS chooses https)", o.Endpoint)
	}
	if _, _, err := net.SplitHostPort(o.Endpoint); err != nil {
		return fmt.Errorf("endpoint %q: want host:port: %w", o.Endpoint, err)
	}
	if o.Bucket == "" {
		return errors.New("no bucket")
	}
	if o.CAFile != "" && !o.UseTLS {
		return fmt.Errorf("CA file %s given but TLS is off", o.CAFile)
	}
	switch strings.ToUpper(o.LockMode) {
	case "", Governance, Compliance:
	default:
		return fmt.Errorf("lock mode %q: want %s or %s", o.LockMode, Governance, Compliance)
	}
	return nil
}

func loadCAs(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s: no PEM certificate", file)
	}
	return pool, nil
}

// checkBucket makes sure the bucket is there and, when asked to use
// Object Lock, has it; it also learns whether the bucket is versioned.
func (s *Store) checkBucket(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("bucket %q at %s: %w", s.bucket, s.endpoint, unavailable(err))
	}
	if !ok {
		return fmt.Errorf("bucket %q not found at %s", s.bucket, s.endpoint)
	}
	if s.lock {
		enabled, _, _, _, err := s.client.GetObjectLockConfig(ctx, s.bucket)
		if err != nil {
			if minio.ToErrorResponse(err).StatusCode == 0 {
				return fmt.Errorf("bucket %q at %s: Object Lock: %w", s.bucket, s.endpoint, unavailable(err))
			}
			return fmt.Errorf("bucket %q at %s has no Object Lock: %w", s.bucket, s.endpoint, err)
		}
		if enabled != "Enabled" {
			return fmt.Errorf("bucket %q at %s has no Object Lock", s.bucket, s.endpoint)
		}
	}
	cfg, err := s.client.GetBucketVersioning(ctx, s.bucket)
	switch {
	case err != nil && minio.ToErrorResponse(err).StatusCode == 0:
		return fmt.Errorf("bucket %q at %s: versioning: %w", s.bucket, s.endpoint, unavailable(err))
	case err == nil:
		s.versioned = cfg.Enabled() || cfg.Suspended()
	default:
		// Object Lock needs versioning on AWS and MinIO; a service that
		// will not say is taken to follow them.
		s.versioned = s.lock
	}
	return nil
}

// Close closes idle connections. It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(s.transport.CloseIdleConnections)
	return nil
}

// mapErr turns the service's answers that are decisions into the
// storage sentinels, keeping the original error in the chain.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	var sentinel error
	switch {
	case resp.Code == minio.NoSuchKey, resp.Code == minio.NoSuchVersion:
		sentinel = storage.ErrNotFound
	case resp.Code == minio.InvalidRange, resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		// versitygw answers 416 without a body, hence the status.
		sentinel = storage.ErrInvalidRange
	case locked(resp):
		sentinel = storage.ErrLocked
	case resp.Code == "BadDigest", resp.Code == "XAmzContentChecksumMismatch", resp.Code == "InvalidDigest":
		sentinel = storage.ErrChecksumMismatch
	default:
		return err
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}

// locked reports whether the service refused a write or delete because
// of Object Lock. AWS and versitygw say AccessDenied "... because object
// protected by object lock"; MinIO says InvalidRequest "Object is WORM
// protected ..." — the code alone would take a missing permission for a
// lock.
func locked(resp minio.ErrorResponse) bool {
	msg := strings.ToLower(resp.Message)
	switch resp.Code {
	case "AccessDenied":
		return strings.Contains(msg, "object lock")
	case "InvalidRequest", "ObjectLocked":
		return strings.Contains(msg, "worm") || strings.Contains(msg, "object lock") || resp.Code == "ObjectLocked"
	}
	return false
}
