package sip

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/media"
	"github.com/kiroku-voice/kiroku/spool"
)

// Call phases, in order.
const (
	phaseNotice  = iota // notice playing or opt-out window open
	phaseDialing        // consent decided, reaching the agent
	phaseBridged
	phaseEnded
)

// End reasons written to the manifest.
const (
	endCallerHangup     = "caller-hangup"
	endAgentHangup      = "agent-hangup"
	endDownstreamFailed = "downstream-failed"
	endShutdown         = "shutdown"
	endAnswerFailed     = "answer-failed"
	endMediaFailed      = "media-failed"
	endMediaTimeout     = "media-timeout"   // no RTP from a leg not on hold for the line's media_timeout
	endSessionExpired   = "session-expired" // a session refresh (RFC 4028) was missed or failed
	endMaxDuration      = "max-duration"    // the line's max_duration was reached
	endNoAck            = "no-ack"          // the caller never ACKed our 200
)

// side of a call a leg is on.
const (
	sideCaller = 0
	sideAgent  = 1
)

// leg is what the in-dialog handlers find by dialog id.
type leg struct {
	c    *call
	side int
	out  *sipgo.DialogClientSession // an agent leg's dialog (a transfer may leave several)
}

// call is one caller's path through Kiroku.
type call struct {
	s   *Server
	log *zap.Logger
	a   admission
	id  string

	in       *sipgo.DialogServerSession
	inEp     *media.Endpoint
	watch    atomic.Pointer[watch] // set once the 200 goes out
	acked    atomic.Bool           // the caller's ACK of our 200 came
	answered atomic.Bool           // our 200 reached the caller: a BYE ends it, else a final response
	// answerLater sends the 200 of a call whose notice plays as early
	// media; set on the call's goroutine, called there once.
	answerLater func() string
	rel         *reliable // the caller requires 100rel: our reliable 183 (prack.go)
	// ackSDP is the body of the caller's ACK to our 200 when that 200
	// made the offer (a delayed-offer INVITE: lateoffer.go).
	ackSDP atomic.Pointer[[]byte]

	// dialing is the call's token among the set-ups while the INVITE to
	// the agent platform is owed (overload.go), decidedAt since when;
	// both only on the call's goroutine.
	dialing   uint64
	decidedAt time.Time

	mu        sync.Mutex
	phase     int
	consent   *consent
	stopNote  context.CancelFunc
	out       *sipgo.DialogClientSession
	outEp     *media.Endpoint
	manifest  spool.Manifest
	sessionID uint64
	sdpVer    [2]uint64
	localDir  [2]string // direction we last offered/answered per side
	sec       [2]legSec // media security per side
	rec       *media.Recorder
	audio     *spool.Audio  // rec's sealed file, its data key queued to the spool
	work      [2]*legWorker // per side, from the 200 (caller) and the bridge (agent)
	latching  [2]string     // media latching per side (latch.go)
	codecs    [2][]string   // codecs each leg spoke, in order (re-INVITEs may change them)
	keyBuf    string        // agent keys of a pause/resume sequence in progress
	// transferring is set while a REFER's target is being called;
	// switchTo hands its answered leg to the bridge loop.
	transferring bool
	switchTo     chan switchLeg
	bg           sync.WaitGroup // legs a transfer left, being released
	keyAt        time.Time
}

func (s *Server) runCall(req *sipmsg.Request, tx sipmsg.ServerTransaction, a admission) {
	id, err := uuid.NewV7()
	if err != nil {
		tx.Respond(sipmsg.NewResponseFromRequest(req, sipmsg.StatusInternalServerError, "Internal Error", nil))
		return
	}
	c := &call{s: s, a: a, id: id.String(), sessionID: rand.Uint64() >> 1, consent: newConsent(a.line.OptOutDigit)}
	if a.offer != nil {
		c.sec[sideCaller].proto = a.offer.Proto
	}
	if a.rel100 {
		c.rel = newReliable(req.CSeq().SeqNo)
	}
	if a.audio.Codec != nil {
		c.codecs[sideCaller] = []string{a.audio.Codec.Name()}
	}
	c.switchTo = make(chan switchLeg)
	c.log = s.log.With(zap.String("call_id", c.id), zap.String("line", a.line.Number),
		zap.String("ani", config.MaskNumber(a.caller)), zap.String("sip_call_id", req.CallID().Value()))
	now := time.Now().UTC()
	p := a.line.Prompt
	c.manifest = spool.Manifest{
		ID: c.id, SIPCallID: req.CallID().Value(), State: spool.StateNotice,
		Caller: a.caller, Dialled: a.dialled, Line: a.line.Number, Purpose: a.line.Purpose,
		Client: a.line.Client, Trunk: a.trunk, Source: req.Transport() + ":" + a.source.String(), Downstream: a.line.Downstream,
		StartedAt: now,
		Consent: spool.Consent{OptOutDigit: a.line.OptOutDigit, Notice: spool.Notice{
			File: p.Name, SHA256: p.SHA256, Duration: p.Duration.Seconds()}},
	}
	a.id.apply(&c.manifest, a.trunk)
	if a.purpose != nil {
		c.manifest.PurposeDescription = a.purpose.Description
	}
	reason := c.run(req, tx)
	c.finish(reason)
}

