package catalog_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/catalog/catalogtest"
)

// TestOpenPostgresBadInput: a connection string that does not parse, a
// server that is not there and a wrong password each give a precise
// error, quickly, that never repeats the password.
func TestOpenPostgresBadInput(t *testing.T) {
	db := catalogtest.New(t, catalog.Postgres)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	const secret = "s3cret-Pa55"
	for _, tc := range []struct {
		name, dsn, want string
	}{
		{"not a dsn", "postgres://kiroku:" + secret + "@127.0.0.1:notaport/x", "does not parse"},
		{"garbage", "host=127.0.0.1 password=" + secret + " sslmode=sometimes", "does not parse"},
		{"nobody listening", fmt.Sprintf("host=127.0.0.1 port=%d user=kiroku password=%s dbname=x sslmode=disable connect_timeout=5", closed, secret), "connection refused"},
		{"wrong password", strings.Replace(db.DSN(), "password=", "password="+secret, 1), "password authentication failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := catalog.OpenPostgres(t.Context(), tc.dsn)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q repeats the password", err)
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
	if _, err := catalog.OpenPostgres(t.Context(), "postgres://h:notaport/x"); !errors.Is(err, catalog.ErrBadDSN) {
		t.Errorf("got %v, want ErrBadDSN", err)
	}
}

// TestPortableSQL: what differs between SQLite and PostgreSQL and is
// easy to get wrong: bytes in a BYTEA column, NULL ones, a ? inside a
// string literal, integer booleans, upserts, and Compact.
func TestPortableSQL(t *testing.T) {
	catalogtest.Each(t, func(t *testing.T, db catalogtest.DB) {
		c := db.Open(t)
		r := rec(1, "a", "0311111111")
		r.WrappedKey = []byte{0, 0xff, '?', '\''}
		r.LegalHold, r.CutShort = true, true
		if err := catalog.PutRecording(t.Context(), c.DB(), r); err != nil {
			t.Fatal(err)
		}
		plain := rec(2, "a", "0311111111")
		plain.WrappedKey = nil
		if err := catalog.PutRecording(t.Context(), c.DB(), plain); err != nil {
			t.Fatal(err)
		}
		got, err := c.Get(t.Context(), r.ID)
		if err != nil || !bytes.Equal(got.WrappedKey, r.WrappedKey) || !got.LegalHold || !got.CutShort {
			t.Fatalf("got %+v, %v", got, err)
		}
		if got, _ := c.Get(t.Context(), plain.ID); got.WrappedKey != nil {
			t.Errorf("a NULL key came back as %v", got.WrappedKey)
		}
		var n int
		if err := c.DB().QueryRow(`SELECT COUNT(*) FROM recordings WHERE hold_reason <> '?' AND id = ?`, r.ID).Scan(&n); err != nil || n != 1 {
			t.Errorf("a ? in a literal beside a placeholder: got %d, %v", n, err)
		}
		if err := c.Compact(t.Context()); err != nil {
			t.Errorf("compact: %v", err)
		}
		if db.Driver == catalog.Postgres {
			var typ string
			c.DB().QueryRow(`SELECT data_type FROM information_schema.columns WHERE table_name = 'recordings' AND column_name = 'wrapped_key'`).Scan(&typ)
			if typ != "bytea" {
				t.Errorf("wrapped_key is %q, want bytea", typ)
			}
			var idle string
			c.DB().QueryRow(`SHOW idle_in_transaction_session_timeout`).Scan(&idle)
			if idle != "1min" {
				t.Errorf("idle_in_transaction_session_timeout is %q, want 1min", idle)
			}
		}
	})
}
