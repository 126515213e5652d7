package sip

import (
	"context"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/media"
	"github.com/kiroku-voice/kiroku/spool"
)

// dialGroup reaches the first downstream of the line's group that answers,
// in the order the health of each allows (see health.plan), playing
// ringback to the caller while one rings and while the next is tried, and
// bridges the caller to it until one side hangs up. When none answers the
// caller hears the line's unavailable prompt and gets a BYE.
func (c *call) dialGroup(ctx context.Context, targets []config.Downstream) string {
	s := c.s
	c.dialing = s.setups.enter(c.decidedAt)
	defer c.dialed()
	try, skipped := s.health.plan(targets, time.Now())
	c.mu.Lock()
	c.manifest.Attempts = append(c.manifest.Attempts, skipped...)
	c.mu.Unlock()
	for _, a := range skipped {
		c.attempted(a)
	}
	ep, err := s.portsFor(c.a.line.DownstreamMediaInterface).Open()
	if err != nil {
		c.log.Error("no rtp port for agent leg", zap.Error(err))
		c.byeCaller()
		return endMediaFailed
	}
	c.mu.Lock()
	c.outEp = ep
	c.mu.Unlock()
	c.latchLeg(sideAgent, ep, c.a.line.DownstreamLatching)

	ring := newRingback(c.inEp)
	defer ring.stop()
	// Early media recorded from a downstream that then failed: the file
	// is closed when no other one answers.
	defer func() { c.stopRecording(time.Now()) }()
	began := make([]string, len(try))
	redirects := 0
	for i := 0; i < len(try); i++ {
		if i > 0 {
			// A fresh endpoint for each downstream: late RTP of a failed
			// one (its early media) must not latch or reach the next.
			next, err := s.portsFor(c.a.line.DownstreamMediaInterface).Open()
			if err != nil {
				c.log.Error("no rtp port for agent leg", zap.Error(err))
				c.byeCaller()
				return endMediaFailed
			}
			c.latchLeg(sideAgent, next, c.a.line.DownstreamLatching)
			c.mu.Lock()
			old := c.outEp
			c.outEp, ep = next, next
			c.mu.Unlock()
			old.Close()
		}
		d := try[i]
		r := c.attempt(ctx, d.URI, ep, ring)
		if r.redirect != "" && redirects < maxRedirects {
			// Tried next, before the rest of the group.
			redirects++
			try = append(try[:i+1], append([]config.Downstream{{URI: r.redirect, Weight: 1}}, try[i+1:]...)...)
			began = append(began[:i+1], append([]string{beganRedirect}, began[i+1:]...)...)
		}
		c.attempted(r.Attempt)
		c.mu.Lock()
		c.manifest.Attempts = append(c.manifest.Attempts, r.Attempt)
		c.manifest.Downstream = d.URI
		c.mu.Unlock()
		switch r.Outcome {
		case spool.AttemptAnswered:
			ring.stop()
			if began[i] == "" {
				began[i] = beganAnswer
			}
			return c.bridgeTo(ctx, r, ep, began[i])
		case spool.AttemptCancelled:
			return c.hangupReason(ctx)
		case spool.AttemptBusy:
			if !c.a.line.FailoverOnBusy {
				return c.unavailable(ctx, ring)
			}
		}
		if r.mediaErr {
			c.byeCaller()
			return endMediaFailed
		}
		if i < len(try)-1 {
			ring.start(ctx) // the caller hears ringing, not silence, while the next is tried
			c.log.Info("trying the next downstream", zap.String("failed", d.URI), zap.Int("sip_code", r.Status), zap.String("outcome", r.Outcome))
		}
	}
	return c.unavailable(ctx, ring)
}

// dialed ends the call's second set-up stage: the first INVITE to the
// agent platform went out (or none will). Later calls do nothing.
func (c *call) dialed() {
	if c.dialing == 0 {
		return
	}
	c.s.setups.done(c.dialing)
	c.dialing = 0
	c.s.setupStage(stageAgent, time.Since(c.decidedAt))
}

// attempted counts one downstream attempt.
func (c *call) attempted(a spool.Attempt) {
	if c.s.obs != nil {
		c.s.obs.DownstreamAttempt(a.Outcome)
	}
}