// run takes the call from INVITE to its end and returns the end reason.
func (c *call) run(req *sipmsg.Request, tx sipmsg.ServerTransaction) string {
	s := c.s
	dua := s.dialogUAFor(req.Transport(), c.a.source.Addr().String())
	in, err := dua.ReadInvite(req, tx)
	if err != nil {
		c.log.Warn("invite rejected by dialog layer", zap.Error(err))
		tx.Respond(sipmsg.NewResponseFromRequest(req, sipmsg.StatusBadRequest, "Bad Request", nil))
		return endAnswerFailed
	}
	c.in = in
	s.legs.Store(in.ID, &leg{c: c, side: sideCaller})
	defer s.legs.Delete(in.ID)
	defer in.Close()

	if err := in.Respond(sipmsg.StatusTrying, "Trying", nil); err != nil {
		return endCallerHangup
	}
	ep, err := s.portsFor(c.a.mediaIf).Open()
	if err != nil {
		c.log.Error("no rtp port for caller leg", zap.Error(err))
		in.Respond(sipmsg.StatusServiceUnavailable, "No Media Port", nil, sipmsg.NewHeader("Retry-After", "5"))
		return endMediaFailed
	}
	c.mu.Lock() // Calls() reads it under mu from another goroutine
	c.inEp = ep
	c.mu.Unlock()
	c.latchLeg(sideCaller, ep, c.a.latching)
	dir := media.SendRecv // what a delayed offer offers
	if offer := c.a.offer; offer != nil {
		ep.SetPeer(media.Peer{Addr: offer.RemoteAddr(), Audio: c.a.audio, DTMF: offer.DTMF, Direction: offer.Direction})
		dir = media.AnswerDirection(offer.Direction)
	}
	if c.a.lateOffer {
		if err := c.offerCallerSRTP(); err != nil {
			c.log.Error("srtp for caller leg", zap.Error(err))
			in.Respond(sipmsg.StatusInternalServerError, "SRTP Failed", nil)
			return endMediaFailed
		}
	}
	if c.a.srtpOn {
		if err := c.startCallerSRTP(c.a.srtp); err != nil {
			c.log.Error("srtp for caller leg", zap.Error(err))
			in.Respond(sipmsg.StatusInternalServerError, "SRTP Failed", nil)
			return endMediaFailed
		}
		if !strings.EqualFold(req.Transport(), "TLS") {
			c.log.Warn("SRTP keys were exchanged over unencrypted SIP; use sips/TLS to keep them secret")
		}
	}
	c.mu.Lock()
	c.manifest.CallerMedia = c.sec[sideCaller].describe()
	c.mu.Unlock()
	c.listenKeys(ep)

	local := c.localSDP(sideCaller, dir)
	// Our answer is ready: what follows waits on the caller (its ACK or
	// PRACK), not on this node, so the call no longer counts as a set-up
	// in progress — a caller that never acknowledges cannot hold the
	// node in overload.
	s.setups.done(c.a.setup)
	s.setupStage(stageAnswer, time.Since(c.a.received))
	res := sipmsg.NewSDPResponseFromRequest(in.InviteRequest, local)
	for _, h := range c.a.session.headers() {
		res.AppendHeader(h)
	}

	// The watch runs from the 200 on: a caller that never ACKs, or ACKs
	// and then sends nothing, is ended like any dead call.
	callCtx, end, cancel := c.callContext(in.Context())
	defer cancel()
	c.startWorker(callCtx, sideCaller)
	defer func() {
		if w := c.watch.Load(); w != nil {
			w.stop()
		}
	}()
	if c.earlyNotice() {
		// The notice plays as early media: a 183 with our answer
		// (reliable when the caller requires 100rel), and the 200 only
		// when the agent answers (see answerCaller), so that the toll-free
		// call is billed from an agent, not from the notice.
		if reason := c.progress(callCtx, local); reason != "" {
			return reason
		}
		c.answerLater = func() string { return c.answerCaller(callCtx, end, req, tx, res) }
		c.log.Info("notice as early media: the caller is answered when the agent is")
	} else {
		if c.rel != nil && !c.a.lateOffer {
			// A caller that requires 100rel gets our answer first in a
			// reliable 183, the same SDP as the 200 that follows its PRACK.
			if reason := c.reliable183(callCtx, local); reason != "" {
				return reason
			}
		}
		if reason := c.answerCaller(callCtx, end, req, tx, res); reason != "" {
			return reason
		}
	}

	if reason := c.notice(callCtx); reason != "" {
		return reason
	}
	return c.a.flow.run(callCtx, c)
}

