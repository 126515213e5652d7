package httpapi

import (
	"context"
	"database/sql"
	"encoding/json"
	"sort"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audit"
)

// Denial flood control: a token (or an address) refused again and again —
// a misconfigured client polling a route it may not use, someone probing
// ids — must not grow the audit log by an entry a request. Within each
// window, the first denialBurst denials of one principal from one address
// on one route are audited one by one, as every access is; the rest are
// counted, and when the window ends one "denied" entry says how many
// there were and with which answers. The client's answer is the same
// either way. A role refused once on each of many routes (a client
// configured with the wrong token) stays audited entry by entry.
const (
	denialBurst  = 10
	denialWindow = time.Minute
)

type denialKey struct{ actor, client, route string }

type denialCount struct {
	from       time.Time
	n          int // denials in the window, the audited ones included
	suppressed int
	routes     map[string]int // "route status" → suppressed denials
	timer      *time.Timer
}

type denialFlood struct {
	mu     sync.Mutex
	window time.Duration
	burst  int
	keys   map[denialKey]*denialCount
	flush  func(k denialKey, c *denialCount, to time.Time)
}

func newDenialFlood(window time.Duration, burst int, flush func(denialKey, *denialCount, time.Time)) *denialFlood {
	return &denialFlood{window: window, burst: burst, keys: map[denialKey]*denialCount{}, flush: flush}
}

// admit reports whether this denial is audited on its own; when it is
// not, it is counted toward the window's summary entry.
func (f *denialFlood) admit(k denialKey, status int) bool {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.keys[k]
	if c == nil || (c.timer == nil && now.Sub(c.from) >= f.window) {
		c = &denialCount{from: now}
		f.keys[k] = c
	}
	c.n++
	if c.n <= f.burst {
		return true
	}
	c.suppressed++
	if c.routes == nil {
		c.routes = map[string]int{}
	}
	c.routes[k.route+" "+countText(status)]++
	if c.timer == nil {
		c.timer = time.AfterFunc(max(c.from.Add(f.window).Sub(now), 0), func() { f.end(k, c) })
	}
	return false
}

// end closes c's window: its summary is written and the key forgotten.
func (f *denialFlood) end(k denialKey, c *denialCount) {
	f.mu.Lock()
	if f.keys[k] == c {
		delete(f.keys, k)
	}
	f.mu.Unlock()
	f.flush(k, c, time.Now())
}

// stop writes the summaries of the windows still open (at shutdown).
func (f *denialFlood) stop() {
	f.mu.Lock()
	var open []struct {
		k denialKey
		c *denialCount
	}
	for k, c := range f.keys {
		if c.timer != nil && c.timer.Stop() {
			open = append(open, struct {
				k denialKey
				c *denialCount
			}{k, c})
		}
		delete(f.keys, k)
	}
	f.mu.Unlock()
	for _, o := range open {
		f.flush(o.k, o.c, time.Now())
	}
}

// Close writes the summary entries of denial windows still open; the API
// is not to serve after it.
func (a *API) Close() { a.flood.stop() }

func countText(n int) string { return strconv.Itoa(n) }

// auditSuppressed writes the summary entry of a window's denials beyond
// the burst.
func (a *API) auditSuppressed(k denialKey, c *denialCount, to time.Time) {
	routes := make([]string, 0, len(c.routes))
	for r := range c.routes {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	byRoute := make([]map[string]any, 0, len(routes))
	for _, r := range routes {
		byRoute = append(byRoute, map[string]any{"route": r, "count": c.routes[r]})
	}
	d, err := json.Marshal(map[string]any{"why": "denials beyond the first " + countText(a.flood.burst) + " of the window, counted", "count": c.suppressed,
		"from": c.from.UTC(), "to": to.UTC(), "client": k.client, "routes": byRoute})
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), auditTimeout)
		defer cancel()
		err = a.o.Catalog.Tx(ctx, func(tx *sql.Tx) error {
			_, err := audit.Append(ctx, tx, audit.Entry{Actor: k.actor, Action: audit.ActionDenied, Detail: string(d)})
			return err
		})
	}
	if err != nil {
		a.log.Error("audit of suppressed denials", zap.String("actor", k.actor), zap.Int("count", c.suppressed), zap.Error(err))
	}
}
