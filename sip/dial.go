package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/media"
	"github.com/kiroku-voice/kiroku/spool"
)

// dial reaches the line's downstream, plays ringback to the caller while it
// rings, then bridges the two legs until one hangs up.
func (c *call) dial(ctx context.Context, target string) string {
	s := c.s
	var uri sipmsg.Uri
	if err := sipmsg.ParseUri(target, &uri); err != nil {
		c.log.Error("downstream uri", zap.String("downstream", target), zap.Error(err))
		c.byeCaller()
		return endDownstreamFailed
	}
	ep, err := s.ports.Open()
	if err != nil {
		c.log.Error("no rtp port for agent leg", zap.Error(err))
		c.byeCaller()
		return endMediaFailed
	}
	c.mu.Lock()
	c.outEp = ep
	decision := c.manifest.Consent.Decision
	c.mu.Unlock()

	if err := c.offerAgentSRTP(); err != nil {
		c.log.Error("srtp for agent leg", zap.Error(err))
		c.byeCaller()
		return endMediaFailed
	}
	req := c.downstreamInvite(uri, c.localSDP(sideAgent, media.SendRecv), decision)
	transport := "udp"
	if uri.IsEncrypted() { // sips: is TLS unless a transport says otherwise
		transport = "tls"
	}
	if uri.UriParams != nil {
		if t, ok := uri.UriParams.Get("transport"); ok {
			transport = strings.ToLower(t)
		}
	}
	req.SetTransport(strings.ToUpper(transport))
	dua := s.dialogUAFor(transport)

	actx, noAnswer, cancel := c.answerContext(ctx)
	defer cancel()
	out, err := dua.WriteInvite(actx, req)
	if err != nil {
		c.log.Warn("downstream invite not sent", zap.String("downstream", target), zap.Error(err))
		c.downstreamFailed(0)
		return c.failReason(ctx)
	}
	defer out.Close()

	ring := newRingback(c.inEp)
	defer ring.stop()
	pr := c.newPracker(out)
	defer pr.stop()
	status := 0
	err = out.WaitAnswer(actx, sipgo.AnswerOptions{OnResponse: func(res *sipmsg.Response) error {
		pr.onResponse(res)
		status = res.StatusCode
		c.agentResponded.Store(true)
		if status == sipmsg.StatusRinging || status == sipmsg.StatusSessionInProgress {
			ring.start(ctx)
		}
		return nil
	}})
	ring.stop()
	if err != nil {
		var de *sipgo.ErrDialogResponse
		switch {
		case noAnswer.Load() && ctx.Err() == nil:
			status = sipmsg.StatusRequestTimeout // no answer in time: we cancelled
		case errors.As(err, &de):
			status = de.Res.StatusCode
		}
		if ctx.Err() != nil {
			c.log.Info("caller hung up while the agent was ringing")
			c.setStatus(status)
			return c.hangupReason(ctx)
		}
		c.log.Warn("downstream did not answer", zap.String("downstream", target), zap.Int("sip_code", status), zap.Error(err))
		c.downstreamFailed(status)
		return c.failReason(ctx)
	}
	c.setStatus(out.InviteResponse.StatusCode)
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
		c.log.Warn("downstream answer unusable", zap.Error(err))
		c.byeAgent(out)
		c.downstreamFailed(sipmsg.StatusNotAcceptableHere)
		return c.failReason(ctx)
	}
	ep.SetPeer(media.Peer{Addr: answer.RemoteAddr(), Audio: audio, DTMF: answer.DTMF, Direction: answer.Direction})
	c.mu.Lock()
	c.manifest.AgentMedia = c.sec[sideAgent].describe()
	c.out = out
	c.mu.Unlock()
	s.legs.Store(out.ID, &leg{c: c, side: sideAgent})
	defer s.legs.Delete(out.ID)
	c.startWorker(ctx, sideAgent)

	start := time.Now()
	tap := c.startRecording(start)
	if c.rec != nil {
		c.rec.SetCodecs(c.a.audio.Codec.Name(), audio.Codec.Name())
	}
	br := media.NewBridge(c.inEp, ep, media.BridgeOptions{
		OnKey: func(side int, d media.DTMF) { c.key(side, d) },
		Swallow: func(side int, d rune) bool {
			return side == sideAgent && c.agentKey(d)
		},
		Tap: tap,
	})
	defer func() {
		br.Stop()
		c.stopRecording(time.Now())
	}()
	c.bridged()
	if w := c.watch.Load(); w != nil {
		w.watchLeg(sideAgent, ep)
	}
	c.log.Info("bridged to downstream", zap.String("downstream", target))

	select {
	case <-ctx.Done():
		c.byeAgent(out)
		return c.hangupReason(ctx)
	case <-out.Context().Done():
		c.byeCaller()
		return endAgentHangup
	}
}

// answerContext bounds the wait for the agent's answer by answer_timeout
// (noAnswer is then set) and by the call. When it ends before the agent
// sent any response, there is nothing to CANCEL yet (RFC 3261 §9.1) and
// sipgo would wait out Timer B (32 s) for one: the wait is then cut at
// once instead.
func (c *call) answerContext(ctx context.Context) (actx context.Context, noAnswer *atomic.Bool, cancel func()) {
	actx, end := context.WithCancelCause(context.WithoutCancel(ctx))
	noAnswer = new(atomic.Bool)
	stop := func() {
		if c.agentResponded.Load() {
			end(context.Canceled) // sipgo CANCELs the INVITE
			return
		}
		end(sipgo.WaitAnswerForceCancelErr) // compared by ==, so never wrapped
	}
	t := time.AfterFunc(time.Duration(c.a.cfg.SIP.AnswerTimeout), func() {
		noAnswer.Store(true)
		stop()
	})
	unhook := context.AfterFunc(ctx, stop)
	return actx, noAnswer, func() {
		t.Stop()
		unhook()
		end(context.Canceled)
	}
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

func (c *call) downstreamFailed(code int) {
	c.setStatus(code)
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

// ringback plays the ringback cadence to the caller until stopped.
type ringback struct {
	ep     *media.Endpoint
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

func newRingback(ep *media.Endpoint) *ringback { return &ringback{ep: ep} }

func (r *ringback) start(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		return
	}
	ctx, r.cancel = context.WithCancel(ctx)
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		tone := media.Ringback()
		for r.ep.Play(ctx, tone) == nil {
		}
	}()
}

// stop ends the tone and waits for its last frame, so that nothing it
// sends interleaves with the bridged audio.
func (r *ringback) stop() {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}