// callContext ends with the caller's dialog, with the server's hard stop,
// or when end is called with the callEnd that says why.
func (c *call) callContext(dialog context.Context) (ctx context.Context, end context.CancelCauseFunc, cancel func()) {
	ctx, end = context.WithCancelCause(dialog)
	stop := context.AfterFunc(c.s.baseCtx, func() { end(errShutdown) })
	return ctx, end, func() { stop(); end(nil) }
}

// ourEnd is the end reason when Kiroku ended the call itself (shutdown,
// a dead or too long call), else "".
func ourEnd(ctx context.Context) string {
	var e callEnd
	if errors.As(context.Cause(ctx), &e) {
		return string(e)
	}
	return ""
}

// hangupReason is the end reason of a call whose context ended: when
// Kiroku ended it, the caller gets a BYE.
func (c *call) hangupReason(ctx context.Context) string {
	if reason := ourEnd(ctx); reason != "" {
		c.byeCaller()
		return reason
	}
	return endCallerHangup
}

// notice plays the line's notice and keeps the opt-out window open,
// feeding the consent machine what happens; it returns a non-empty end
// reason when the call is already over.
func (c *call) notice(ctx context.Context) string {
	line := c.a.line
	nctx, stop := context.WithCancel(ctx)
	defer stop()
	c.mu.Lock()
	c.stopNote = stop
	c.mu.Unlock()

	if c.consentEvent(consentEvent{kind: evNoticeStarted, at: time.Now().UTC()}) == actStopNotice {
		stop() // a key pressed while the call was being answered
	}
	err := c.inEp.Play(nctx, line.Prompt.PCM)
	// The notice stopped with the call still up and no key pressed: it
	// could not be sent (the socket refused the caller's address). The
	// caller cannot have heard it, so the call must not go on unrecorded
	// as if they had hung up.
	unsent := err != nil && nctx.Err() == nil
	if unsent {
		c.log.Error("notice could not be sent to the caller: call ended", zap.Error(err))
	}
	if c.consentEvent(consentEvent{kind: evNoticeEnded, at: time.Now().UTC(), completed: err == nil}) == actOpenWindow {
		ev := consentEvent{kind: evWindowEnded}
		if waitUntil(nctx, time.Now().Add(time.Duration(line.OptOutWait))) != nil && ctx.Err() != nil {
			ev.kind = evHangUp
		}
		ev.at = time.Now().UTC()
		c.consentEvent(ev)
	}
	c.inEp.StopInband() // decided: no more tone detection

	c.mu.Lock()
	c.phase = phaseDialing
	c.manifest.State = spool.StateBridging
	decision := c.manifest.Consent.Decision
	c.mu.Unlock()
	c.writeManifest()
	c.decidedAt = time.Now()
	c.log.Info("consent decided", zap.String("decision", decision))
	if ctx.Err() != nil {
		return c.hangupReason(ctx)
	}
	if unsent {
		c.byeCaller()
		return endMediaFailed
	}
	return ""
}

