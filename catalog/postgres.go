package catalog

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Drivers, as Driver reports them.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

const (
	// pgMaxConns bounds each node's connections to PostgreSQL.
	pgMaxConns = 8
	// pgConnectTimeout bounds a connection attempt when the connection
	// string sets no connect_timeout, so that an unreachable server fails
	// the start instead of hanging it.
	pgConnectTimeout = 10 * time.Second
	// pgIdleInTx is idle_in_transaction_session_timeout unless the
	// connection string sets it.
	pgIdleInTx = "60s"
)

// ErrBadDSN is returned for a PostgreSQL connection string that does not
// parse. The string may hold a password, so the error never repeats it.
var ErrBadDSN = errors.New("catalog: the PostgreSQL connection string does not parse (want key=value pairs or a postgres:// URL)")

// OpenPostgres connects to the PostgreSQL database that dsn names and
// brings its schema to the current version. Several kirokud nodes may
// open the same database: write transactions are serialised between them
// (see Tx), and TryLock elects one node for a job.
//
// dsn is a secret (it may hold a password): errors never repeat it.
func OpenPostgres(ctx context.Context, dsn string) (*Catalog, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, ErrBadDSN
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = pgConnectTimeout
	}
	// A node stopped in the middle of a write transaction (frozen, not
	// dead: its connection stays up) would hold the writer lock, and so
	// every node's writes, for good; the server ends such a transaction.
	// Kiroku's transactions do no other I/O while open.
	if _, ok := cfg.RuntimeParams["idle_in_transaction_session_timeout"]; !ok {
		cfg.RuntimeParams["idle_in_transaction_session_timeout"] = pgIdleInTx
	}
	db := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	db.SetMaxOpenConns(pgMaxConns)
	db.SetMaxIdleConns(pgMaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("catalog: postgres: %w", err), db.Close())
	}
	c := &Catalog{db: db, driver: Postgres, pg: cfg, writer: make(chan struct{}, 1)}
	if err := c.migrate(ctx); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return c, nil
}

// writerLock is the key of the transaction-level advisory lock that every
// read-write transaction on PostgreSQL takes first.
var writerLock = lockKey("catalog-writer")

// lockKey maps a lock name to a PostgreSQL advisory lock key.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("kiroku/" + name))
	return int64(h.Sum64())
}

// pgConnector hands out pgConns.
type pgConnector struct{ driver.Connector }

// Connect opens a connection to PostgreSQL.
func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{conn.(*stdlib.Conn)}, nil
}

// pgConn is pgx's database/sql connection with the two things that make
// the catalog's SQL, written once for SQLite and PostgreSQL, mean the same
// on PostgreSQL:
//
//   - statements are written with ? placeholders, as SQLite takes them,
//     and rebound to $1, $2… here, in one place, so that no caller (in
//     catalog, audit, retention, rights, httpapi) spells them per dialect;
//   - every read-write transaction begins by taking the writer lock
//     (pg_advisory_xact_lock, released at commit or rollback), as SQLite's
//     BEGIN IMMEDIATE takes its write lock. Writers are thus serialised
//     across every node, so the audit chain head a transaction reads
//     cannot be extended by another before it commits; and since the lock
//     is always the first one taken, it cannot take part in a deadlock.
//     Reads outside transactions (searches, playback) never wait for it.
type pgConn struct{ *stdlib.Conn }

// Prepare prepares query, rebound.
func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(context.Background(), rebind(query))
}

// PrepareContext prepares query, rebound.
func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(query))
}

// ExecContext runs query, rebound.
func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), args)
}

// QueryContext runs query, rebound.
func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(query), args)
}

// BeginTx begins a transaction; a read-write one waits for the writer
// lock.
func (c *pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil || opts.ReadOnly {
		return tx, err
	}
	if _, err := c.Conn.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, []driver.NamedValue{{Ordinal: 1, Value: writerLock}}); err != nil {
		return nil, errors.Join(fmt.Errorf("writer lock: %w", err), tx.Rollback())
	}
	return tx, nil
}

// rebind turns the ? placeholders of query into PostgreSQL's $1, $2…,
// leaving alone any ? inside a string literal, a quoted identifier or a
// comment.
func rebind(query string) string {
	out := make([]byte, 0, len(query)+16)
	n := 0
	for i := 0; i < len(query); i++ {
		switch ch := query[i]; {
		case ch == '?':
			n++
			out = fmt.Appendf(out, "$%d", n)
			continue
		case ch == '\'' || ch == '"':
			// Through the closing quote; a doubled quote inside is an
			// escaped one and toggles twice.
			j := i + 1
			for j < len(query) && query[j] != ch {
				j++
			}
			out = append(out, query[i:min(j+1, len(query))]...)
			i = j
			continue
		case ch == '-' && i+1 < len(query) && query[i+1] == '-':
			j := i
			for j < len(query) && query[j] != '\n' {
				j++
			}
			out = append(out, query[i:j]...)
			i = j - 1
			continue
		case ch == '/' && i+1 < len(query) && query[i+1] == '*':
			j := i + 2
			for j+1 < len(query) && (query[j] != '*' || query[j+1] != '/') {
				j++
			}
			end := min(j+2, len(query))
			out = append(out, query[i:end]...)
			i = end - 1
			continue
		}
		out = append(out, query[i])
	}
	if n == 0 {
		return query
	}
	return string(out)
}
