package loadgen

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// Timeouts of one call's SIP steps; they bound a run whatever kirokud does.
const (
	answerTimeout = 15 * time.Second // INVITE to 200 OK at the caller
	bridgeTimeout = 15 * time.Second // 200 OK to the agent leg's ACK
	byeTimeout    = 10 * time.Second
	agentEndWait  = 5 * time.Second // caller's BYE done to the agent's BYE
)

// callerPrefix starts every caller number; the call's index follows, so
// the agent recognises the call in the From of kirokud's INVITE.
const callerPrefix = "0399"

// call is one caller's call through kirokud to an agent.
type call struct {
	idx  int
	user string // caller number, From user

	bridged    chan struct{} // the agent leg is answered and ACKed
	agentEnded chan struct{} // kirokud hung up the agent leg

	mu         sync.Mutex
	kirokuID   string // X-Kiroku-Call-Id: the manifest's name
	inviteAt   time.Time
	answeredAt time.Time // 200 OK at the caller
	agentAt    time.Time // kirokud's INVITE at the agent
	bridgedAt  time.Time // the agent's 200 OK ACKed
	hangupAt   time.Time
	endedAt    time.Time
	failure    string // why the call did not go as planned, "" if it did
	callerRTP  *stream
	agentRTP   *stream
}

func newCall(idx int) *call {
	return &call{idx: idx, user: fmt.Sprintf("%s%06d", callerPrefix, idx),
		bridged: make(chan struct{}), agentEnded: make(chan struct{})}
}

// callIndex reads the index back from a caller number.
func callIndex(user string) (int, bool) {
	rest, ok := strings.CutPrefix(user, callerPrefix)
	if !ok || len(rest) == 0 {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 0
}

func (c *call) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failure == "" {
		c.failure = fmt.Sprintf(format, args...)
	}
}

// callerLeg runs the caller's side of c: INVITE, media, hold, BYE.
func (r *runner) callerLeg(ctx context.Context, c *call) {
	k := r.kirokudSIP
	target := sipmsg.Uri{Scheme: "sip", User: r.line, Host: k.Addr().String(), Port: int(k.Port())}
	req := sipmsg.NewRequest(sipmsg.INVITE, target)
	from := &sipmsg.FromHeader{Address: sipmsg.Uri{Scheme: "sip", User: c.user, Host: "127.0.0.1"}, Params: sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: target})
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(sdpBody(uint64(c.idx)+1, r.callerRTP.Port()))
	req.SetTransport("UDP")

	c.mu.Lock()
	c.inviteAt = time.Now()
	hangup := c.inviteAt.Add(r.opts.Hold)
	c.mu.Unlock()
	actx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	dlg, err := r.caller.dialogs.WriteInvite(actx, req)
	if err != nil {
		c.fail("invite not sent: %v", err)
		return
	}
	defer dlg.Close()
	if err := dlg.WaitAnswer(actx, sipgo.AnswerOptions{}); err != nil {
		var de *sipgo.ErrDialogResponse
		switch {
		case errors.As(err, &de):
			c.fail("caller got %d", de.Res.StatusCode)
		case actx.Err() != nil && ctx.Err() == nil:
			c.fail("caller got no answer in %s", answerTimeout)
		default:
			c.fail("caller invite: %v", err)
		}
		return
	}
	remote, err := sdpAddr(dlg.InviteResponse.Body())
	if err != nil {
		c.fail("caller answer: %v", err)
		_ = dlg.Ack(ctx)
		r.bye(ctx, c, dlg)
		return
	}
	st := r.callerRTP.open(remote)
	if err := dlg.Ack(ctx); err != nil {
		c.fail("ack: %v", err)
	}
	c.mu.Lock()
	c.answeredAt, c.callerRTP = time.Now(), st
	c.mu.Unlock()
	r.callerRTP.send(st)

	wait := time.NewTimer(time.Until(hangup))
	defer wait.Stop()
	bridgeWait := time.NewTimer(bridgeTimeout)
	defer bridgeWait.Stop()
	bridged := c.bridged
	for done := false; !done; {
		select {
		case <-wait.C:
			done = true
		case <-bridged:
			bridged = nil
			bridgeWait.Stop()
		case <-bridgeWait.C:
			c.fail("agent leg not answered %s after the caller's 200 OK", bridgeTimeout)
			done = true
		case <-dlg.Context().Done():
			c.fail("kirokud hung up the caller before the hold time")
			r.callerRTP.silence(st)
			c.mu.Lock()
			c.endedAt = time.Now()
			c.mu.Unlock()
			return
		case <-ctx.Done():
			done = true
		}
	}
	r.callerRTP.silence(st)
	r.bye(ctx, c, dlg)
	select {
	case <-c.agentEnded:
	case <-c.bridged: // not closed if never bridged; then nothing to wait for
		select {
		case <-c.agentEnded:
		case <-time.After(agentEndWait):
			c.fail("kirokud did not hang up the agent within %s of the caller's BYE", agentEndWait)
		case <-ctx.Done():
		}
	default:
	}
}

func (r *runner) bye(ctx context.Context, c *call, dlg *sipgo.DialogClientSession) {
	c.mu.Lock()
	c.hangupAt = time.Now()
	c.mu.Unlock()
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), byeTimeout)
	defer cancel()
	if err := dlg.Bye(bctx); err != nil {
		c.fail("bye: %v", err)
	}
	c.mu.Lock()
	c.endedAt = time.Now()
	c.mu.Unlock()
}

// agentInvite answers kirokud's INVITE for the agent leg of a call.
func (r *runner) agentInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if to := req.To(); to != nil && to.Params != nil && to.Params.Has("tag") {
		respond(tx, req, sipmsg.StatusNotAcceptableHere, "No Re-INVITE Here")
		return
	}
	var c *call
	if f := req.From(); f != nil {
		if i, ok := callIndex(f.Address.User); ok && i < len(r.calls) {
			c = r.calls[i]
		}
	}
	if c == nil {
		r.strayInvites.Add(1)
		respond(tx, req, sipmsg.StatusNotFound, "No Such Call")
		return
	}
	remote, err := sdpAddr(req.Body())
	if err != nil {
		c.fail("agent offer: %v", err)
		respond(tx, req, sipmsg.StatusNotAcceptableHere, "Bad SDP")
		return
	}
	dlg, err := r.agent.dialogs.ReadInvite(req, tx)
	if err != nil {
		c.fail("agent invite: %v", err)
		respond(tx, req, sipmsg.StatusBadRequest, "Bad Request")
		return
	}
	st := r.agentRTP.open(remote)
	c.mu.Lock()
	c.agentAt, c.agentRTP = time.Now(), st
	if h := req.GetHeader("X-Kiroku-Call-Id"); h != nil {
		c.kirokuID = h.Value()
	}
	c.mu.Unlock()
	// RespondSDP returns once kirokud's ACK is in.
	if err := dlg.RespondSDP(sdpBody(uint64(c.idx)+1, r.agentRTP.Port())); err != nil {
		c.fail("agent answer: %v", err)
		dlg.Close()
		return
	}
	c.mu.Lock()
	c.bridgedAt = time.Now()
	c.mu.Unlock()
	r.agentRTP.send(st)
	close(c.bridged)
	context.AfterFunc(dlg.Context(), func() {
		r.agentRTP.silence(st)
		close(c.agentEnded)
	})
}
