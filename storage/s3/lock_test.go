package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/kiroku-voice/kiroku/internal/testenv/s3test"
	"github.com/kiroku-voice/kiroku/storage"
)

func TestObjectLock(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		srv  s3test.Options
	}{
		// A plain delete is refused by the lock itself.
		{"unversioned", s3test.Options{ObjectLock: true}},
		// As on AWS: the store deletes by version, which the lock refuses.
		{"versioned", s3test.Options{ObjectLock: true, Versioning: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, srv := newStore(t, tt.srv)
			ctx := t.Context()
			put := func(key string, opts storage.PutOptions) {
				t.Helper()
				if _, err := s.Put(ctx, key, strings.NewReader("audio"), 5, opts); err != nil {
					t.Fatalf("put %s: %v", key, err)
				}
			}
			put("held.wav", storage.PutOptions{})
			put("retained.wav", storage.PutOptions{RetainUntil: time.Now().Add(time.Hour)})
			put("free.wav", storage.PutOptions{})
			if err := s.SetLegalHold(ctx, "held.wav", true); err != nil {
				t.Fatalf("legal hold: %v", err)
			}

			results := s.Delete(ctx, []string{"held.wav", "retained.wav", "free.wav", "absent.wav"})
			for i, want := range []error{storage.ErrLocked, storage.ErrLocked, nil, nil} {
				if got := results[i].Err; !errors.Is(got, want) || (want == nil && got != nil) {
					t.Errorf("delete %s: got %v, want %v", results[i].Key, got, want)
				}
			}
			for _, key := range []string{"held.wav", "retained.wav"} {
				if _, err := s.Stat(ctx, key); err != nil {
					t.Errorf("stat %s after a refused delete: %v", key, err)
				}
			}
			if !tt.srv.Versioning {
				// Without versions an overwrite would destroy the object.
				_, err := s.Put(ctx, "held.wav", strings.NewReader("other"), 5, storage.PutOptions{})
				if !errors.Is(err, storage.ErrLocked) {
					t.Errorf("overwrite of a held object: got %v, want ErrLocked", err)
				}
			}

			if err := s.SetLegalHold(ctx, "held.wav", false); err != nil {
				t.Fatalf("clear legal hold: %v", err)
			}
			if r := s.Delete(ctx, []string{"held.wav"}); r[0].Err != nil {
				t.Errorf("delete after the hold is cleared: %v", r[0].Err)
			}
			if err := s.SetLegalHold(ctx, "absent.wav", true); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("legal hold on an absent key: got %v, want ErrNotFound", err)
			}

			// Nothing of a deleted key is left, not even an old version.
			for o := range srv.Client(t).ListObjects(ctx, srv.Bucket, minio.ListObjectsOptions{Prefix: "free.wav", WithVersions: true}) {
				t.Errorf("after delete: found %s version %q (delete marker %v, err %v)", o.Key, o.VersionID, o.IsDeleteMarker, o.Err)
			}
		})
	}
}

func TestNoObjectLock(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, s3test.Options{})
	ctx := t.Context()
	// RetainUntil asks for nothing where the store does not use Object Lock.
	if _, err := s.Put(ctx, "a.wav", strings.NewReader("x"), 1, storage.PutOptions{RetainUntil: time.Now().Add(time.Hour)}); err != nil {
		t.Fatalf("put: %v", err)
	}
	if err := s.SetLegalHold(ctx, "a.wav", true); err != nil {
		t.Errorf("legal hold: got %v, want nil", err)
	}
	if err := s.SetLegalHold(ctx, "absent.wav", true); err != nil {
		t.Errorf("legal hold on an absent key: got %v, want nil", err)
	}
	if r := s.Delete(ctx, []string{"a.wav"}); r[0].Err != nil {
		t.Errorf("delete: %v", r[0].Err)
	}
}

func TestVersionedOverwrite(t *testing.T) {
	t.Parallel()
	s, srv := newStore(t, s3test.Options{Versioning: true})
	ctx := t.Context()
	for _, body := range []string{"one", "two", "three"} {
		if _, err := s.Put(ctx, "v.wav", strings.NewReader(body), int64(len(body)), storage.PutOptions{}); err != nil {
			t.Fatalf("put: %v", err)
		}
	}
	if r := s.Delete(ctx, []string{"v.wav"}); r[0].Err != nil {
		t.Fatalf("delete: %v", r[0].Err)
	}
	for o := range srv.Client(t).ListObjects(ctx, srv.Bucket, minio.ListObjectsOptions{Prefix: "v.wav", WithVersions: true}) {
		t.Errorf("after delete: found %s version %q (delete marker %v, err %v)", o.Key, o.VersionID, o.IsDeleteMarker, o.Err)
	}
}

