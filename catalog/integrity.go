package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrCorrupt is returned by QuickCheck when the database's own check
// finds damage: pages overwritten, an index that no longer matches its
// table.
var ErrCorrupt = errors.New("catalog database is damaged")

// quickCheckLines bounds what QuickCheck reads of SQLite's report.
const quickCheckLines = 20

// QuickCheck runs SQLite's PRAGMA quick_check (b-tree structure, page
// use, records against their columns) and returns ErrCorrupt, with the
// first problems it names, when the file is damaged. A damaged file can
// start, answer most queries and verify its audit chain while rows on
// the lost pages are gone, so the daemon runs this at start and with the
// hourly verify. PostgreSQL checks its own pages; QuickCheck returns nil
// there.
func (c *Catalog) QuickCheck(ctx context.Context) error {
	if c.driver != SQLite {
		return nil
	}
	rows, err := c.db.QueryContext(ctx, fmt.Sprintf("PRAGMA quick_check(%d)", quickCheckLines))
	if err != nil {
		return checkErr(err)
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return checkErr(err)
		}
		if s != "ok" {
			found = append(found, s)
		}
	}
	if err := rows.Err(); err != nil {
		return checkErr(err)
	}
	if len(found) > 0 {
		return fmt.Errorf("%w: %s: %s", ErrCorrupt, c.path, strings.Join(found, "; "))
	}
	return nil
}

// checkErr classifies an error of the check itself: SQLite answers a
// file too damaged to walk with "malformed" or "not a database".
func checkErr(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "malformed") || strings.Contains(msg, "not a database") || strings.Contains(msg, "corrupt") {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return fmt.Errorf("catalog: quick_check: %w", err)
}
