package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/sip"
)

// listenWriteWait is how long one chunk of a listen stream may take to
// reach the listener unless Options.ListenWriteWait says otherwise; a
// listener that takes longer is cut off as too slow (what came meanwhile is dropped by the recorder, not queued: the
// recording never waits for a listener).
const listenWriteWait = 10 * time.Second

// ListenMetrics counts listen-ins (metrics.Metrics); the reasons are
// metrics.ListenEndReasons.
type ListenMetrics interface {
	ListenStarted()
	ListenEnded(reason string, droppedBytes int64)
	ListenRefused()
}

// How a listen ends, as the audit log's "end" and the metric's reason.
type listenEnd struct{ audit, metric string }

var (
	endCall   = listenEnd{"call ended", "call_ended"}
	endLeft   = listenEnd{"listener left", "listener_left"}
	endGone   = listenEnd{"listener gone", "listener_left"}
	endSlow   = listenEnd{"listener too slow", "slow_listener"}
	endAccess = listenEnd{"access withdrawn", "access_withdrawn"}
)

// takeListener counts one more listen-in, or reports that limit stream
// already; release with dropListener.
func (a *API) takeListener(limit int) bool {
	if a.listening.Add(1) > int64(limit) {
		a.listening.Add(-1)
		return false
	}
	return true
}

func (a *API) dropListener() { a.listening.Add(-1) }

// listenRecheck is how often a listen asks again whether its token may
// still hear the call: a reload that removes the token, its role or the
// client from its view ends the listening within this.
const listenRecheck = 2 * time.Second

// hears returns whether p may listen in to c, or why not.
func (a *API) hears(p *Principal, c sip.CallInfo) (string, bool) {
	return policyOf(a.o.Config()).HearsCall(p.who(), c.Client, c.Purpose)
}

// stillHears is why p may no longer listen in to c under the
// configuration now in force ("" while it may).
func (a *API) stillHears(p *Principal, c sip.CallInfo) string {
	if l, ok := a.auth.(Lookup); ok {
		if p, ok = l.Principal(p.Name); !ok {
			return "token no longer configured"
		}
	}
	why, _ := a.hears(p, c)
	return why
}

// listen serves GET /api/v1/calls/{id}/listen: the call's recording as
// it is written, streamed as a WAV of unknown length (16-bit stereo PCM
// at the recording's rate, caller left, agent right; silence while the
// recording is paused) until the call ends, the listener leaves or a
// reload takes its access away (listenRecheck). A
// reason is required. Past api.max_listeners streaming at once it is
// refused 503 (audited as denied). The start is audited as "listen" with
// the reason before any audio leaves, the end as "listen-end" with how
// long, how many bytes were sent, how many the recorder dropped because
// the listener was slow, and how it ended (call ended, listener left or
// gone, listener too slow: a chunk took longer than listenWriteWait,
// access withdrawn: why).
func (a *API) listen(w http.ResponseWriter, r *http.Request, p *Principal) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	q, err := params(r, "reason")
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	reason, err := reasonOf(r, q)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if !a.allow(w, r, p, id, reason) {
		return
	}
	if a.o.Calls == nil {
		writeError(w, http.StatusServiceUnavailable, errors.New("no SIP server in this process"))
		return
	}
	calls := a.o.Calls.Calls()
	i := slices.IndexFunc(calls, func(c sip.CallInfo) bool { return c.ID == id })
	if i < 0 {
		a.denyFor(w, r, p, http.StatusNotFound, id, reason, "no such call in progress", sip.ErrNoCall)
		return
	}
	c := calls[i]
	if why, ok := a.hears(p, c); !ok {
		// As for an unknown id: calls outside the token's view are not
		// to be probed.
		a.denyFor(w, r, p, http.StatusNotFound, id, reason, why, sip.ErrNoCall)
		return
	}
	l, err := a.o.Calls.Listen(id)
	switch {
	case errors.Is(err, sip.ErrNotRecording):
		a.denyFor(w, r, p, http.StatusConflict, id, reason, "call not recorded (consent: "+c.Decision+")",
			errors.New("call is not being recorded (its caller has not been notified yet, or opted out): only what is recorded can be listened to"))
		return
	case errors.Is(err, sip.ErrNoCall), errors.Is(err, sip.ErrEnded):
		a.denyFor(w, r, p, http.StatusNotFound, id, reason, "call ended before listening began", sip.ErrNoCall)
		return
	case err != nil:
		a.internal(w, "listen", err)
		return
	}
	defer l.Close()
	// The bound is counted once the call can be heard, so that a call not
	// recorded or gone is answered as such; it is the configuration's in
	// force, and listen-ins past a lowered one go on until they end.
	limit := a.o.Config().API.MaxListeners
	if limit < 1 {
		limit = config.DefaultMaxListeners
	}
	if !a.takeListener(limit) {
		if a.o.Listens != nil {
			a.o.Listens.ListenRefused()
		}
		a.denyFor(w, r, p, http.StatusServiceUnavailable, id, reason, fmt.Sprintf("listen-in limit reached (api.max_listeners %d)", limit),
			fmt.Errorf("%d listen-ins are streaming, the most api.max_listeners allows: try again when one has ended", limit))
		return
	}
	defer a.dropListener()
	if err := a.record(r, p, audit.ActionListen, id, reason, map[string]any{"line": c.Line, "purpose": c.Purpose, "rate": l.Rate()}); err != nil {
		a.internal(w, "audit of a listen", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "audio/wav")
	h.Set("Cache-Control", "private, no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	start := time.Now()
	if a.o.Listens != nil {
		a.o.Listens.ListenStarted()
	}
	var sent int64
	// send reports why the stream must end ("" while it goes on): the
	// write deadline passed (too slow), or the connection failed.
	send := func(b []byte) *listenEnd {
		_ = rc.SetWriteDeadline(time.Now().Add(a.o.ListenWriteWait))
		n, err := w.Write(b)
		sent += int64(n)
		if err == nil {
			err = rc.Flush()
		}
		switch {
		case err == nil:
			return nil
		case errors.Is(err, os.ErrDeadlineExceeded):
			return &endSlow
		default:
			return &endGone
		}
	}
	end, why := endCall, ""
	recheck := time.NewTicker(listenRecheck)
	defer recheck.Stop()
	if e := send(wav.StreamHeader(l.Rate(), 2)); e != nil {
		end = *e
	} else {
	stream:
		for {
			select {
			case <-r.Context().Done():
				end = endLeft
				break stream
			case <-recheck.C:
				if why = a.stillHears(p, c); why != "" {
					end = endAccess
					break stream
				}
			case b, open := <-l.C:
				if !open {
					break stream
				}
				if e := send(b); e != nil {
					end = *e
					break stream
				}
			}
		}
	}
	l.Close()
	if a.o.Listens != nil {
		a.o.Listens.ListenEnded(end.metric, l.Dropped())
	}
	how := end.audit
	if why != "" {
		how += ": " + why
	}
	detail := map[string]any{"seconds": time.Since(start).Round(time.Millisecond).Seconds(), "bytes": sent,
		"dropped_bytes": l.Dropped(), "end": how}
	if err := a.record(r, p, audit.ActionListenEnd, id, reason, detail); err != nil {
		a.log.Error("audit of a listen's end", zap.String("call", id), zap.Error(err))
	}
}
