package sip

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// RFC 4028 session timers on the caller's leg, where Kiroku is the UAS.
// The caller's INVITE (and each refresh) proposes an interval in
// Session-Expires; below sip.min_se it gets 422 with our Min-SE. The 2xx
// names the interval and who refreshes: the caller (refresher=uac) when it
// supports timers and did not ask for us, else Kiroku (uas), which then
// sends an UPDATE (or a re-INVITE when the caller does not allow UPDATE)
// halfway through each interval. A session nobody refreshed in time ends
// both legs with the reason "session-expired".

// statusIntervalTooSmall is RFC 4028's 422 Session Interval Too Small.
const statusIntervalTooSmall = 422

// Refresher roles, as the refresher parameter names them.
const (
	refresherUAC = "uac"
	refresherUAS = "uas"
)

// sessionTerms are the session timer agreed in one INVITE or UPDATE and
// its 2xx.
type sessionTerms struct {
	interval  time.Duration
	refresher string // uac: the caller refreshes; uas: Kiroku does
	supported bool   // the caller supports timers: our 2xx carries Require: timer
}

// errSessionHeader wraps a malformed Session-Expires or Min-SE.
var errSessionHeader = errors.New("malformed session timer header")

// negotiateSession reads Session-Expires, Min-SE and Supported from a
// request of the caller and returns the terms for our 2xx. want is
// sip.session_expires, minSE sip.min_se. tooSmall reports a proposed
// interval below minSE: the answer is 422 with Min-SE.
func negotiateSession(req *sipmsg.Request, want, minSE time.Duration) (t sessionTerms, tooSmall bool, err error) {
	t.supported = hasOption(req, "timer")
	floor := minSE
	if v, ok := headerValue(req, "min-se"); ok {
		secs, _, err := parseSessionHeader(v)
		if err != nil {
			return t, false, fmt.Errorf("Min-SE %q: %w", v, err)
		}
		floor = max(floor, secs)
	}
	t.interval = max(want, floor)
	asked := ""
	if v, ok := headerValue(req, "session-expires", "x"); ok {
		secs, refresher, err := parseSessionHeader(v)
		if err != nil {
			return t, false, fmt.Errorf("Session-Expires %q: %w", v, err)
		}
		if secs < minSE {
			return t, true, nil
		}
		// We may shorten the caller's interval to ours, never below
		// either side's minimum (RFC 4028 §9).
		t.interval = max(min(secs, want), floor)
		asked = refresher
	}
	switch {
	case !t.supported:
		t.refresher = refresherUAS // the caller would not know to refresh
	case asked != "":
		t.refresher = asked
	default:
		t.refresher = refresherUAC
	}
	return t, false, nil
}

// parseSessionHeader reads "delta-seconds *(;param)" and the refresher
// parameter, if any.
func parseSessionHeader(v string) (time.Duration, string, error) {
	parts := strings.Split(v, ";")
	n, err := strconv.ParseUint(strings.TrimSpace(parts[0]), 10, 32)
	if err != nil || n == 0 {
		return 0, "", errSessionHeader
	}
	refresher := ""
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "refresher") {
			switch r := strings.ToLower(strings.TrimSpace(val)); r {
			case refresherUAC, refresherUAS:
				refresher = r
			default:
				return 0, "", errSessionHeader
			}
		}
	}
	return time.Duration(n) * time.Second, refresher, nil
}

// headers are what a 2xx carries for these terms.
func (t sessionTerms) headers() []sipmsg.Header {
	hs := []sipmsg.Header{
		sipmsg.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=%s", int(t.interval/time.Second), t.refresher)),
		sipmsg.NewHeader("Supported", "timer"),
	}
	if t.supported {
		hs = append(hs, sipmsg.NewHeader("Require", "timer"))
	}
	return hs
}

// minSEHeader is the 422 answer's header.
func minSEHeader(minSE time.Duration) sipmsg.Header {
	return sipmsg.NewHeader("Min-SE", strconv.Itoa(int(minSE/time.Second)))
}

// headerGetter is a request or response.
type headerGetter interface {
	GetHeader(name string) sipmsg.Header
	GetHeaders(name string) []sipmsg.Header
}

// headerValue returns the first value of the first header named by one
// of names (full or compact form).
func headerValue(m headerGetter, names ...string) (string, bool) {
	for _, n := range names {
		if h := m.GetHeader(n); h != nil {
			return h.Value(), true
		}
	}
	return "", false
}

// hasOption reports whether m's Supported (or compact k) headers list tag.
func hasOption(m headerGetter, tag string) bool {
	return listHas(m, tag, "supported", "k")
}

// listHas reports whether a comma-separated header list names tag.
func listHas(m headerGetter, tag string, names ...string) bool {
	for _, n := range names {
		for _, h := range m.GetHeaders(n) {
			for v := range strings.SplitSeq(h.Value(), ",") {
				if strings.EqualFold(strings.TrimSpace(v), tag) {
					return true
				}
			}
		}
	}
	return false
}

// sendRefresh refreshes the caller's session: UPDATE without a body when
// the caller allows UPDATE, else a re-INVITE offering our current SDP.
func (c *call) sendRefresh(ctx context.Context, t sessionTerms) (*sipmsg.Response, error) {
	hdrs := []sipmsg.Header{
		sipmsg.NewHeader("Session-Expires", fmt.Sprintf("%d;refresher=%s", int(t.interval/time.Second), refresherUAS)),
		sipmsg.NewHeader("Supported", "timer"),
	}
	if listHas(c.in.InviteRequest, "UPDATE", "allow") {
		req := sipmsg.NewRequest(sipmsg.UPDATE, c.in.InviteRequest.Contact().Address)
		for _, h := range hdrs {
			req.AppendHeader(h)
		}
		return c.in.Do(ctx, req)
	}
	return c.reinvite(ctx, sideCaller, c.localSDP(sideCaller, c.direction(sideCaller)), hdrs...)
}

// termsAfterRefresh are the terms a 2xx to our refresh settles: its
// Session-Expires if it has one, else what we sent.
func termsAfterRefresh(res *sipmsg.Response, sent sessionTerms) sessionTerms {
	v, ok := headerValue(res, "session-expires", "x")
	if !ok {
		return sent
	}
	secs, refresher, err := parseSessionHeader(v)
	if err != nil {
		return sent
	}
	t := sent
	t.interval = secs
	if refresher != "" {
		t.refresher = refresher
	}
	return t
}
