package httpapi

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/sip"
)

// listenWriteWait is how long one chunk of a listen stream may take to
// reach the listener; a listener that takes longer is cut off (what came
// meanwhile is dropped by the recorder, not queued).
const listenWriteWait = 10 * time.Second

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
// reason is required. The start is audited as "listen" with the reason
// before any audio leaves, the end as "listen-end" with how long, how
// many bytes were sent and how many the recorder dropped because the
// listener was slow.
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
	var sent int64
	send := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(listenWriteWait))
		n, err := w.Write(b)
		sent += int64(n)
		return err == nil && rc.Flush() == nil
	}
	end := "call ended"
	recheck := time.NewTicker(listenRecheck)
	defer recheck.Stop()
	if !send(wav.StreamHeader(l.Rate(), 2)) {
		end = "listener gone"
	} else {
	stream:
		for {
			select {
			case <-r.Context().Done():
				end = "listener left"
				break stream
			case <-recheck.C:
				if why := a.stillHears(p, c); why != "" {
					end = "access withdrawn: " + why
					break stream
				}
			case b, open := <-l.C:
				if !open {
					break stream
				}
				if !send(b) {
					end = "listener gone"
					break stream
				}
			}
		}
	}
	l.Close()
	detail := map[string]any{"seconds": time.Since(start).Round(time.Millisecond).Seconds(), "bytes": sent,
		"dropped_bytes": l.Dropped(), "end": end}
	if err := a.record(r, p, audit.ActionListenEnd, id, reason, detail); err != nil {
		a.log.Error("audit of a listen's end", zap.String("call", id), zap.Error(err))
	}
}
