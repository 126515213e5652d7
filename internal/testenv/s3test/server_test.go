package s3test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/tags"
)

// These tests pin what versitygw does for the features the s3 store
// relies on, so that an upgrade that changes one shows here first.

func put(t *testing.T, c *minio.Client, s *Server, key string, body []byte, opts minio.PutObjectOptions) (minio.UploadInfo, error) {
	t.Helper()
	return c.PutObject(t.Context(), s.Bucket, key, bytes.NewReader(body), int64(len(body)), opts)
}

func sha256b64(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestServer(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := s.Client(t)
	ctx := t.Context()
	body := []byte("0123456789abcdefghij")

	t.Run("tagging and metadata", func(t *testing.T) {
		_, err := put(t, c, s, "tags/a.wav", body, minio.PutObjectOptions{
			UserTags:     map[string]string{"purpose": "cs-quality", "retain-until": "2026-12-01T00:00:00Z"},
			UserMetadata: map[string]string{"call-id": "abc"},
		})
		if err != nil {
			t.Fatalf("put: %v", err)
		}
		got, err := c.GetObjectTagging(ctx, s.Bucket, "tags/a.wav", minio.GetObjectTaggingOptions{})
		if err != nil {
			t.Fatalf("get tagging: %v", err)
		}
		if m := got.ToMap(); m["purpose"] != "cs-quality" || len(m) != 2 {
			t.Errorf("got tags %v, want purpose and retain-until", m)
		}
		repl, _ := tags.NewTags(map[string]string{"purpose": "other"}, true)
		if err := c.PutObjectTagging(ctx, s.Bucket, "tags/a.wav", repl, minio.PutObjectTaggingOptions{}); err != nil {
			t.Fatalf("put tagging: %v", err)
		}
		got, err = c.GetObjectTagging(ctx, s.Bucket, "tags/a.wav", minio.GetObjectTaggingOptions{})
		if err != nil {
			t.Fatalf("get tagging: %v", err)
		}
		if m := got.ToMap(); len(m) != 1 || m["purpose"] != "other" {
			t.Errorf("got tags %v after replace, want only purpose=other", m)
		}
		info, err := c.StatObject(ctx, s.Bucket, "tags/a.wav", minio.StatObjectOptions{})
		if err != nil {
			t.Fatalf("stat: %v", err)
		}
		if info.UserMetadata["Call-Id"] != "abc" {
			t.Errorf("got metadata %v, want Call-Id=abc", info.UserMetadata)
		}
	})

	t.Run("sha-256 header verified", func(t *testing.T) {
		opts := minio.PutObjectOptions{UserMetadata: map[string]string{"x-amz-checksum-sha256": sha256b64(body)}}
		info, err := put(t, c, s, "sum/good", body, opts)
		if err != nil {
			t.Fatalf("put with the right sha-256: %v", err)
		}
		if info.ChecksumSHA256 != sha256b64(body) {
			t.Errorf("got confirmed sha-256 %q, want %q", info.ChecksumSHA256, sha256b64(body))
		}
		st, err := c.StatObject(ctx, s.Bucket, "sum/good", minio.StatObjectOptions{Checksum: true})
		if err != nil {
			t.Fatalf("stat: %v", err)
		}
		if st.ChecksumSHA256 != sha256b64(body) {
			t.Errorf("got stat sha-256 %q, want %q", st.ChecksumSHA256, sha256b64(body))
		}

		opts = minio.PutObjectOptions{UserMetadata: map[string]string{"x-amz-checksum-sha256": sha256b64([]byte("other"))}}
		_, err = put(t, c, s, "sum/bad", body, opts)
		if code := minio.ToErrorResponse(err).Code; code != "BadDigest" && code != "XAmzContentChecksumMismatch" {
			t.Errorf("got %v (code %q), want a checksum mismatch", err, code)
		}
		if _, err := c.StatObject(ctx, s.Bucket, "sum/bad", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
			t.Errorf("got %v after a refused put, want NoSuchKey", err)
		}
	})

	t.Run("trailing sha-256 over http", func(t *testing.T) {
		// versitygw v1.8.0 miscomputes checksums sent as trailers of a
		// signed streaming upload (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-
		// TRAILER, what minio-go sends over plain HTTP), for every
		// algorithm; the s3 store sends no trailer over HTTP for that.
		// Over TLS (unsigned payload with trailer) they work: see
		// TestServerTLS.
		_, err := put(t, c, s, "sum/trailer", body, minio.PutObjectOptions{Checksum: minio.ChecksumSHA256, DisableMultipart: true})
		if err == nil {
			t.Logf("versitygw %s now takes a trailing checksum over HTTP; the s3 store could use it", Version)
		}
	})

	t.Run("range", func(t *testing.T) {
		if _, err := put(t, c, s, "range", body, minio.PutObjectOptions{}); err != nil {
			t.Fatalf("put: %v", err)
		}
		for _, tt := range []struct {
			name       string
			start, end int64
			want       string
		}{
			{"middle", 5, 9, "56789"},
			{"to end", 15, 0, "fghij"},
			{"past end truncates", 18, 100, "ij"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var o minio.GetObjectOptions
				if err := o.SetRange(tt.start, tt.end); err != nil {
					t.Fatal(err)
				}
				obj, err := c.GetObject(ctx, s.Bucket, "range", o)
				if err != nil {
					t.Fatal(err)
				}
				defer obj.Close()
				b, err := io.ReadAll(obj)
				if err != nil || string(b) != tt.want {
					t.Errorf("got %q, %v, want %q", b, err, tt.want)
				}
			})
		}
		var o minio.GetObjectOptions
		_ = o.SetRange(int64(len(body))+1, 0)
		obj, err := c.GetObject(ctx, s.Bucket, "range", o)
		if err == nil {
			_, err = obj.Stat()
			obj.Close()
		}
		// versitygw answers 416 without a body, so minio-go has no code.
		if st := minio.ToErrorResponse(err).StatusCode; st != 416 {
			t.Errorf("got %v (status %d) for an offset past the end, want 416", err, st)
		}
	})

	t.Run("multi-object delete", func(t *testing.T) {
		if _, err := put(t, c, s, "del/present", body, minio.PutObjectOptions{}); err != nil {
			t.Fatalf("put: %v", err)
		}
		ch := make(chan minio.ObjectInfo, 2)
		ch <- minio.ObjectInfo{Key: "del/present"}
		ch <- minio.ObjectInfo{Key: "del/absent"}
		close(ch)
		for e := range c.RemoveObjects(ctx, s.Bucket, ch, minio.RemoveObjectsOptions{}) {
			t.Errorf("got error for %s: %v", e.ObjectName, e.Err)
		}
		if _, err := c.StatObject(ctx, s.Bucket, "del/present", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
			t.Errorf("got %v after delete, want NoSuchKey", err)
		}
	})

	t.Run("list order", func(t *testing.T) {
		keys := []string{"order/a/b", "order/a-c", "order/a0", "order/a.json"}
		for _, k := range keys {
			if _, err := put(t, c, s, k, body, minio.PutObjectOptions{}); err != nil {
				t.Fatalf("put %s: %v", k, err)
			}
		}
		var got []string
		for o := range c.ListObjects(ctx, s.Bucket, minio.ListObjectsOptions{Prefix: "order/", Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			got = append(got, o.Key)
		}
		want := "order/a-c order/a.json order/a/b order/a0"
		if strings.Join(got, " ") != want {
			t.Errorf("got %v, want %s", got, want)
		}
	})
}

func TestServerObjectLock(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts Options
	}{
		{"unversioned", Options{ObjectLock: true}},
		{"versioned", Options{ObjectLock: true, Versioning: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := StartWith(t, tt.opts)
			c := s.Client(t)
			ctx := t.Context()
			body := []byte("held")
			sum := map[string]string{"x-amz-checksum-sha256": sha256b64(body)}

			held, err := put(t, c, s, "held", body, minio.PutObjectOptions{UserMetadata: sum})
			if err != nil {
				t.Fatalf("put: %v", err)
			}
			on := minio.LegalHoldEnabled
			if err := c.PutObjectLegalHold(ctx, s.Bucket, "held", minio.PutObjectLegalHoldOptions{Status: &on}); err != nil {
				t.Fatalf("legal hold: %v", err)
			}
			until := time.Now().Add(time.Hour).Truncate(time.Second)
			kept, err := put(t, c, s, "kept", body, minio.PutObjectOptions{
				UserMetadata: sum, Mode: minio.Governance, RetainUntilDate: until,
			})
			if err != nil {
				t.Fatalf("put with retention: %v", err)
			}
			// HEAD rather than GetObjectRetention: versitygw answers that
			// with <ObjectLockRetention>, which minio-go cannot parse (AWS
			// says <Retention>).
			st, err := c.StatObject(ctx, s.Bucket, "kept", minio.StatObjectOptions{})
			if err != nil {
				t.Fatalf("stat: %v", err)
			}
			mode, date := st.Metadata.Get("X-Amz-Object-Lock-Mode"), st.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date")
			if mode != "GOVERNANCE" || date != until.UTC().Format(time.RFC3339) {
				t.Errorf("got retention %q until %q, want GOVERNANCE until %v", mode, date, until)
			}

			objs := []minio.ObjectInfo{{Key: "held"}, {Key: "kept"}}
			if tt.opts.Versioning {
				// A delete without a version only adds a delete marker
				// there; the data goes only by version.
				objs = []minio.ObjectInfo{{Key: "held", VersionID: held.VersionID}, {Key: "kept", VersionID: kept.VersionID}}
			}
			ch := make(chan minio.ObjectInfo, len(objs))
			for _, o := range objs {
				ch <- o
			}
			close(ch)
			failed := map[string]string{}
			for e := range c.RemoveObjects(ctx, s.Bucket, ch, minio.RemoveObjectsOptions{}) {
				failed[e.ObjectName] = minio.ToErrorResponse(e.Err).Code + ": " + minio.ToErrorResponse(e.Err).Message
			}
			for _, k := range []string{"held", "kept"} {
				if !strings.HasPrefix(failed[k], "AccessDenied") {
					t.Errorf("delete %s: got %q, want AccessDenied", k, failed[k])
				}
			}

			off := minio.LegalHoldDisabled
			if err := c.PutObjectLegalHold(ctx, s.Bucket, "held", minio.PutObjectLegalHoldOptions{Status: &off, VersionID: held.VersionID}); err != nil {
				t.Fatalf("clear legal hold: %v", err)
			}
			err = c.RemoveObject(ctx, s.Bucket, "held", minio.RemoveObjectOptions{VersionID: held.VersionID})
			if err != nil {
				t.Errorf("delete after the hold is cleared: %v", err)
			}
		})
	}
}

