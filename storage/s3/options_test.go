package s3

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/kiroku-voice/kiroku/internal/testenv/s3test"
	"github.com/kiroku-voice/kiroku/storage"
)

const secretValue = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

func TestSecretNeverPrinted(t *testing.T) {
	t.Parallel()
	opts := Options{Endpoint: "127.0.0.1:9000", Bucket: "b", AccessKey: "AKIA", SecretKey: secretValue}
	j, err := json.Marshal(opts)
	if err != nil {
		t.Fatal(err)
	}
	const hexRedacted = "3c7365637265743e" // "<secret>" in hex
	for _, tt := range []struct {
		name, got, want string
	}{
		{"%s", fmt.Sprintf("%s", opts.SecretKey), "<secret>"},
		{"%v", fmt.Sprintf("%v", opts.SecretKey), "<secret>"},
		{"%q", fmt.Sprintf("%q", opts.SecretKey), `"<secret>"`},
		{"%x", fmt.Sprintf("%x", opts.SecretKey), hexRedacted},
		{"%#v", fmt.Sprintf("%#v", opts.SecretKey), "<secret>"},
		{"options %v", fmt.Sprintf("%v", opts), "<secret>"},
		{"options %+v", fmt.Sprintf("%+v", opts), "SecretKey:<secret>"},
		{"options %#v", fmt.Sprintf("%#v", opts), "SecretKey:<secret>"},
		{"options pointer %+v", fmt.Sprintf("%+v", &opts), "SecretKey:<secret>"},
		{"json", string(j), `"SecretKey":"\u003csecret\u003e"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.got, secretValue) || strings.Contains(tt.got, fmt.Sprintf("%x", secretValue)) {
				t.Errorf("got %s, which holds the secret", tt.got)
			}
			if !strings.Contains(tt.got, tt.want) {
				t.Errorf("got %s, want %s in it", tt.got, tt.want)
			}
		})
	}
	if string(opts.SecretKey) != secretValue {
		t.Errorf("string(secret) lost the value")
	}
}

func TestNewRefusesOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := Options{Endpoint: "127.0.0.1:9", Bucket: "b", AccessKey: "a", SecretKey: secretValue}
	for _, tt := range []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"no endpoint", func(o *Options) { o.Endpoint = "" }, "no endpoint"},
		{"scheme", func(o *Options) { o.Endpoint = "https://s3.example.com:443" }, "without a scheme"},
		{"no port", func(o *Options) { o.Endpoint = "s3.example.com" }, "want host:port"},
		{"no bucket", func(o *Options) { o.Bucket = "" }, "no bucket"},
		{"CA without TLS", func(o *Options) { o.CAFile = notPEM }, "TLS is off"},
		{"CA missing", func(o *Options) { o.UseTLS, o.CAFile = true, filepath.Join(dir, "none.pem") }, "CA file"},
		{"CA not PEM", func(o *Options) { o.UseTLS, o.CAFile = true, notPEM }, "no PEM certificate"},
		{"lock mode", func(o *Options) { o.LockMode = "STRICT" }, `lock mode "STRICT"`},
		{"no access key", func(o *Options) { o.AccessKey = "" }, "secret key without access key"},
		{"no secret key", func(o *Options) { o.SecretKey = "" }, "access key without secret key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := good
			tt.change(&opts)
			_, err := New(t.Context(), opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error saying %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Errorf("error holds the secret: %v", err)
			}
		})
	}
}

// The environment is the process's: these tests do not run in parallel.
func TestCredentialsFromEnv(t *testing.T) {
	srv := s3test.Start(t)
	opts := options(srv, false)
	opts.AccessKey, opts.SecretKey = "", ""

	t.Setenv(EnvAccessKey, "")
	t.Setenv(EnvSecretKey, "")
	if _, err := New(t.Context(), opts); err == nil || !strings.Contains(err.Error(), EnvAccessKey) {
		t.Errorf("no credentials anywhere: got %v, want an error naming %s", err, EnvAccessKey)
	}

	t.Setenv(EnvAccessKey, srv.AccessKey)
	t.Setenv(EnvSecretKey, srv.SecretKey)
	access, secret := CredentialsFromEnv()
	if access != srv.AccessKey || string(secret) != srv.SecretKey {
		t.Errorf("got %q and a secret of %d bytes, want the server's", access, len(secret))
	}
	s, err := New(t.Context(), opts)
	if err != nil {
		t.Fatalf("new with credentials from the environment: %v", err)
	}
	defer s.Close()
	if _, err := s.Put(t.Context(), "env/ok", strings.NewReader("x"), 1, storage.PutOptions{}); err != nil {
		t.Errorf("put: %v", err)
	}
}

func TestNewChecksBucket(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	for _, tt := range []struct {
		name   string
		change func(*Options)
		want   []string // in the error
	}{
		{"missing bucket", func(o *Options) { o.Bucket = "no-such-bucket" }, []string{`"no-such-bucket"`, srv.Endpoint, "not found"}},
		{"wrong secret", func(o *Options) { o.SecretKey = secretValue }, []string{`"kiroku-test"`, srv.Endpoint}},
		{"wrong access key", func(o *Options) { o.AccessKey = "nobody" }, []string{`"kiroku-test"`, srv.Endpoint}},
		{"no object lock", func(o *Options) { o.ObjectLock = true }, []string{"has no Object Lock"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := options(srv, false)
			tt.change(&opts)
			_, err := New(t.Context(), opts)
			if err == nil {
				t.Fatal("got no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to say %s", err, w)
				}
			}
			for _, secret := range []string{secretValue, srv.SecretKey} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error holds a secret key: %v", err)
				}
			}
			if errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("got %v, an ErrUnavailable, for a service that answered", err)
			}
		})
	}
}

// TestOpenWhileDown: Open needs no service; operations and Check then
// say the store is unavailable, and work once it is back, the bucket
// checked on first use.
func TestOpenWhileDown(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	srv.Stop()
	s, err := Open(options(srv, false))
	if err != nil {
		t.Fatalf("Open with the service down: %v", err)
	}
	defer s.Close()
	if err := s.Check(t.Context()); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Check while down: got %v, want ErrUnavailable", err)
	}
	if _, err := s.Put(t.Context(), "a.wav", strings.NewReader("x"), 1, storage.PutOptions{}); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Put while down: got %v, want ErrUnavailable", err)
	}
	if r := s.Delete(t.Context(), []string{"a.wav"}); !errors.Is(r[0].Err, storage.ErrUnavailable) {
		t.Errorf("Delete while down: got %v, want ErrUnavailable", r[0].Err)
	}
	srv.Restart()
	if _, err := s.Put(t.Context(), "a.wav", strings.NewReader("x"), 1, storage.PutOptions{}); err != nil {
		t.Errorf("Put once back: %v", err)
	}
	if err := s.Check(t.Context()); err != nil {
		t.Errorf("Check once back: %v", err)
	}

	missing := options(srv, false)
	missing.Bucket = "no-such-bucket"
	m, err := Open(missing)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Stat(t.Context(), "a.wav"); err == nil || errors.Is(err, storage.ErrUnavailable) || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat in a missing bucket: got %v, want the bucket named as not found", err)
	}
}

func TestMapErr(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		resp minio.ErrorResponse
		want error
	}{
		{"no such key", minio.ErrorResponse{Code: "NoSuchKey", StatusCode: 404}, storage.ErrNotFound},
		{"no such version", minio.ErrorResponse{Code: "NoSuchVersion", StatusCode: 404}, storage.ErrNotFound},
		{"invalid range", minio.ErrorResponse{Code: "InvalidRange", StatusCode: 416}, storage.ErrInvalidRange},
		{"416 without a body", minio.ErrorResponse{Code: "416 Requested Range Not Satisfiable", StatusCode: 416}, storage.ErrInvalidRange},
		{"AWS object lock", minio.ErrorResponse{Code: "AccessDenied", Message: "Access Denied because object protected by object lock.", StatusCode: 403}, storage.ErrLocked},
		{"MinIO WORM", minio.ErrorResponse{Code: "InvalidRequest", Message: "Object is WORM protected and cannot be overwritten", StatusCode: 400}, storage.ErrLocked},
		{"bad digest", minio.ErrorResponse{Code: "BadDigest", StatusCode: 400}, storage.ErrChecksumMismatch},
		{"access denied", minio.ErrorResponse{Code: "AccessDenied", Message: "Access Denied.", StatusCode: 403}, nil},
		{"no such bucket", minio.ErrorResponse{Code: "NoSuchBucket", StatusCode: 404}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := mapErr(tt.resp)
			for _, sentinel := range []error{storage.ErrNotFound, storage.ErrInvalidRange, storage.ErrLocked, storage.ErrChecksumMismatch} {
				if is := errors.Is(got, sentinel); is != (sentinel == tt.want) {
					t.Errorf("got %v: errors.Is %v = %v, want %v", got, sentinel, is, !is)
				}
			}
			var resp minio.ErrorResponse
			if !errors.As(got, &resp) || resp.Code != tt.resp.Code {
				t.Errorf("got %v, want the service's error kept in the chain", got)
			}
		})
	}
}
