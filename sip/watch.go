package sip

import (
	"context"
	"sync"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/media"
)

// callEnd is why Kiroku itself ends a call; it is the call context's
// cause and, as a string, the manifest's end reason.
type callEnd string

func (e callEnd) Error() string { return string(e) }

// Causes of calls Kiroku ends.
const (
	errShutdown       = callEnd(endShutdown)
	errMediaTimeout   = callEnd(endMediaTimeout)
	errSessionExpired = callEnd(endSessionExpired)
	errMaxDuration    = callEnd(endMaxDuration)
)

// watch ends a call that died or went on too long: no RTP from a leg
// that is not on hold for the line's media_timeout, a session refresh
// (RFC 4028) missed, or the line's max_duration reached. It holds no
// goroutine of its own: each check is a timer that re-arms itself, so an
// idle call costs one timer wake-up per media_timeout.
type watch struct {
	c       *call
	end     context.CancelCauseFunc // ends the call with a callEnd cause
	timeout time.Duration           // the line's media_timeout
	ctx     context.Context         // ends at stop: cuts a refresh in flight
	cancel  context.CancelFunc

	mu      sync.Mutex
	stopped bool
	legs    [2]watchedLeg
	media   *time.Timer
	maxDur  *time.Timer
	session *time.Timer
	gen     uint64 // of the session timer, so a stale firing does nothing
	terms   sessionTerms
	expires time.Time // the session ends then unless refreshed
}

type watchedLeg struct {
	ep    *media.Endpoint // nil: not watched (yet)
	since time.Time       // silence counts from here at the earliest
}

// newWatch starts watching the caller's leg and the call's duration.
func newWatch(c *call, end context.CancelCauseFunc) *watch {
	w := &watch{c: c, end: end, timeout: time.Duration(c.a.line.MediaTimeout)}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	now := time.Now()
	w.legs[sideCaller] = watchedLeg{ep: c.inEp, since: now}
	w.media = time.AfterFunc(w.timeout, w.checkMedia)
	w.maxDur = time.AfterFunc(time.Duration(c.a.line.MaxDuration), func() {
		w.fire(errMaxDuration, zap.Duration("max_duration", time.Duration(c.a.line.MaxDuration)))
	})
	return w
}

// watchLeg adds the agent's leg once it is bridged.
func (w *watch) watchLeg(side int, ep *media.Endpoint) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.legs[side] = watchedLeg{ep: ep, since: time.Now()}
}

// touch restarts a leg's silence count: its media changed (new address,
// off hold), so packets may only now start.
func (w *watch) touch(side int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.legs[side].ep != nil {
		w.legs[side].since = time.Now()
	}
}

// checkMedia ends the call when a watched leg that is not on hold has
// been silent for the timeout, else re-arms for the earliest deadline.
func (w *watch) checkMedia() {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	now := time.Now()
	next := w.timeout
	for side := range w.legs {
		l := &w.legs[side]
		if l.ep == nil {
			continue
		}
		if w.c.onHold(side, l.ep) {
			l.since = now
			continue
		}
		last := l.ep.LastReceived()
		if last.Before(l.since) {
			last = l.since
		}
		idle := now.Sub(last)
		if idle >= w.timeout {
			w.mu.Unlock()
			w.fire(errMediaTimeout, zap.String("silent_leg", [2]string{"caller", "agent"}[side]),
				zap.Duration("media_timeout", w.timeout))
			return
		}
		next = min(next, w.timeout-idle)
	}
	w.media.Reset(next + time.Millisecond)
	w.mu.Unlock()
}

// fire ends the call with cause, once.
func (w *watch) fire(cause callEnd, fields ...zap.Field) {
	w.mu.Lock()
	stopped := w.stopped
	w.mu.Unlock()
	if stopped {
		return
	}
	w.c.log.Info("ending call: "+string(cause), fields...)
	w.end(cause)
}

// startSession arms the session timer for terms, counted from now: a
// refresh halfway through when we refresh, else the end at the interval
// less min(32 s, interval/3) unless the caller refreshes (RFC 4028 §10).
func (w *watch) startSession(t sessionTerms) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	w.gen++
	gen := w.gen
	w.terms = t
	w.expires = time.Now().Add(t.interval)
	if w.session != nil {
		w.session.Stop()
	}
	if t.refresher == refresherUAS {
		w.session = time.AfterFunc(t.interval/2, func() { w.refresh(gen) })
		return
	}
	w.session = time.AfterFunc(t.interval-min(32*time.Second, t.interval/3), func() { w.expire(gen) })
}

// expire ends the call unless the session was refreshed since gen.
func (w *watch) expire(gen uint64) {
	w.mu.Lock()
	current := gen == w.gen
	w.mu.Unlock()
	if current {
		w.fire(errSessionExpired)
	}
}

// refresh sends our session refresh. A 2xx re-arms the timer; a 422
// raises the interval to the peer's Min-SE and tries again; a timeout,
// 408 or 481 ends the call (RFC 4028 §10); any other refusal is retried
// halfway to the expiry, which ends the call if nothing succeeded by then.
func (w *watch) refresh(gen uint64) {
	w.mu.Lock()
	if w.stopped || gen != w.gen {
		w.mu.Unlock()
		return
	}
	t, expires := w.terms, w.expires
	w.mu.Unlock()
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithDeadline(w.ctx, expires)
		res, err := w.c.sendRefresh(ctx, t)
		cancel()
		if w.ctx.Err() != nil {
			return // the call ended meanwhile
		}
		switch {
		case err == nil && res.IsSuccess():
			w.startSession(termsAfterRefresh(res, t))
			return
		case err == nil && res.StatusCode == statusIntervalTooSmall && attempt == 0:
			if v, ok := headerValue(res, "min-se"); ok {
				if secs, _, perr := parseSessionHeader(v); perr == nil && secs > t.interval {
					t.interval = secs
					continue
				}
			}
		case err != nil || res.StatusCode == sipmsg.StatusRequestTimeout || res.StatusCode == sipmsg.StatusCallTransactionDoesNotExists:
			w.c.log.Info("session refresh failed", zap.Error(err), zap.Int("sip_code", statusOf(res)))
			w.fire(errSessionExpired)
			return
		}
		w.c.log.Info("session refresh refused", zap.Int("sip_code", statusOf(res)))
		w.mu.Lock()
		if !w.stopped && gen == w.gen {
			if left := time.Until(expires); left > 2*time.Second {
				w.session = time.AfterFunc(left/2, func() { w.refresh(gen) })
			} else {
				w.session = time.AfterFunc(left, func() { w.expire(gen) })
			}
		}
		w.mu.Unlock()
		return
	}
}

func statusOf(res *sipmsg.Response) int {
	if res == nil {
		return 0
	}
	return res.StatusCode
}

// stop ends every check and any refresh in flight; it is idempotent.
func (w *watch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	w.stopped = true
	w.cancel()
	for _, t := range []*time.Timer{w.media, w.maxDur, w.session} {
		if t != nil {
			t.Stop()
		}
	}
}

// onHold reports whether a leg is on hold either way, so its silence is
// expected: we told its peer sendonly, recvonly or inactive, or its peer
// took the media away (c=0.0.0.0).
func (c *call) onHold(side int, ep *media.Endpoint) bool {
	if p := ep.Peer(); p == nil || !p.Addr.IsValid() {
		return true
	}
	d := c.direction(side)
	return d != "" && d != media.SendRecv
}

// direction is what we last offered or answered on a side.
func (c *call) direction(side int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.localDir[side]
}
