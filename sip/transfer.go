package sip

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/media"
	"github.com/kiroku-voice/kiroku/spool"
)

// Blind transfer (RFC 3515, RFC 5589 §6): the agent leg REFERs the call to
// another agent. Kiroku accepts (202) a target the line's transfer_targets
// allow, INVITEs it on a new agent leg, reports progress to the
// transferor in NOTIFYs with a message/sipfrag body, and when the target
// answers bridges the caller to it and releases the old leg. The caller's
// dialog and the recording go on unchanged: one recording per call, whose
// right channel is whichever agent is connected, with a segment per agent.

// transferBye is how long the transferor has to hang up after the final
// NOTIFY (RFC 5589 has it send the BYE) before Kiroku sends one itself.
const transferBye = 2 * time.Second

// Segment beginnings, as the manifest names them.
const (
	beganAnswer   = "answer"
	beganRedirect = "redirect" // a 3xx at set-up sent the call there
	beganRefer    = "refer"
	beganReplaces = "replaces" // an attended transfer: the target's consultation was replaced
)

// switchLeg is a new agent leg that answered a transfer, for the bridge
// loop to connect the caller to; the zero value says a transfer failed.
type switchLeg struct {
	r      attemptResult
	ep     *media.Endpoint
	target string
	began  string
}

