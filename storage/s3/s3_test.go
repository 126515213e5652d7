package s3

import (
	"testing"

	"github.com/kiroku-voice/kiroku/internal/testenv/s3test"
	"github.com/kiroku-voice/kiroku/storage"
	"github.com/kiroku-voice/kiroku/storage/storetest"
)

// newStore starts a server as srvOpts say and connects a store to it.
func newStore(t *testing.T, srvOpts s3test.Options) (*Store, *s3test.Server) {
	t.Helper()
	srv := s3test.StartWith(t, srvOpts)
	s, err := New(t.Context(), options(srv, srvOpts.ObjectLock))
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s, srv
}

// options are the store's options for srv.
func options(srv *s3test.Server, lock bool) Options {
	return Options{
		Endpoint:   srv.Endpoint,
		Bucket:     srv.Bucket,
		Region:     srv.Region,
		UseTLS:     srv.CAFile != "",
		CAFile:     srv.CAFile,
		AccessKey:  srv.AccessKey,
		SecretKey:  Secret(srv.SecretKey),
		ObjectLock: lock,
	}
}

func TestContract(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts s3test.Options
	}{
		{"plain", s3test.Options{}},
		// Deletes go version by version in a versioned bucket.
		{"object lock versioned", s3test.Options{ObjectLock: true, Versioning: true}},
		// Puts carry a trailing checksum when the SHA-256 is not known
		// in advance.
		{"tls", s3test.Options{TLS: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, func(t *testing.T) storage.Store {
				s, _ := newStore(t, tt.opts)
				return s
			})
		})
	}
}
