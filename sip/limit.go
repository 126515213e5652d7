package sip

import (
	"container/list"
	"math"
	"net/netip"
	"strconv"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/kiroku-voice/kiroku/internal/config"
)

// Scopes of a rate-limited request, as the Observer is told.
const (
	limitSource    = "source"    // the source address's bucket was empty
	limitGlobal    = "global"    // the daemon-wide bucket was empty
	limitMalformed = "malformed" // a stateless 400 withheld from a source over its limit
)

// maxSources bounds the per-source table: past it the least recently seen
// source is forgotten, so a flood from spoofed addresses costs at most
// this many entries (a forgotten source starts again with a full bucket;
// the global bucket still holds).
const maxSources = 16384

// limiter holds the token buckets of sip.rate_limit: one per source
// address (IPv6 per /64) and one for all sources together.
type limiter struct {
	mu       sync.Mutex
	perRate  float64
	perBurst float64
	gRate    float64
	gBurst   float64
	global   bucket
	sources  map[netip.Addr]*list.Element // of *sourceBucket
	lru      list.List                    // front: most recently seen
	max      int
}

type sourceBucket struct {
	addr netip.Addr
	bucket
}

// bucket is a token bucket; tokens and last are valid once last is set.
type bucket struct {
	tokens float64
	last   time.Time
}

// take spends a token if there is one; else it reports how long until
// one is due.
func (b *bucket) take(now time.Time, rate, burst float64) (bool, time.Duration) {
	if b.last.IsZero() {
		b.tokens = burst
	} else if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(burst, b.tokens+el*rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / rate * float64(time.Second))
}

func newLimiter(rl config.RateLimit) *limiter {
	l := &limiter{sources: map[netip.Addr]*list.Element{}, max: maxSources}
	l.configure(rl)
	return l
}

// configure applies new limits (on reload); buckets keep their tokens,
// capped at the new burst when next used.
func (l *limiter) configure(rl config.RateLimit) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.perRate, l.perBurst = float64(rl.PerSource.Rate), float64(rl.PerSource.Burst)
	l.gRate, l.gBurst = float64(rl.Global.Rate), float64(rl.Global.Burst)
}

// sourceKey is what a source is counted by: the address, IPv4-mapped
// addresses as IPv4, IPv6 by its /64 (one host holds a whole /64).
func sourceKey(a netip.Addr) netip.Addr {
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// allow takes one token from src's bucket and then one from the global
// bucket. It returns "" when the request may go on, else the scope that
// refused it and how long until it would be taken. A source over its own
// limit never spends global tokens, so it cannot starve others.
func (l *limiter) allow(src netip.Addr, now time.Time) (scope string, retry time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	sb := l.source(src)
	if ok, wait := sb.take(now, l.perRate, l.perBurst); !ok {
		return limitSource, wait
	}
	if ok, wait := l.global.take(now, l.gRate, l.gBurst); !ok {
		sb.tokens++ // the source's share was not used
		return limitGlobal, wait
	}
	return "", 0
}

// spend takes a token from src's bucket for something other than an
// INVITE (a stateless 400), without touching the global bucket.
func (l *limiter) spend(src netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	ok, _ := l.source(src).take(now, l.perRate, l.perBurst)
	return ok
}

// source returns src's bucket, making it (and forgetting the least
// recently seen source when the table is full) if need be. l.mu is held.
func (l *limiter) source(src netip.Addr) *sourceBucket {
	key := sourceKey(src)
	if e, ok := l.sources[key]; ok {
		l.lru.MoveToFront(e)
		return e.Value.(*sourceBucket)
	}
	if l.lru.Len() >= l.max {
		old := l.lru.Back()
		l.lru.Remove(old)
		delete(l.sources, old.Value.(*sourceBucket).addr)
	}
	sb := &sourceBucket{addr: key}
	l.sources[key] = l.lru.PushFront(sb)
	return sb
}

// size is the number of sources held.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// retryAfter is the Retry-After value for a refusal: whole seconds,
// rounded up, at least 1.
func retryAfter(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}

// limitInvite applies sip.rate_limit to an initial INVITE from src and
// reports whether it was refused. With action reject, respond gets a 503
// with Retry-After (for UDP the guard sends it statelessly); with drop,
// nothing is sent.
func (s *Server) limitInvite(req *sipmsg.Request, src netip.Addr, respond func(*sipmsg.Response)) bool {
	scope, wait := s.limit.allow(src, time.Now())
	if scope == "" {
		return false
	}
	s.limited(scope)
	if s.cfg.Load().SIP.RateLimit.Action == "drop" || !answerable(req) {
		return true
	}
	res := sipmsg.NewResponseFromRequest(req, sipmsg.StatusServiceUnavailable, "Rate Limited", nil)
	res.AppendHeader(sipmsg.NewHeader("Retry-After", strconv.Itoa(retryAfter(wait))))
	respond(res)
	s.responded(sipmsg.INVITE.String(), sipmsg.StatusServiceUnavailable)
	return true
}

func (s *Server) limited(scope string) {
	if s.obs != nil {
		s.obs.Limited(scope)
	}
}

// answerable: a request with what a response must echo (RFC 3261 §8.2.6),
// so that a stateless answer is one its sender can match.
func answerable(req *sipmsg.Request) bool {
	return req.SipVersion == "SIP/2.0" && req.Via() != nil && req.From() != nil && req.To() != nil &&
		req.CallID() != nil && req.CSeq() != nil
}
