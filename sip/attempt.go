package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/media"
	"github.com/kiroku-voice/kiroku/spool"
)

// attemptResult is one downstream tried: its manifest entry and, when it
// answered, the dialog and its answer.
type attemptResult struct {
	spool.Attempt
	out      *sipgo.DialogClientSession
	answer   *media.Description
	audio    media.Audio
	mediaErr bool   // our side failed (SRTP keys): no use trying another
	redirect string // a 3xx's Contact the line allows: to be tried next
}

// maxRedirects bounds the 3xx a call follows (a loop of redirects).
const maxRedirects = 3

// attempt sends one INVITE to target and waits for its answer, within
// sip.ring_timeout for a first response and sip.answer_timeout in all.
func (c *call) attempt(ctx context.Context, target string, ep *media.Endpoint, ring *ringback, hdrs ...sipmsg.Header) (r attemptResult) {
	s := c.s
	started := time.Now().UTC()
	r.URI, r.StartedAt = target, &started
	defer func() {
		ended := time.Now().UTC()
		r.EndedAt = &ended
		if r.Outcome != spool.AttemptCancelled {
			c.setStatus(r.Status)
		}
	}()
	var uri sipmsg.Uri
	if err := sipmsg.ParseUri(target, &uri); err != nil {
		c.log.Error("downstream uri", zap.String("downstream", target), zap.Error(err))
		r.Outcome, r.Why = spool.AttemptFailed, "uri: "+err.Error()
		return r
	}
	if err := c.offerAgentSRTP(); err != nil {
		c.log.Error("srtp for agent leg", zap.Error(err))
		r.Outcome, r.Why, r.mediaErr = spool.AttemptFailed, "srtp: "+err.Error(), true
		return r
	}
	c.mu.Lock()
	decision := c.manifest.Consent.Decision
	c.mu.Unlock()
	req := c.downstreamInvite(uri, c.offerSDP(ep), decision)
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	transport := transportOf(uri)
	req.SetTransport(strings.ToUpper(transport))
	dua := s.dialogUAFor(transport, uri.Host)
	hc := c.a.cfg.SIP.HealthCheck

	actx, w, cancel := c.answerContext(ctx)
	defer cancel()
	var early *media.Bridge // set on the dialog's goroutine only
	defer func() {
		if early != nil && r.Outcome != spool.AttemptAnswered {
			early.Stop()
			ep.ClearSRTP()           // the next downstream negotiates its own
			ep.SetPeer(media.Peer{}) // and is offered every codec again
		}
	}()
	out, err := dua.WriteInvite(actx, req)
	if err == nil {
		w.sent()
	}
	c.dialed()
	if err != nil {
		c.log.Warn("downstream invite not sent", zap.String("downstream", target), zap.Error(err))
		s.health.report(target, false, hc, "invite")
		r.Outcome, r.Why = spool.AttemptNoResponse, "not sent: "+err.Error()
		return r
	}
	pr := c.newPracker(out)
	defer pr.stop()
	err = out.WaitAnswer(actx, sipgo.AnswerOptions{OnResponse: func(res *sipmsg.Response) error {
		pr.onResponse(res)
		r.Status = res.StatusCode
		w.responded.Store(true)
		switch {
		case early != nil:
			// Early media flows: no ringback over it.
		case ring == nil:
			// A transfer's target: the caller is still bridged to the
			// transferring agent, and keeps hearing them until it answers.
		case res.IsProvisional() && r.Status > sipmsg.StatusTrying && len(res.Body()) > 0:
			if early = c.startEarlyMedia(ep, res, ring); early == nil {
				ring.start(ctx) // unusable early media: ringback rather than silence
			}
		case r.Status == sipmsg.StatusRinging || r.Status == sipmsg.StatusSessionInProgress:
			ring.start(ctx)
		}
		if res.IsSuccess() || res.StatusCode >= 300 {
			s.health.holdOff(target, res, time.Now())
		}
		return nil
	}})
	if err != nil {
		out.Close()
		var de *sipgo.ErrDialogResponse
		switch {
		case ctx.Err() != nil:
			c.log.Info("caller hung up while the agent was ringing")
			r.Outcome = spool.AttemptCancelled
			c.setStatus(r.Status)
		case w.noResponse.Load():
			s.health.report(target, false, hc, "invite")
			r.Status, r.Outcome = 0, spool.AttemptNoResponse
		case w.noAnswer.Load():
			s.health.report(target, true, hc, "invite")                              // it rang: it is up
			r.Status, r.Outcome = sipmsg.StatusRequestTimeout, spool.AttemptNoAnswer // we cancelled
		case errors.As(err, &de):
			r.Status = de.Res.StatusCode
			// Its final response says whether it takes calls (a 100
			// then a 503 is not a downstream that answers).
			s.health.report(target, alive(r.Status), hc, "invite")
			r.Outcome = spool.AttemptFailed
			if busy(r.Status) {
				r.Outcome = spool.AttemptBusy
			}
			r.Why = de.Res.Reason
			if r.Status >= 300 && r.Status < 400 {
				r.redirect, r.Why = c.redirectTarget(de.Res)
				if r.redirect != "" {
					r.Outcome = spool.AttemptRedirected
				}
			}
		default:
			r.Outcome, r.Why = spool.AttemptNoResponse, err.Error()
		}
		if r.Outcome != spool.AttemptCancelled {
			c.log.Warn("downstream did not answer", zap.String("downstream", target), zap.Int("sip_code", r.Status),
				zap.String("outcome", r.Outcome), zap.Error(err))
		}
		return r
	}
	r.Status = out.InviteResponse.StatusCode
	s.health.report(target, true, hc, "invite")
	if err := out.Ack(context.WithoutCancel(ctx)); err != nil {
		c.log.Warn("ack to downstream", zap.Error(err))
	}
	pr.acked()
	answer, err := media.ParseSDP(pr.answer(out.InviteResponse))
	var audio media.Audio
	if err == nil {
		audio, err = media.Negotiate(answer)
	}
	if err == nil && !media.Translatable(c.a.audio.Codec, audio.Codec) {
		err = fmt.Errorf("agent answered %s, which the relay cannot translate to the caller's %s", audio.Codec.Name(), c.a.audio.Codec.Name())
	}
	if err == nil {
		err = c.answerAgentSRTP(ep, answer)
	}
	if err != nil {
		c.log.Warn("downstream answer unusable", zap.String("downstream", target), zap.Error(err))
		c.byeAgent(out)
		out.Close()
		r.Status, r.Outcome, r.Why = sipmsg.StatusNotAcceptableHere, spool.AttemptFailed, "answer: "+err.Error()
		return r
	}
	r.Outcome, r.out, r.answer, r.audio = spool.AttemptAnswered, out, answer, audio
	return r
}

