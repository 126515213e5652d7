package catalog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrLocked is returned by TryLock while another holder has the lock.
var ErrLocked = errors.New("catalog: lock held by another holder")

// ErrLockLost is returned by Lock.Check once the lock is no longer held.
var ErrLockLost = errors.New("catalog: lock lost")

// Lock is a named lock of the catalog, for work that one holder at a time
// may do, such as the retention purge.
//
// On PostgreSQL it is a session-level advisory lock
// (pg_try_advisory_lock) taken on a connection of its own, held until
// Release: one holder across every node sharing the database. A node
// that dies releases it with its connection, and another node can take
// it at its next attempt. With SQLite, whose file one process uses, it
// is a lock of this catalog handle in memory.
type Lock struct {
	c    *Catalog
	name string

	mu       sync.Mutex // a pgx.Conn serves one caller at a time
	conn     *pgx.Conn  // PostgreSQL: the session holding the lock
	released bool

	once sync.Once
	err  error
}

// TryLock takes the lock called name without waiting: it returns
// ErrLocked when another holder has it.
func (c *Catalog) TryLock(ctx context.Context, name string) (*Lock, error) {
	l := &Lock{c: c, name: name}
	c.mu.Lock()
	if _, held := c.locks[name]; held {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrLocked, name)
	}
	if c.locks == nil {
		c.locks = map[string]*Lock{}
	}
	c.locks[name] = l // taken here; on PostgreSQL, taken across nodes below
	c.mu.Unlock()
	if c.driver != Postgres {
		return l, nil
	}
	fail := func(err error) (*Lock, error) {
		c.mu.Lock()
		delete(c.locks, name)
		c.mu.Unlock()
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, c.pg)
	if err != nil {
		return fail(fmt.Errorf("catalog: lock %s: %w", name, err))
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, lockKey(name)).Scan(&ok); err != nil {
		return fail(errors.Join(fmt.Errorf("catalog: lock %s: %w", name, err), closeConn(conn)))
	}
	if !ok {
		return fail(errors.Join(fmt.Errorf("%w: %s", ErrLocked, name), closeConn(conn)))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released { // the catalog was closed meanwhile
		return nil, errors.Join(fmt.Errorf("catalog: lock %s: catalog closed", name), closeConn(conn))
	}
	l.conn = conn
	return l, nil
}

// Check returns ErrLockLost when the lock is no longer held: on
// PostgreSQL, when its session has ended (the server restarted, an
// administrator terminated it, the network dropped it), after which
// another node may hold it. A holder checks before each step that must
// not overlap with another holder's.
func (l *Lock) Check(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.c.driver != Postgres {
		return nil
	}
	if l.released {
		return fmt.Errorf("%w: %s: released", ErrLockLost, l.name)
	}
	if _, err := l.conn.Exec(ctx, `SELECT 1`); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %s: %v", ErrLockLost, l.name, err)
	}
	return nil
}

// Release gives the lock up; on PostgreSQL by unlocking it on its
// session and then closing the connection. Closing alone would also end
// the lock, but only once the server has seen the session end, a moment
// later: another node trying at once could still find it held
// (TestLockOneHolder failed so, once). It is idempotent.
func (l *Lock) Release() error {
	l.once.Do(func() {
		l.c.mu.Lock()
		delete(l.c.locks, l.name)
		l.c.mu.Unlock()
		l.mu.Lock()
		defer l.mu.Unlock()
		l.released = true
		if l.conn != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			// An error here (a session already gone) leaves the close to
			// end the lock, as it ends with the session.
			_, _ = l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, lockKey(l.name))
			cancel()
			l.err = closeConn(l.conn)
			l.conn = nil
		}
	})
	return l.err
}

// closeConn closes a lock connection within a bounded time.
func closeConn(conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := conn.Close(ctx); err != nil {
		return fmt.Errorf("catalog: close lock connection: %w", err)
	}
	return nil
}
