package sip

import (
	"context"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
)

// answerCaller sends the 200 to the caller and waits for its ACK, then
// starts the media watch and session timer; it returns a non-empty end
// reason when the call cannot go on. It runs once: at once, or when the
// agent answers a call whose notice played as early media.
func (c *call) answerCaller(callCtx context.Context, end context.CancelCauseFunc, req *sipmsg.Request, tx sipmsg.ServerTransaction, res *sipmsg.Response) string {
	s, in := c.s, c.in
	w := newWatch(c, end)
	c.watch.Store(w)
	// WriteResponse returns once the ACK is in (or the caller gave up);
	// when the watch ends the call first, ending the transaction makes
	// it return at its next retransmission of the 200.
	unblock := context.AfterFunc(callCtx, func() {
		if ourEnd(callCtx) != "" {
			s.cutShortTx(req)
			tx.Terminate()
		}
	})
	s.responded("INVITE", sipmsg.StatusOK)
	err := in.WriteResponse(res)
	unblock()
	c.answered.Store(err == nil)
	if err != nil {
		c.consentEvent(consentEvent{kind: evHangUp, at: time.Now().UTC()})
		if reason := ourEnd(callCtx); reason != "" {
			c.byeCaller()
			return reason
		}
		if callCtx.Err() == nil && !c.acked.Load() {
			// The 200 went unacknowledged until the transaction gave up
			// (64*T1): end the session we answered (RFC 3261 §13.3.1.4).
			c.log.Info("caller never acknowledged the answer", zap.Error(err))
			c.answered.Store(true)
			c.byeCaller()
			return endNoAck
		}
		c.log.Info("caller left before answer completed", zap.Error(err))
		return endCallerHangup
	}
	if c.a.lateOffer {
		if reason := c.takeAckAnswer(); reason != "" {
			c.byeCaller()
			return reason
		}
	}
	w.startSession(c.a.session)
	answered := time.Now().UTC()
	c.mu.Lock()
	c.manifest.AnsweredAt = &answered
	c.mu.Unlock()
	c.writeManifest()
	c.keepDialogs()
	return ""
}

// earlyNotice says whether the notice plays as early media: the line's
// notice_mode is early-media and the caller offered SDP (a delayed offer
// is answered first: its offer can only go in the 200 without 100rel).
func (c *call) earlyNotice() bool {
	return c.a.line.NoticeMode == config.NoticeEarlyMedia && !c.a.lateOffer
}

// progress sends the 183 with our answer that the early notice plays in:
// reliable (PRACKed) when the caller requires 100rel.
func (c *call) progress(ctx context.Context, sdp []byte) string {
	c.mu.Lock()
	c.manifest.NoticeMode = config.NoticeEarlyMedia
	c.mu.Unlock()
	if c.rel != nil {
		return c.reliable183(ctx, sdp)
	}
	res := sipmsg.NewSDPResponseFromRequest(c.in.InviteRequest, sdp)
	res.StatusCode, res.Reason = sipmsg.StatusSessionInProgress, "Session Progress"
	if err := c.in.WriteResponse(res); err != nil {
		c.log.Info("caller left before the early notice", zap.Error(err))
		return endCallerHangup
	}
	return ""
}

// answerPending answers a caller whose notice played as early media, now
// that the agent side answered; "" when answered (or already was).
func (c *call) answerPending() string {
	f := c.answerLater
	if f == nil {
		return ""
	}
	c.answerLater = nil
	return f()
}