// startEarlyMedia takes an 18x's SDP as the agent side's early media: the
// caller hears it instead of ringback, keys cross as in a call, and it is
// recorded only where the line says record_early_media. It returns nil
// when the SDP is unusable (the caller then hears ringback).
func (c *call) startEarlyMedia(ep *media.Endpoint, res *sipmsg.Response, ring *ringback) *media.Bridge {
	sdp, err := media.ParseSDP(res.Body())
	var audio media.Audio
	if err == nil {
		audio, err = media.Negotiate(sdp)
	}
	if err == nil && !media.Translatable(c.a.audio.Codec, audio.Codec) {
		err = fmt.Errorf("early media in %s, which the relay cannot translate to the caller's %s", audio.Codec.Name(), c.a.audio.Codec.Name())
	}
	if err == nil {
		err = c.answerAgentSRTP(ep, sdp)
	}
	if err != nil {
		c.log.Info("agent's early media unusable; the caller hears ringback", zap.Int("sip_code", res.StatusCode), zap.Error(err))
		return nil
	}
	ring.stop()
	ep.SetPeer(media.Peer{Addr: sdp.RemoteAddr(), Audio: audio, DTMF: sdp.DTMF, Direction: sdp.Direction})
	var tap media.Tap
	if c.a.line.RecordEarlyMedia {
		tap = c.recordingTap(time.Now(), audio)
	}
	c.log.Info("agent's early media relayed to the caller", zap.Int("sip_code", res.StatusCode), zap.Bool("recorded", tap != nil))
	return media.NewBridge(c.inEp, ep, media.BridgeOptions{
		OnKey: func(side int, d media.DTMF) { c.key(side, d) },
		Tap:   tap,
	})
}