// unavailable ends a call that no downstream took: the line's unavailable
// prompt, then BYE.
func (c *call) unavailable(ctx context.Context, ring *ringback) string {
	ring.stop()
	c.mu.Lock()
	attempts := len(c.manifest.Attempts)
	c.mu.Unlock()
	c.log.Warn("no downstream took the call", zap.Int("attempts", attempts))
	if ctx.Err() != nil {
		return c.hangupReason(ctx)
	}
	if p := c.a.line.UnavailablePrompt; p != nil {
		if err := c.inEp.Play(ctx, p.PCM); err != nil && ctx.Err() != nil {
			return c.hangupReason(ctx)
		}
	}
	return c.failReason(ctx)
}

// recordingTap is the call's recording, started at start when it has not
// begun yet (early media may have begun it), with the agent leg speaking
// agent.
func (c *call) recordingTap(start time.Time, agent media.Audio) media.Tap {
	c.mu.Lock()
	if len(c.codecs[sideCaller]) == 0 { // a delayed offer: known from the ACK
		if cc := c.codec(sideCaller); cc != nil {
			c.codecs[sideCaller] = []string{cc.Name()}
		}
	}
	if n := len(c.codecs[sideAgent]); n == 0 || c.codecs[sideAgent][n-1] != agent.Codec.Name() {
		c.codecs[sideAgent] = append(c.codecs[sideAgent], agent.Codec.Name())
	}
	rec := c.rec
	c.mu.Unlock()
	if rec == nil {
		if c.startRecording(start, agent.Codec) == nil {
			return nil
		}
	}
	c.mu.Lock()
	rec = c.rec
	names := [2]string{strings.Join(c.codecs[0], ","), strings.Join(c.codecs[1], ",")}
	c.mu.Unlock()
	rec.SetCodecs(names[0], names[1])
	return rec
}

// bridgeTo bridges the caller to the downstream that answered, until one
// side hangs up; a transfer (see transfer.go) switches the agent side to
// the leg that took it, with the recording going on in the same file.
func (c *call) bridgeTo(ctx context.Context, r attemptResult, ep *media.Endpoint, began string) string {
	out, target := r.out, r.URI
	var br *media.Bridge
	defer func() {
		if br != nil {
			br.Stop()
		}
	}()
	// A caller whose notice played as early media is answered now that
	// the agent is.
	if reason := c.answerPending(); reason != "" {
		c.byeAgent(out)
		out.Close()
		return reason
	}
	for {
		c.connectAgent(ctx, r, ep)
		if br != nil {
			br.Stop() // before the new one takes the caller's endpoint
		}
		br = media.NewBridge(c.inEp, ep, media.BridgeOptions{
			OnKey: func(side int, d media.DTMF) { c.key(side, d) },
			Swallow: func(side int, d rune) bool {
				return side == sideAgent && c.agentKey(d)
			},
			Tap: c.recordingTap(time.Now(), r.audio),
		})
		c.segmentStart(target, c.noteAgent(out.InviteResponse), began, time.Now())
		c.mu.Lock()
		bridgedBefore := c.phase == phaseBridged
		c.mu.Unlock()
		if !bridgedBefore {
			c.bridged()
		}
		c.log.Info("bridged to downstream", zap.String("downstream", target), zap.String("began", began))

		sw, reason := c.waitAgent(ctx, out)
		if reason != "" {
			return reason
		}
		oldOut, oldEp := out, ep
		r, ep, out, target, began = sw.r, sw.ep, sw.r.out, sw.target, sw.began
		c.mu.Lock()
		c.manifest.Downstream = target
		w := c.work[sideCaller]
		c.mu.Unlock()
		// The transferor often held the caller first: the target gets
		// the caller back (re-INVITE sendrecv), or it would hear nothing
		// and the caller's channel would be recorded silent.
		if dir := c.direction(sideCaller); dir != media.SendRecv && dir != "" {
			if w == nil || !w.do(func(ctx context.Context) { c.passDirection(ctx, sideCaller, media.SendRecv) }) {
				c.log.Warn("caller left on hold after the transfer: its worker is busy or gone")
			}
		}
		c.bg.Add(1)
		go func() {
			defer c.bg.Done()
			c.releaseLeg(ctx, oldOut, oldEp)
		}()
	}
}