// consentEvent feeds the consent machine and copies its facts into the
// manifest.
func (c *call) consentEvent(e consentEvent) consentAction {
	c.mu.Lock()
	defer c.mu.Unlock()
	act := c.consent.handle(e)
	res, decided := c.consent.result()
	cs := &c.manifest.Consent
	if !res.NoticeStarted.IsZero() {
		start, end := res.NoticeStarted, res.NoticeEnded
		cs.Notice.StartedAt, cs.Notice.Completed = &start, res.NoticeComplete
		if !end.IsZero() {
			cs.Notice.EndedAt = &end
		}
	}
	if decided {
		cs.Decision, cs.OptOut = res.Decision, res.OptOut
	}
	return act
}

// key handles a key pressed on either leg, by RFC 4733, SIP INFO or (the
// caller, during the notice) in band.
func (c *call) key(side int, d media.DTMF) {
	isOptOut := side == sideCaller && c.keyCounts(d) &&
		c.consentEvent(consentEvent{kind: evKey, at: d.At, digit: d.Digit, via: d.Via}) == actStopNotice
	c.mu.Lock()
	phase, stop := c.phase, c.stopNote
	work := c.work
	c.mu.Unlock()
	if isOptOut {
		c.log.Info("caller opted out of recording", zap.String("via", d.Via))
		if stop != nil { // nil when the key came before the notice started
			stop()
		}
		return
	}
	// Keys sent by SIP INFO cross to the other leg as RFC 4733; RTP events
	// are relayed by the bridge itself.
	if phase == phaseBridged && d.Via == "sip-info" {
		if side == sideAgent && c.agentKey(d.Digit) {
			return
		}
		c.sendKeys(work[1-side], 1-side, string(d.Digit), 160*time.Millisecond)
	}
}

// startWorker starts the worker of one side's leg under the call's
// context; finish waits for it.
func (c *call) startWorker(ctx context.Context, side int) {
	w := startLegWorker(ctx)
	c.mu.Lock()
	c.work[side] = w
	c.mu.Unlock()
}

// sendKeys queues keys to be sent to one side's leg as RFC 4733, one
// after the other, on that leg's worker.
func (c *call) sendKeys(w *legWorker, side int, keys string, dur time.Duration) {
	if w == nil {
		return
	}
	c.mu.Lock()
	ep := c.inEp
	if side == sideAgent {
		ep = c.outEp
	}
	c.mu.Unlock()
	if ep == nil {
		return
	}
	if !w.do(func(ctx context.Context) {
		for _, k := range keys {
			if err := ep.SendKey(ctx, k, dur); err != nil {
				return
			}
		}
	}) {
		c.log.Warn("keys dropped: too many waiting for the leg", zap.Int("side", side))
	}
}

func (c *call) bridged() {
	now := time.Now().UTC()
	c.mu.Lock()
	c.phase = phaseBridged
	c.manifest.BridgedAt = &now
	c.manifest.State = spool.StateActive
	c.mu.Unlock()
	c.writeManifest()
}

// localSDP builds our SDP for one side, with the codec the leg speaks now
// (a re-INVITE may have changed it); the agent leg before its answer is
// offered every codec the relay translates to the caller's, the caller's
// first so that most calls need no transcoding.
func (c *call) localSDP(side int, dir string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	ep := c.inEp
	dtmf := media.TelephoneEvent
	var formats []media.Format
	if side == sideCaller && c.a.offer == nil {
		// A delayed offer: ours lists every codec Kiroku records.
		formats = media.Offer(nil)
	} else if side == sideCaller {
		dtmf = c.a.offer.DTMF // an answer keeps the offerer's payload numbers
		audio := c.a.audio
		if p := ep.Peer(); p != nil && p.Audio.Codec != nil {
			// The caller's latest offer: an answer lists telephone-event
			// only when it did, with its payload number (RFC 3264).
			audio, dtmf = p.Audio, p.DTMF
		}
		formats = []media.Format{audio.Format()}
	} else {
		ep = c.outEp
		if p := ep.Peer(); p != nil && p.Audio.Codec != nil {
			formats = []media.Format{p.Audio.Format()}
			if p.DTMF.Name != "" {
				dtmf = p.DTMF
			}
		} else {
			formats = media.Offer(c.codec(sideCaller))
		}
	}
	c.sdpVer[side]++
	c.localDir[side] = dir
	l := media.Local{Addr: ep.Advertised(), Port: ep.Port(), Formats: formats, DTMF: dtmf,
		Direction: dir, SessionID: c.sessionID, Version: c.sdpVer[side], Proto: c.sec[side].proto}
	if c.sec[side].offer {
		l.Crypto = []media.Crypto{c.sec[side].local}
	}
	return l.Marshal()
}