// redirectTarget is where a 3xx sends the call, when the line's
// transfer_targets allow its first Contact; else "" and why not.
func (c *call) redirectTarget(res *sipmsg.Response) (target, why string) {
	h := res.Contact()
	if h == nil {
		return "", "redirect without a Contact"
	}
	u := h.Address
	if !c.a.line.TransferAllows(strings.ToLower(u.Scheme), u.User, u.Host, u.Port) {
		c.log.Warn("redirect not followed: its Contact is not in the line's transfer_targets", zap.String("contact", targetName(u)))
		return "", "redirect to " + targetName(u) + " not in transfer_targets"
	}
	to := sipmsg.Uri{Scheme: strings.ToLower(u.Scheme), User: u.User, Host: u.Host, Port: u.Port, UriParams: u.UriParams}
	return to.String(), "redirected to " + targetName(u)
}

// busy says whether a final status means the agent side is busy or
// declined (486, 600, 603): the next downstream is tried only where the
// line says so.
func busy(code int) bool {
	return code == sipmsg.StatusBusyHere || code == sipmsg.StatusGlobalBusyEverywhere || code == sipmsg.StatusGlobalDecline
}

// answerWait says why an attempt's wait for the agent's answer ended.
type answerWait struct {
	responded  atomic.Bool // the downstream sent a response (even 100)
	noResponse atomic.Bool // none within ring_timeout
	noAnswer   atomic.Bool // no final response within answer_timeout
	// sent starts ring_timeout again once the INVITE has left: the
	// timeout is the downstream's, and a send held up in kirokud (its
	// socket's writers queued behind a starved one: in a storm the INVITE
	// reached the agent a second after the timer started) is not.
	sent func()
}

// answerContext bounds the wait for one downstream's answer by
// ring_timeout until its first response (counted from the INVITE's send,
// and once more by up to that when kirokud itself was behind: lagGrace),
// by answer_timeout in all, and by
// the call. When it ends before the downstream sent any response, there is
// nothing to CANCEL yet (RFC 3261 §9.1) and sipgo would wait out Timer B
// (32 s) for one: the wait is then cut at once instead.
func (c *call) answerContext(ctx context.Context) (actx context.Context, w *answerWait, cancel func()) {
	actx, end := context.WithCancelCause(context.WithoutCancel(ctx))
	w = new(answerWait)
	stop := func() {
		if w.responded.Load() {
			end(context.Canceled) // sipgo CANCELs the INVITE
			return
		}
		end(sipgo.WaitAnswerForceCancelErr) // compared by ==, so never wrapped
	}
	sipCfg := c.a.cfg.SIP
	answerT := time.AfterFunc(time.Duration(sipCfg.AnswerTimeout), func() {
		w.noAnswer.Store(true)
		stop()
	})
	ring := time.Duration(sipCfg.RingTimeout)
	if ring <= 0 || ring > time.Duration(sipCfg.AnswerTimeout) {
		ring = time.Duration(sipCfg.AnswerTimeout)
	}
	// Armed once assigned (Reset), so the callback may reset it.
	var graced atomic.Bool
	var ringT *time.Timer
	ringT = time.AfterFunc(time.Hour, func() {
		if w.responded.Load() {
			return
		}
		if grace := c.s.sched.lagGrace(ring); grace > 0 && !graced.Swap(true) {
			// kirokud was behind: the response may be in its socket,
			// unread. Its own lag is not the downstream's silence.
			ringT.Reset(grace)
			return
		}
		w.noResponse.Store(true)
		stop()
	})
	ringT.Reset(ring)
	w.sent = func() {
		if actx.Err() == nil && !w.noResponse.Load() {
			ringT.Reset(ring)
		}
	}
	unhook := context.AfterFunc(ctx, stop)
	return actx, w, func() {
		answerT.Stop()
		ringT.Stop()
		unhook()
		end(context.Canceled)
	}
}
