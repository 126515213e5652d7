package sip

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/spool"
)

// maxRetryAfter bounds how long a downstream's Retry-After keeps it out of
// the attempts: a typo of the agent platform's must not take it away for
// a day.
const maxRetryAfter = 10 * time.Minute

// health tells which downstreams answer. OPTIONS pings every
// sip.health_check.interval and the responses to calls' INVITEs feed it;
// a downstream is down after down_after failures in a row and up again
// after up_after answers in a row. A 503 with Retry-After keeps a
// downstream out of the attempts until then, whatever its state.
type health struct {
	log *zap.Logger
	obs Observer // nil in tests without metrics

	mu      sync.Mutex
	targets map[string]*target // by downstream URI
}

type target struct {
	up      bool
	fails   int // failures in a row
	oks     int // answers in a row
	retryAt time.Time
}

func newHealth(log *zap.Logger) *health {
	return &health{log: log, targets: map[string]*target{}}
}

// get returns the state of uri, a new one (up: nothing says otherwise)
// when it was never seen. Call it with h.mu held.
func (h *health) get(uri string) *target {
	t, ok := h.targets[uri]
	if !ok {
		t = &target{up: true}
		h.targets[uri] = t
		if h.obs != nil {
			h.obs.DownstreamState(uri, true)
		}
	}
	return t
}

// usable says whether uri may be tried now: up is its health, and until is
// when its Retry-After ends (zero when none holds it back).
func (h *health) usable(uri string, now time.Time) (up bool, until time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.get(uri)
	if now.Before(t.retryAt) {
		until = t.retryAt
	}
	return t.up, until
}

// report records one check of uri: answered or not, under the rule of hc.
func (h *health) report(uri string, answered bool, hc config.HealthCheck, via string) {
	h.mu.Lock()
	t := h.get(uri)
	was := t.up
	if answered {
		t.fails = 0
		t.oks++
		if !t.up && t.oks >= max(hc.UpAfter, 1) {
			t.up = true
		}
	} else {
		t.oks = 0
		t.fails++
		if t.up && t.fails >= max(hc.DownAfter, 1) {
			t.up = false
		}
	}
	now := t.up
	h.mu.Unlock()
	if was == now {
		return
	}
	if now {
		h.log.Info("downstream up", zap.String("downstream", uri), zap.String("by", via))
	} else {
		h.log.Warn("downstream down: calls try it only after the others", zap.String("downstream", uri), zap.String("by", via))
	}
	if h.obs != nil {
		h.obs.DownstreamState(uri, now)
	}
}

// holdOff keeps uri out of the attempts for the Retry-After of res, if it
// has one.
func (h *health) holdOff(uri string, res *sipmsg.Response, now time.Time) {
	d, ok := parseRetryAfter(res)
	if !ok {
		return
	}
	h.mu.Lock()
	h.get(uri).retryAt = now.Add(d)
	h.mu.Unlock()
	h.log.Info("downstream asked not to be tried for a while", zap.String("downstream", uri), zap.Duration("retry_after", d))
}

// parseRetryAfter is the delay a 503's Retry-After header asks for (RFC 3261
// §20.33: seconds, possibly followed by a comment or parameters).
func parseRetryAfter(res *sipmsg.Response) (time.Duration, bool) {
	if res == nil || res.StatusCode != sipmsg.StatusServiceUnavailable {
		return 0, false
	}
	h := res.GetHeader("Retry-After")
	if h == nil {
		return 0, false
	}
	v := strings.TrimSpace(h.Value())
	if i := strings.IndexAny(v, " ;("); i >= 0 {
		v = v[:i]
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, false
	}
	return min(time.Duration(n)*time.Second, maxRetryAfter), true
}

// alive says whether a response shows the downstream answering calls: any
// response but 408, 480 and 5xx other than 501 (an agent platform that
// answers OPTIONS with 405 or 501 is up).
func alive(code int) bool {
	switch {
	case code == sipmsg.StatusRequestTimeout, code == sipmsg.StatusTemporarilyUnavailable:
		return false
	case code >= 500 && code < 600:
		return code == sipmsg.StatusNotImplemented
	}
	return true
}