// codec is the codec one side's leg speaks now; nil for an agent leg not
// answered yet. Call it with c.mu held or after the endpoints are set.
func (c *call) codec(side int) media.Codec {
	ep := c.inEp
	if side == sideAgent {
		ep = c.outEp
	}
	if ep != nil {
		if p := ep.Peer(); p != nil && p.Audio.Codec != nil {
			return p.Audio.Codec
		}
	}
	if side == sideCaller {
		return c.a.audio.Codec
	}
	return nil
}

// writeManifest queues the manifest as it stands to the spool and goes
// on: the set-up path never waits for the disk. Writes of one call land
// in order; the final one (finish) waits until it is durable.
func (c *call) writeManifest() {
	c.mu.Lock()
	m := c.manifest
	c.mu.Unlock()
	log := c.log
	c.s.spool.QueueManifest(&m, func(err error) {
		if err != nil {
			log.Error("consent manifest not written", zap.Error(err))
		}
	})
}

func (c *call) byeCaller() {
	if c.in == nil {
		return
	}
	if c.answerLater != nil && !c.answered.Load() {
		// Never answered (an early notice): the INVITE gets a final
		// response instead of a BYE.
		c.answerLater = nil
		if err := c.in.Respond(sipmsg.StatusTemporarilyUnavailable, "Temporarily Unavailable", nil); err != nil {
			c.log.Debug("final response to caller", zap.Error(err))
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.in.Bye(ctx); err != nil {
		c.log.Debug("bye to caller", zap.Error(err))
	}
}

// finish writes the final manifest and releases the media.
func (c *call) finish(reason string) {
	c.mu.Lock()
	c.phase = phaseEnded
	now := time.Now().UTC()
	c.manifest.EndedAt = &now
	c.manifest.EndReason = reason
	c.segmentsEnd(now)
	if c.manifest.State != spool.StateSpooled {
		c.manifest.State = spool.StateDone
	}
	if c.manifest.Consent.Decision == "" {
		c.manifest.Consent.Decision = spool.HungUpDuringNotice
	}
	inEp, outEp, work := c.inEp, c.outEp, c.work
	sum := CallSummary{Line: c.a.line.Number, Decision: c.manifest.Consent.Decision, Recorded: c.manifest.State == spool.StateSpooled}
	sum.DiskFull = c.manifest.NotRecorded == spool.NotRecordedDiskFull
	if r := c.manifest.Recording; r != nil && len(r.Channels) == 2 {
		sum.Lost = [2]uint64{r.Channels[0].Lost, r.Channels[1].Lost}
	}
	c.mu.Unlock()
	// The call's context has ended: the workers stop, and nothing sends
	// on the endpoints once they are closed.
	for _, w := range work {
		if w != nil {
			w.wait()
		}
	}
	c.bg.Wait()
	for i, ep := range []*media.Endpoint{inEp, outEp} {
		if ep != nil {
			ep.Close()
			sum.RTP[i] = ep.Stats()
		}
	}
	c.mu.Lock()
	eps := [2]*media.Endpoint{inEp, outEp}
	c.manifest.MediaSources = mediaSources(eps, c.latching)
	for i, ep := range eps {
		if ep != nil {
			sum.Latching[i], sum.Foreign[i] = c.latching[i], ep.Source().Foreign.IsValid()
		}
	}
	if r := c.manifest.Recording; r != nil {
		sum.Silent = r.SilentChannels
		sum.Truncated = r.Truncated
	}
	c.mu.Unlock()
	if c.s.obs != nil {
		c.s.obs.CallEnded(sum)
	}
	c.mu.Lock()
	m := c.manifest
	c.mu.Unlock()
	if err := c.s.spool.WriteFinal(&m); err != nil {
		c.log.Error("final manifest not written: kept, and written when the spool can take it", zap.Error(err))
	}
	c.forgetDialogs()
	c.log.Info("call ended", zap.String("reason", reason))
	if c.s.onCallEnd != nil {
		c.s.onCallEnd()
	}
}

func waitUntil(ctx context.Context, t time.Time) error {
	tm := time.NewTimer(time.Until(t))
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}
