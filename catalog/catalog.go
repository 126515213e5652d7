package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFound is returned for an unknown recording id.
var ErrNotFound = errors.New("recording not found")

// Querier is what catalog and audit statements run on: the database or a
// transaction.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Catalog is the recordings index.
type Catalog struct {
	db     *sql.DB
	driver string          // SQLite or Postgres
	path   string          // SQLite: the file
	pg     *pgx.ConnConfig // Postgres: for the connections that hold locks

	writer chan struct{} // one write transaction at a time through this handle (Tx)

	mu    sync.Mutex
	locks map[string]*Lock // held through this handle, by name
}

// ownerOnly creates the catalog file if it is missing and makes it and
// its WAL and shared-memory files readable by the daemon's user alone,
// whatever the umask: they hold callers' numbers and wrapped data keys.
// SQLite creates -wal and -shm with the main file's mode.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("catalog: %w", err)
		}
	}
	return nil
}

// Open opens (creating if needed) the SQLite catalog at path and brings its
// schema to the current version.
func Open(ctx context.Context, path string) (*Catalog, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	if err := ownerOnly(path); err != nil {
		return nil, err
	}
	// Writers take the lock at BEGIN (immediate), so the audit chain head
	// read in a transaction cannot change under it.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	c := &Catalog{db: db, driver: SQLite, path: path, writer: make(chan struct{}, 1)}
	if err := c.migrate(ctx); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return c, nil
}

// DB is the underlying database, for the audit log sharing it.
func (c *Catalog) DB() *sql.DB { return c.db }

// Path is the catalog file ("" for PostgreSQL).
func (c *Catalog) Path() string { return c.path }

// Driver is SQLite or Postgres.
func (c *Catalog) Driver() string { return c.driver }

// Close releases the locks still held through c and closes the database.
func (c *Catalog) Close() error {
	c.mu.Lock()
	held := make([]*Lock, 0, len(c.locks))
	for _, l := range c.locks {
		held = append(held, l)
	}
	c.mu.Unlock()
	var errs []error
	for _, l := range held {
		errs = append(errs, l.Release())
	}
	return errors.Join(append(errs, c.db.Close())...)
}

// Tx runs fn in a transaction, committed when fn returns nil. Write
// transactions are serialised: SQLite takes its write lock at BEGIN
// (immediate), and on PostgreSQL each begins by taking an advisory lock
// shared by every node (pgConn). Statements in fn therefore see every
// write committed before it, the audit chain head included.
//
// Since writers take their turn anyway, a Tx waits for the handle's
// previous one before it takes a connection: writers waiting their turn
// hold no connection that reads need.
func (c *Catalog) Tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	select {
	case c.writer <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("catalog: begin: %w", ctx.Err())
	}
	defer func() { <-c.writer }()
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("catalog: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("catalog: commit: %w", err)
	}
	return nil
}