// plan orders a line's downstreams for one call: those marked up, by
// priority and then in a random order weighted by weight, then those
// marked down in the same order (a health check can be wrong, for an agent
// platform that drops OPTIONS; trying costs the caller at most
// ring_timeout). Those held back by a Retry-After are skipped.
func (h *health) plan(ds []config.Downstream, now time.Time) (try []config.Downstream, skipped []spool.Attempt) {
	type cand struct {
		d    config.Downstream
		down bool
		key  float64
	}
	var cs []cand
	for _, d := range ds {
		up, until := h.usable(d.URI, now)
		if !until.IsZero() {
			skipped = append(skipped, spool.Attempt{URI: d.URI, Outcome: spool.AttemptSkipped,
				Why: "retry-after until " + until.UTC().Format(time.RFC3339)})
			continue
		}
		// Efraimidis–Spirakis: sorting by -ln(U)/w is a weighted shuffle.
		cs = append(cs, cand{d: d, down: !up, key: -math.Log(1-rand.Float64()) / float64(max(d.Weight, 1))})
	}
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		if a.down != b.down {
			return !a.down
		}
		if a.d.Priority != b.d.Priority {
			return a.d.Priority < b.d.Priority
		}
		return a.key < b.key
	})
	for _, c := range cs {
		try = append(try, c.d)
	}
	return try, skipped
}

// forget drops the state of downstreams no longer configured.
func (h *health) forget(keep []string) {
	set := make(map[string]bool, len(keep))
	for _, u := range keep {
		set[u] = true
	}
	h.mu.Lock()
	var gone []string
	for u := range h.targets {
		if !set[u] {
			delete(h.targets, u)
			gone = append(gone, u)
		}
	}
	h.mu.Unlock()
	if h.obs != nil {
		for _, u := range gone {
			h.obs.DownstreamGone(u)
		}
	}
}

// runHealth pings every configured downstream each interval until ctx
// ends; the configuration is read at every round, so a reload changes
// the targets and timers.
func (s *Server) runHealth(ctx context.Context) {
	for {
		cfg := s.cfg.Load()
		hc := cfg.SIP.HealthCheck
		uris := cfg.GroupURIs()
		s.health.forget(uris)
		interval := time.Duration(hc.Interval)
		if interval > 0 {
			var wg sync.WaitGroup
			for _, u := range uris {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s.ping(ctx, u, hc)
				}()
			}
			wg.Wait()
		} else {
			interval = 5 * time.Second // off: look again for a reload that turns it on
		}
		if waitUntil(ctx, time.Now().Add(interval)) != nil {
			return
		}
	}
}

// ping sends one OPTIONS to uri and reports what came back.
func (s *Server) ping(ctx context.Context, uri string, hc config.HealthCheck) {
	var u sipmsg.Uri
	if err := sipmsg.ParseUri(uri, &u); err != nil {
		return // config checked it; nothing to ping
	}
	req := sipmsg.NewRequest(sipmsg.OPTIONS, u)
	from := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: "kiroku", Host: s.ports.IP().String()}, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: u.Scheme, User: u.User, Host: u.Host, Port: u.Port}})
	req.SetTransport(strings.ToUpper(transportOf(u)))
	pctx, cancel := context.WithTimeout(ctx, time.Duration(hc.Timeout))
	defer cancel()
	res, err := s.clientFor(req.Transport(), u.Host).Do(pctx, req)
	if ctx.Err() != nil {
		return // shutting down: not the downstream's fault
	}
	if err != nil {
		s.log.Debug("downstream ping unanswered", zap.String("downstream", uri), zap.Error(err))
		s.health.report(uri, false, hc, "options")
		return
	}
	s.health.holdOff(uri, res, time.Now())
	s.health.report(uri, alive(res.StatusCode), hc, "options")
}

// transportOf is the transport a request to u goes over: its transport
// parameter, else TLS for sips: and UDP for sip:.
func transportOf(u sipmsg.Uri) string {
	transport := "udp"
	if u.IsEncrypted() {
		transport = "tls"
	}
	if u.UriParams != nil {
		if t, ok := u.UriParams.Get("transport"); ok {
			transport = strings.ToLower(t)
		}
	}
	return transport
}