// onRefer takes a REFER from an agent leg.
func (s *Server) onRefer(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	l, ok := s.findLeg(req)
	if !ok {
		s.respond(req, tx, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	c := l.c
	if l.side != sideAgent {
		// The caller's side is the carrier: calls are not transferred
		// from there.
		s.respond(req, tx, sipmsg.StatusForbidden, "Transfer Only From The Agent Side")
		return
	}
	c.mu.Lock()
	current, phase := c.out, c.phase
	c.mu.Unlock()
	if l.out == nil || l.out != current || phase != phaseBridged {
		s.respond(req, tx, sipmsg.StatusForbidden, "Not The Connected Agent")
		return
	}
	if err := l.out.ReadRequest(req, tx); err != nil {
		s.respond(req, tx, sipmsg.StatusInternalServerError, "CSeq Out Of Order", sipmsg.NewHeader("Retry-After", "1"))
		return
	}
	rt := req.GetHeader("Refer-To")
	if rt == nil {
		s.respond(req, tx, sipmsg.StatusBadRequest, "Missing Refer-To")
		return
	}
	var target sipmsg.Uri
	if _, err := sipmsg.ParseAddressValue(rt.Value(), &target, nil); err != nil || target.Host == "" {
		s.respond(req, tx, sipmsg.StatusBadRequest, "Bad Refer-To")
		return
	}
	// Attended transfer (RFC 5589 §7): the agent consulted a colleague on
	// the agent platform and sends the caller to that dialog, named by a
	// Replaces header in the Refer-To (RFC 3891), which goes on the
	// INVITE to the target so that it replaces the consultation.
	var replaces string
	if target.Headers != nil {
		if v, ok := target.Headers.Get("Replaces"); ok {
			r, err := url.QueryUnescape(v)
			if err != nil || !validReplaces(r) {
				s.respond(req, tx, sipmsg.StatusBadRequest, "Bad Replaces In Refer-To")
				return
			}
			replaces = r
		}
	}
	scheme := strings.ToLower(target.Scheme)
	if !c.a.line.TransferAllows(scheme, target.User, target.Host, target.Port) {
		c.log.Warn("transfer refused: target not in the line's transfer_targets", zap.String("target", targetName(target)))
		s.respond(req, tx, sipmsg.StatusForbidden, "Transfer Target Not Allowed")
		return
	}
	// Checked and set at once: two REFERs in flight (each request has
	// its goroutine) must not both be taken.
	c.mu.Lock()
	if c.transferring || c.out != l.out {
		c.mu.Unlock()
		s.respond(req, tx, sipmsg.StatusRequestPending, "Transfer In Progress")
		return
	}
	w := c.work[sideAgent]
	c.transferring = true
	c.mu.Unlock()
	// 202 before the first NOTIFY, which the worker may send at once.
	s.respond(req, tx, sipmsg.StatusAccepted, "Accepted")
	to := sipmsg.Uri{Scheme: scheme, User: target.User, Host: target.Host, Port: target.Port, UriParams: target.UriParams}
	out := l.out
	if w == nil || !w.do(func(ctx context.Context) { c.transfer(ctx, out, to, replaces) }) {
		c.mu.Lock()
		c.transferring = false
		c.mu.Unlock()
		c.log.Warn("transfer not started: the agent leg's worker is busy or gone")
		c.notifyRefer(s.baseCtx, out, "503 Service Unavailable", true)
	}
}

// validReplaces checks a Replaces value (RFC 3891 §6.1): a Call-ID, then
// to-tag and from-tag parameters; no line breaks or control characters
// (it goes into a header of ours).
func validReplaces(v string) bool {
	if v == "" || len(v) > 512 || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return false
	}
	callID, params, ok := strings.Cut(v, ";")
	if !ok || strings.TrimSpace(callID) == "" {
		return false
	}
	p := strings.ToLower(params)
	return strings.Contains(p, "to-tag=") && strings.Contains(p, "from-tag=")
}

// agentTarget is where in-dialog requests to an agent leg go: the Contact
// of its answer, or (an answer without one, which sipgo takes) the URI
// the INVITE went to.
func agentTarget(out *sipgo.DialogClientSession) sipmsg.Uri {
	if h := out.InviteResponse.Contact(); h != nil {
		return h.Address
	}
	return out.InviteRequest.Recipient
}

// targetName is a transfer target without its parameters, for logs and the
// manifest.
func targetName(u sipmsg.Uri) string {
	v := sipmsg.Uri{Scheme: u.Scheme, User: u.User, Host: u.Host, Port: u.Port}
	return v.String()
}

// transfer INVITEs the target of a REFER from the agent leg out and, when
// it answers, hands the new leg to the bridge loop. It runs on the agent
// leg's worker under the call's context.
func (c *call) transfer(ctx context.Context, out *sipgo.DialogClientSession, target sipmsg.Uri, replaces string) {
	defer func() {
		c.mu.Lock()
		c.transferring = false
		c.mu.Unlock()
	}()
	name := targetName(target)
	c.notifyRefer(ctx, out, "100 Trying", false)
	ep, err := c.s.portsFor(c.a.line.DownstreamMediaInterface).Open()
	if err != nil {
		c.log.Error("transfer: no rtp port for the new agent leg", zap.Error(err))
		c.notifyRefer(ctx, out, "503 Service Unavailable", true)
		return
	}
	c.latchLeg(sideAgent, ep, c.a.line.DownstreamLatching)
	c.mu.Lock()
	sec := c.sec[sideAgent] // the connected leg's: kept when the transfer fails
	c.mu.Unlock()
	c.log.Info("transfer: calling the target", zap.String("target", name), zap.Bool("replaces", replaces != ""))
	var hdrs []sipmsg.Header
	began := beganRefer
	if replaces != "" {
		hdrs = append(hdrs, sipmsg.NewHeader("Replaces", replaces), sipmsg.NewHeader("Require", "replaces"))
		began = beganReplaces
	}
	r := c.attempt(ctx, target.String(), ep, nil, hdrs...)
	c.mu.Lock()
	c.manifest.Attempts = append(c.manifest.Attempts, r.Attempt)
	c.mu.Unlock()
	c.attempted(r.Attempt)
	if r.Outcome != spool.AttemptAnswered {
		c.mu.Lock()
		c.sec[sideAgent] = sec
		c.mu.Unlock()
		ep.Close()
		code := r.Status
		if code < 300 {
			code = sipmsg.StatusRequestTimeout
		}
		c.log.Warn("transfer failed: the call stays with the agent", zap.String("target", name), zap.Int("sip_code", r.Status), zap.String("outcome", r.Outcome))
		// The bridge loop learns it too: a transferor that hung up
		// meanwhile leaves the caller with nobody.
		select {
		case c.switchTo <- switchLeg{}:
		case <-ctx.Done():
		}
		c.notifyRefer(ctx, out, strconv.Itoa(code)+" "+reasonOf(code), true)
		return
	}
	// The caller is switched before the final NOTIFY: the transferor
	// hangs up as soon as it has it (RFC 5589), and its BYE must find the
	// caller already with the target.
	select {
	case c.switchTo <- switchLeg{r: r, ep: ep, target: target.String(), began: began}:
	case <-ctx.Done():
		c.byeAgent(r.out)
		r.out.Close()
		ep.Close()
		return
	}
	c.notifyRefer(ctx, out, "200 OK", true)
}

// reasonOf is a status line's reason phrase for a sipfrag.
func reasonOf(code int) string {
	switch code {
	case sipmsg.StatusBusyHere:
		return "Busy Here"
	case sipmsg.StatusRequestTimeout:
		return "Request Timeout"
	case sipmsg.StatusTemporarilyUnavailable:
		return "Temporarily Unavailable"
	case sipmsg.StatusNotFound:
		return "Not Found"
	case sipmsg.StatusServiceUnavailable:
		return "Service Unavailable"
	case sipmsg.StatusNotAcceptableHere:
		return "Not Acceptable Here"
	}
	return "Failed"
}

// notifyRefer tells the transferor how the transfer goes (RFC 3515 §2.4.5):
// a NOTIFY of event refer whose message/sipfrag body is the target's
// status line; final ends the implicit subscription.
func (c *call) notifyRefer(ctx context.Context, out *sipgo.DialogClientSession, status string, final bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req := sipmsg.NewRequest(sipmsg.NOTIFY, agentTarget(out))
	req.AppendHeader(sipmsg.NewHeader("Event", "refer"))
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	req.AppendHeader(sipmsg.NewHeader("Subscription-State", state))
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody([]byte("SIP/2.0 " + status + "\r\n"))
	res, err := out.Do(ctx, req)
	if err != nil || !res.IsSuccess() {
		c.log.Debug("transfer: notify to the transferor", zap.String("status", status), zap.Int("sip_code", statusOf(res)), zap.Error(err))
	}
}

// releaseLeg ends an agent leg the caller was transferred away from: its
// transferor hangs up after the final NOTIFY, or Kiroku does after
// transferBye.
func (c *call) releaseLeg(ctx context.Context, out *sipgo.DialogClientSession, ep *media.Endpoint) {
	t := time.NewTimer(transferBye)
	defer t.Stop()
	select {
	case <-out.Context().Done():
	case <-t.C:
		c.byeAgent(out)
	case <-ctx.Done():
		c.byeAgent(out)
	}
	c.s.legs.Delete(out.ID)
	out.Close()
	ep.Close()
}

// segmentStart opens the recording segment of a newly connected agent.
func (c *call) segmentStart(downstream, agentID, began string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	segs := c.manifest.Segments
	if n := len(segs); n > 0 && segs[n-1].EndedAt == nil {
		end := at.UTC()
		segs[n-1].EndedAt = &end
	}
	start := at.UTC()
	c.manifest.Segments = append(segs, spool.Segment{StartedAt: start, Downstream: downstream, AgentID: agentID, Began: began})
}

// segmentsEnd closes the last segment at the end of the call.
func (c *call) segmentsEnd(at time.Time) {
	segs := c.manifest.Segments
	if n := len(segs); n > 0 && segs[n-1].EndedAt == nil {
		end := at.UTC()
		segs[n-1].EndedAt = &end
	}
}