func TestServerRestart(t *testing.T) {
	t.Parallel()
	s := Start(t)
	c := s.Client(t)
	ctx := t.Context()
	if _, err := put(t, c, s, "kept", []byte("data"), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put: %v", err)
	}
	s.Stop()
	s.Stop() // idempotent
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := c.StatObject(short, s.Bucket, "kept", minio.StatObjectOptions{}); err == nil {
		t.Fatal("stat while stopped: got no error")
	}
	s.Restart()
	if _, err := c.StatObject(ctx, s.Bucket, "kept", minio.StatObjectOptions{}); err != nil {
		t.Errorf("stat after restart: %v", err)
	}
}

func TestServerTLS(t *testing.T) {
	t.Parallel()
	s := StartWith(t, Options{TLS: true})
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Errorf("got URL %s, want https", s.URL())
	}
	c := s.Client(t)
	if ok, err := c.BucketExists(t.Context(), s.Bucket); err != nil || !ok {
		t.Errorf("got bucket exists %v, %v over TLS, want true", ok, err)
	}
	body := []byte("over tls")
	info, err := put(t, c, s, "trailer", body, minio.PutObjectOptions{Checksum: minio.ChecksumSHA256, DisableMultipart: true})
	if err != nil {
		t.Fatalf("put with a trailing sha-256: %v", err)
	}
	if info.ChecksumSHA256 != sha256b64(body) {
		t.Errorf("got confirmed sha-256 %q, want %q", info.ChecksumSHA256, sha256b64(body))
	}
}

func TestBinaryVersion(t *testing.T) {
	bin := Binary(t)
	if v := builtVersion(bin); v != Version {
		t.Errorf("got %s built from %q, want %s", bin, v, Version)
	}
	if got := builtVersion(t.TempDir()); got != "" {
		t.Errorf("got version %q for a folder, want none", got)
	}
}
