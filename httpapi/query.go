package httpapi

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
)

// Search limits.
const (
	defaultLimit = 50
	maxLimit     = 500
)

// parseTime reads an instant: RFC 3339 with an offset, or a local date
// or date-time ("2026-11-05", "2026-11-05T09:30", as an HTML date or
// datetime-local input sends them) in loc.
func parseTime(key, s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%s: %q is not a time such as 2026-11-05T09:30:00+09:00, 2026-11-05T09:30 or 2026-11-05", key, s)
}

// parseMinDuration reads min_duration (see parseDuration).
func parseMinDuration(s string) (time.Duration, error) { return parseDuration("min_duration", s) }

// parseDuration reads the duration of key: Go's form ("90s", "2m30s")
// or whole seconds.
func parseDuration(key, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		n, err2 := strconv.ParseUint(s, 10, 32)
		if err2 != nil {
			return 0, fmt.Errorf("%s: %q is not a duration such as 90s, 2m or 120", key, s)
		}
		d = time.Duration(n) * time.Second
	}
	if d < 0 || d > 24*time.Hour {
		return 0, fmt.Errorf("%s: %s is not within 0-24h", key, d)
	}
	return d, nil
}

// parseLimit reads a page size.
func parseLimit(s string, def, max int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, fmt.Errorf("limit: %q is not a whole number from 1 to %d", s, max)
	}
	return n, nil
}

// Cursors are opaque to clients: base64url of "<micros>.<id>.<a|d>", the
// last row's keys and the order they were read in; sorted by another
// column, "<sort>.<n|s><value>.<micros>.<id>.<a|d>" with the row's value
// of that column first (a number in decimal, text in base64url).
func encodeCursor(c catalog.Cursor, sort string, desc bool) string {
	dir := "a"
	if desc {
		dir = "d"
	}
	if sort == "" || sort == "started_at" {
		return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d.%s.%s", c.StartedAt.UnixMicro(), c.ID, dir))
	}
	var key string
	switch v := c.Key.(type) {
	case int64:
		key = "n" + strconv.FormatInt(v, 10)
	case string:
		key = "s" + base64.RawURLEncoding.EncodeToString([]byte(v))
	}
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%s.%s.%d.%s.%s", sort, key, c.StartedAt.UnixMicro(), c.ID, dir))
}

var errCursor = errors.New("cursor: not a cursor this API gave (pass next_cursor back as it came, with the same sort)")

func decodeCursor(s, sort string, desc bool) (*catalog.Cursor, error) {
	if len(s) > 600 {
		return nil, errCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errCursor
	}
	parts := strings.Split(string(b), ".")
	var key any
	if sort != "" && sort != "started_at" {
		if len(parts) != 5 || parts[0] != sort || len(parts[1]) < 1 {
			return nil, errCursor
		}
		switch v := parts[1][1:]; parts[1][0] {
		case 'n':
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || !catalog.IsNumericSortKey(sort) {
				return nil, errCursor
			}
			key = n
		case 's':
			t, err := base64.RawURLEncoding.DecodeString(v)
			if err != nil || catalog.IsNumericSortKey(sort) {
				return nil, errCursor
			}
			key = string(t)
		default:
			return nil, errCursor
		}
		parts = parts[2:]
	}
	if len(parts) != 3 || !validID(parts[1]) || parts[2] != map[bool]string{true: "d", false: "a"}[desc] {
		return nil, errCursor
	}
	us, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return nil, errCursor
	}
	return &catalog.Cursor{Key: key, StartedAt: time.UnixMicro(us), ID: parts[1]}, nil
}
