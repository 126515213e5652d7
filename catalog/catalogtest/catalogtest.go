// Package catalogtest runs tests against each catalog implementation, so
// that catalog, audit, retention and whatever else stores through the
// catalog are held to one contract on both: SQLite in a temporary file,
// and PostgreSQL (Debian's server, run by internal/testenv/pgtest) in a database
// of its own.
//
// A package using it runs its tests through Main:
//
//	func TestMain(m *testing.M) { os.Exit(catalogtest.Main(m)) }
//
// It is for _test.go files only.
package catalogtest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/testenv/pgtest"
)

// Drivers are the catalog drivers Each runs tests on.
var Drivers = []string{catalog.SQLite, catalog.Postgres}

// Main runs the package's tests and then stops the PostgreSQL server if
// a test started it (pgtest.Main).
func Main(m *testing.M) int { return pgtest.Main(m) }

// DB is one catalog database of one driver. Each Open is another handle
// on the same data, as another kirokud process (or node) would have.
type DB struct {
	Driver string
	path   string // SQLite
	dsn    string // PostgreSQL
}

// New returns a new, empty database of driver.
func New(t testing.TB, driver string) DB {
	t.Helper()
	switch driver {
	case catalog.SQLite:
		return DB{Driver: driver, path: filepath.Join(t.TempDir(), "catalog.db")}
	case catalog.Postgres:
		return DB{Driver: driver, dsn: pgtest.DSN(t)}
	}
	t.Fatalf("catalogtest: unknown driver %q", driver)
	return DB{}
}

// Each runs f as a subtest named after each driver, with a new, empty
// database.
func Each(t *testing.T, f func(t *testing.T, db DB)) {
	t.Helper()
	for _, d := range Drivers {
		t.Run(d, func(t *testing.T) { f(t, New(t, d)) })
	}
}

// Open opens a handle on the database, migrating it if needed, and
// closes it when the test ends.
func (d DB) Open(t testing.TB) *catalog.Catalog {
	t.Helper()
	c, err := d.TryOpen(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TryOpen opens a handle on the database; the caller closes it.
func (d DB) TryOpen(ctx context.Context) (*catalog.Catalog, error) {
	if d.Driver == catalog.Postgres {
		return catalog.OpenPostgres(ctx, d.dsn)
	}
	return catalog.Open(ctx, d.path)
}

// DSN is the PostgreSQL connection string ("" for SQLite).
func (d DB) DSN() string { return d.dsn }