// onlyReader hides every method but Read, as a pipe would.
type onlyReader struct{ io.Reader }

func TestPutUnseekable(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		srv  s3test.Options
	}{
		{"http", s3test.Options{}},
		{"tls", s3test.Options{TLS: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newStore(t, tt.srv)
			b := bytes.Repeat([]byte("stereo "), 10_000)
			sum := sha256.Sum256(b)
			want := hex.EncodeToString(sum[:])
			obj, err := s.Put(t.Context(), "pipe.wav", onlyReader{bytes.NewReader(b)}, int64(len(b)), storage.PutOptions{})
			if err != nil {
				t.Fatalf("put: %v", err)
			}
			if obj.SHA256 != want {
				t.Errorf("put: got sha %s, want %s", obj.SHA256, want)
			}
			// Over TLS the service checked a trailing checksum and keeps
			// it; over HTTP it has none.
			got, err := s.Stat(t.Context(), "pipe.wav")
			if err != nil {
				t.Fatalf("stat: %v", err)
			}
			if got.SHA256 != "" && got.SHA256 != want {
				t.Errorf("stat: got sha %s, want %s or none", got.SHA256, want)
			}
			if tt.srv.TLS && got.SHA256 != want {
				t.Errorf("stat over TLS: got sha %q, want %s", got.SHA256, want)
			}
		})
	}
}

func TestStorageDown(t *testing.T) {
	t.Parallel()
	s, srv := newStore(t, s3test.Options{})
	if _, err := s.Put(t.Context(), "before.wav", strings.NewReader("x"), 1, storage.PutOptions{}); err != nil {
		t.Fatalf("put: %v", err)
	}
	srv.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err := s.Put(ctx, "during.wav", strings.NewReader("x"), 1, storage.PutOptions{})
	if err == nil {
		t.Fatal("put while the service is down: got no error")
	}
	if ctx.Err() != nil {
		t.Errorf("put while down took until the deadline: %v", err)
	}
	if _, err := s.Stat(ctx, "before.wav"); err == nil || errors.Is(err, storage.ErrNotFound) {
		t.Errorf("stat while down: got %v, want an error that is not ErrNotFound", err)
	}
	if r := s.Delete(ctx, []string{"before.wav"}); r[0].Err == nil {
		t.Error("delete while down: got no error")
	}

	srv.Restart()
	if _, err := s.Put(t.Context(), "during.wav", strings.NewReader("x"), 1, storage.PutOptions{}); err != nil {
		t.Errorf("put after restart: %v", err)
	}
	if _, err := s.Stat(t.Context(), "before.wav"); err != nil {
		t.Errorf("stat after restart: %v", err)
	}
}

func TestHashReader(t *testing.T) {
	t.Parallel()
	b := []byte("0123456789")
	sum := sha256.Sum256(b)
	for _, tt := range []struct {
		name    string
		r       io.Reader
		want    []byte
		wantErr error
		maxRead int // at most this many bytes handed out
	}{
		{"match", bytes.NewReader(b), sum[:], nil, 10},
		{"no sum", bytes.NewReader(b), nil, nil, 10},
		{"longer reader", bytes.NewReader(append(b, "extra"...)), sum[:], nil, 10},
		{"mismatch", bytes.NewReader([]byte("0123456780")), sum[:], storage.ErrChecksumMismatch, 9},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader([]byte("0123456780"))), sum[:], storage.ErrChecksumMismatch, 9},
		{"short", bytes.NewReader(b[:5]), sum[:], io.ErrUnexpectedEOF, 5},
		{"failing", iotest.ErrReader(errors.New("disk")), nil, nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := &hashReader{r: tt.r, h: sha256.New(), size: int64(len(b)), want: tt.want}
			got, err := io.ReadAll(v)
			if len(got) > tt.maxRead {
				t.Errorf("handed out %d bytes, want at most %d", len(got), tt.maxRead)
			}
			switch {
			case tt.name == "failing":
				if err == nil || v.err == nil {
					t.Errorf("got %v, want the reader's error", err)
				}
			case tt.wantErr == nil && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.wantErr != nil && (!errors.Is(err, tt.wantErr) || !errors.Is(v.err, tt.wantErr)):
				t.Errorf("got %v (recorded %v), want %v", err, v.err, tt.wantErr)
			}
		})
	}
}