// waitAgent waits, while the caller is bridged to the agent leg out, for
// the call to end (its end reason) or for a transfer to bring another leg.
// A transferor that hangs up while its transfer runs does not end the
// call: the caller goes to the target, or is hung up if that fails.
func (c *call) waitAgent(ctx context.Context, out *sipgo.DialogClientSession) (switchLeg, string) {
	outDone := out.Context().Done()
	gone := false
	for {
		select {
		case <-ctx.Done():
			if !gone {
				c.byeAgent(out)
			}
			c.s.legs.Delete(out.ID)
			out.Close()
			return switchLeg{}, c.hangupReason(ctx)
		case <-outDone:
			outDone, gone = nil, true
			c.mu.Lock()
			transferring := c.transferring
			c.mu.Unlock()
			if transferring {
				continue
			}
			c.s.legs.Delete(out.ID)
			out.Close()
			c.byeCaller()
			return switchLeg{}, endAgentHangup
		case sw := <-c.switchTo:
			if sw.r.out != nil {
				return sw, ""
			}
			if gone { // the transfer failed and its transferor left
				c.s.legs.Delete(out.ID)
				out.Close()
				c.byeCaller()
				return switchLeg{}, endAgentHangup
			}
		}
	}
}

// connectAgent makes the leg that answered the call's agent leg: its
// media, its dialog for in-dialog requests, its worker and media watch.
func (c *call) connectAgent(ctx context.Context, r attemptResult, ep *media.Endpoint) {
	answer := r.answer
	ep.SetPeer(media.Peer{Addr: answer.RemoteAddr(), Audio: r.audio, DTMF: answer.DTMF, Direction: answer.Direction})
	c.mu.Lock()
	c.manifest.AgentMedia = c.sec[sideAgent].describe()
	c.out, c.outEp = r.out, ep
	started := c.work[sideAgent] != nil
	c.mu.Unlock()
	c.s.legs.Store(r.out.ID, &leg{c: c, side: sideAgent, out: r.out})
	c.keepDialogs()
	if !started {
		c.startWorker(ctx, sideAgent)
	}
	if w := c.watch.Load(); w != nil {
		w.watchLeg(sideAgent, ep)
	}
}

// offerSDP is our offer to a new agent leg on ep: every codec the relay
// translates to the caller's, the caller's first.
func (c *call) offerSDP(ep *media.Endpoint) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sdpVer[sideAgent]++
	c.localDir[sideAgent] = media.SendRecv
	l := media.Local{Addr: ep.Advertised(), Port: ep.Port(), Formats: media.Offer(c.codec(sideCaller)), DTMF: media.TelephoneEvent,
		Direction: media.SendRecv, SessionID: c.sessionID, Version: c.sdpVer[sideAgent], Proto: c.sec[sideAgent].proto}
	if c.sec[sideAgent].offer {
		l.Crypto = []media.Crypto{c.sec[sideAgent].local}
	}
	return l.Marshal()
}

// downstreamInvite carries the caller's number and the dialled number to
// the agent platform, with Kiroku's call id and the consent decision.
func (c *call) downstreamInvite(uri sipmsg.Uri, body []byte, decision string) *sipmsg.Request {
	req := sipmsg.NewRequest(sipmsg.INVITE, uri)
	caller := c.in.InviteRequest.From()
	from := &sipmsg.FromHeader{DisplayName: caller.DisplayName,
		Address: sipmsg.Uri{Scheme: "sip", User: caller.Address.User, Host: c.s.ports.IP().String()},
		Params:  sipmsg.NewParams()}
	from.Params.Add("tag", sipmsg.GenerateTagN(16))
	to := &sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: "sip", User: c.a.dialled, Host: uri.Host, Port: uri.Port}}
	req.AppendHeader(from)
	req.AppendHeader(to)
	consent := "notified"
	if decision == spool.OptedOut {
		consent = "opted-out"
	}
	req.AppendHeader(sipmsg.NewHeader("X-Kiroku-Call-Id", c.id))
	req.AppendHeader(sipmsg.NewHeader("X-Kiroku-Consent", consent))
	for _, h := range c.agentHeaders() {
		req.AppendHeader(h)
	}
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)
	return req
}

func (c *call) setStatus(code int) {
	c.mu.Lock()
	c.manifest.DownstreamStatus = code
	c.mu.Unlock()
}

// failReason ends the caller's leg after a failed downstream, unless the
// caller (or shutdown) ended it first.
func (c *call) failReason(ctx context.Context) string {
	if ctx.Err() != nil {
		return c.hangupReason(ctx)
	}
	c.byeCaller()
	return endDownstreamFailed
}

func (c *call) byeAgent(out *sipgo.DialogClientSession) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := out.Bye(ctx); err != nil {
		c.log.Debug("bye to agent", zap.Error(err))
	}
}
