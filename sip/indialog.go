package sip

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/media"
	"github.com/kiroku-voice/kiroku/spool"
)

// findLeg matches an in-dialog request to a call leg: requests from the
// caller carry our tag in To, requests from the agent carry it in From.
func (s *Server) findLeg(req *sipmsg.Request) (*leg, bool) {
	if id, err := sipmsg.DialogIDFromRequestUAS(req); err == nil {
		if v, ok := s.legs.Load(id); ok {
			return v.(*leg), true
		}
	}
	if id, err := sipmsg.DialogIDFromRequestUAC(req); err == nil {
		if v, ok := s.legs.Load(id); ok {
			return v.(*leg), true
		}
	}
	return nil, false
}

func (s *Server) respond(req *sipmsg.Request, tx sipmsg.ServerTransaction, code int, reason string, hdrs ...sipmsg.Header) {
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("respond", zap.String("method", string(req.Method)), zap.Int("code", code), zap.Error(err))
	}
	s.responded(req.Method.String(), code)
}

func (s *Server) responded(method string, code int) {
	if s.obs != nil {
		s.obs.Responded(method, code)
	}
}

func (s *Server) onAck(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	l, ok := s.findLeg(req)
	if !ok {
		return // ACKs of refused INVITEs are absorbed by the transaction layer
	}
	if l.side == sideCaller && len(req.Body()) > 0 && isSDP(req) {
		l.c.keepAckAnswer(req.Body()) // the answer to a delayed offer
	}
	if len(req.Body()) > 0 && isSDP(req) {
		l.c.ackAnswer(l.side, req.Body())
	}
	if l.side != sideCaller {
		return
	}
	l.c.acked.Store(true) // before ReadAck, which lets the answer go on
	if err := l.c.in.ReadAck(req, tx); err != nil {
		s.log.Debug("ack", zap.Error(err))
	}
}

// agentDialog is an agent leg's dialog: its own, or the call's connected
// one for legs stored before they carried it.
func (l *leg) agentDialog() *sipgo.DialogClientSession {
	if l.out != nil {
		return l.out
	}
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	return l.c.out
}

func (s *Server) onBye(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	l, ok := s.findLeg(req)
	if !ok {
		s.respond(req, tx, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	var err error
	if l.side == sideCaller {
		err = l.c.in.ReadBye(req, tx)
	} else {
		err = l.agentDialog().ReadBye(req, tx)
	}
	if err != nil {
		s.log.Debug("bye", zap.Error(err))
		s.respond(req, tx, sipmsg.StatusBadRequest, "Bad Request")
	}
}

// onCancel answers a CANCEL that matched no INVITE transaction: sipgo's
// transaction layer already handles the ones that did.
func (s *Server) onCancel(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	s.respond(req, tx, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
}

func (s *Server) onOptions(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	cfg := s.cfg.Load()
	retry := sipmsg.NewHeader("Retry-After", strconv.Itoa(int(time.Duration(cfg.SIP.RetryAfter).Seconds())))
	if s.draining.Load() {
		// Load balancers ping with OPTIONS: a draining node says so.
		s.respond(req, tx, sipmsg.StatusServiceUnavailable, "Shutting Down", retry)
		return
	}
	if s.active.Load() >= int64(cfg.SIP.MaxCalls) || s.setups.pending() >= cfg.SIP.Overload.MaxSetupsPending ||
		s.cpuSpent(cfg) {
		// A full node says so too, so that a dispatcher (Kamailio's
		// ds_ping_reply_codes class=2) steers new calls to the others
		// rather than having them refused here one by one; and so does
		// one with sip.overload.max_setups_pending calls being set up, or
		// one whose CPU is used up (cpuSpent).
		s.respond(req, tx, sipmsg.StatusServiceUnavailable, "Overloaded", retry)
		return
	}
	s.respond(req, tx, sipmsg.StatusOK, "OK", sipmsg.NewHeader("Allow", allowed),
		sipmsg.NewHeader("Accept", "application/sdp, application/dtmf-relay, application/dtmf"),
		sipmsg.NewHeader("Supported", "timer, 100rel"))
}

const allowed = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, PRACK, REFER"

func (s *Server) onNoRoute(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if req.IsAck() {
		return
	}
	s.respond(req, tx, sipmsg.StatusMethodNotAllowed, "Method Not Allowed", sipmsg.NewHeader("Allow", allowed))
}

// onInfo takes DTMF sent as SIP INFO (diago answers these with 406).
func (s *Server) onInfo(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	l, ok := s.findLeg(req)
	if !ok {
		s.respond(req, tx, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = strings.ToLower(strings.TrimSpace(strings.SplitN(h.Value(), ";", 2)[0]))
	}
	if len(req.Body()) == 0 {
		s.respond(req, tx, sipmsg.StatusOK, "OK") // keep-alive INFO
		return
	}
	d, dur, err := ParseInfoDTMF(ct, req.Body())
	if err == errUnsupportedInfo {
		s.respond(req, tx, sipmsg.StatusUnsupportedMediaType, "Unsupported Media Type",
			sipmsg.NewHeader("Accept", "application/dtmf-relay, application/dtmf"))
		return
	}
	if err != nil {
		s.respond(req, tx, sipmsg.StatusBadRequest, "Bad DTMF Body")
		return
	}
	s.respond(req, tx, sipmsg.StatusOK, "OK")
	_ = dur
	l.c.key(l.side, media.DTMF{Digit: d, At: time.Now(), Via: "sip-info"})
}

// onReInvite takes a re-INVITE on either leg.
func (s *Server) onReInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	s.inDialogUpdate(req, tx)
}

// onUpdate takes an UPDATE (RFC 3311) on either leg, most often a session
// refresh without a body.
func (s *Server) onUpdate(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	s.inDialogUpdate(req, tx)
}

// inDialogUpdate answers a re-INVITE or UPDATE. On the caller's leg it
// is a session refresh (RFC 4028) that re-arms the session timer; with an
// SDP offer it updates the leg's media (hold, unhold, new address) and
// passes the change of direction on to the other leg.
func (s *Server) inDialogUpdate(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	l, ok := s.findLeg(req)
	if !ok {
		s.respond(req, tx, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	c := l.c
	c.mu.Lock()
	out, outEp, phase := c.out, c.outEp, c.phase
	c.mu.Unlock()
	ep := c.inEp
	if l.side == sideCaller {
		if err := c.in.ReadRequest(req, tx); err != nil {
			s.respond(req, tx, sipmsg.StatusInternalServerError, "CSeq Out Of Order", sipmsg.NewHeader("Retry-After", "1"))
			return
		}
	} else {
		if l.out != nil && l.out != out {
			// A leg the caller was transferred away from.
			s.respond(req, tx, sipmsg.StatusNotAcceptableHere, "Transferred Away")
			return
		}
		c.mu.Lock()
		transferring := c.transferring
		c.mu.Unlock()
		if transferring && len(req.Body()) > 0 {
			// While its transfer's target is called, the agent leg's media
			// security is being negotiated with the target: a new offer
			// now would be answered with the wrong keys. Try again later.
			s.respond(req, tx, sipmsg.StatusRequestPending, "Transfer In Progress", sipmsg.NewHeader("Retry-After", "2"))
			return
		}
		ep = outEp
		if err := out.ReadRequest(req, tx); err != nil {
			s.respond(req, tx, sipmsg.StatusInternalServerError, "CSeq Out Of Order", sipmsg.NewHeader("Retry-After", "1"))
			return
		}
	}
	w := c.watch.Load()
	var (
		terms sessionTerms
		hdrs  []sipmsg.Header
	)
	refresh := l.side == sideCaller && w != nil
	if refresh {
		sc := c.a.cfg.SIP
		t, tooSmall, err := negotiateSession(req, time.Duration(sc.SessionExpires), time.Duration(sc.MinSE))
		switch {
		case err != nil:
			s.respond(req, tx, sipmsg.StatusBadRequest, "Bad Session Timer")
			return
		case tooSmall:
			s.respond(req, tx, statusIntervalTooSmall, "Session Interval Too Small", minSEHeader(time.Duration(sc.MinSE)))
			return
		}
		terms, hdrs = t, t.headers()
	}
	if len(req.Body()) == 0 {
		if req.IsInvite() {
			// Offerless re-INVITE: answer with our current description.
			s.respondSDP(req, tx, c.localSDP(l.side, c.direction(l.side)), hdrs...)
		} else {
			s.respond(req, tx, sipmsg.StatusOK, "OK", hdrs...)
		}
		if refresh {
			w.startSession(terms)
		}
		return
	}
	offer, err := media.ParseSDP(req.Body())
	if err != nil {
		s.respond(req, tx, sipmsg.StatusBadRequest, "Bad SDP")
		return
	}
	peer := ep.Peer()
	c.mu.Lock()
	other := c.codec(1 - l.side)
	c.mu.Unlock()
	audio, err := media.Choose(offer, peer.Audio.Codec, other)
	if err != nil {
		s.respond(req, tx, sipmsg.StatusNotAcceptableHere, "Not Acceptable Here",
			sipmsg.NewHeader("Warning", fmt.Sprintf("304 kiroku %q", err.Error())))
		return
	}
	np := media.Peer{Addr: offer.RemoteAddr(), Audio: audio, DTMF: offer.DTMF, Direction: offer.Direction}
	if err := c.reofferSRTP(l.side, ep, offer); err != nil {
		s.respond(req, tx, sipmsg.StatusNotAcceptableHere, "Not Acceptable Here",
			sipmsg.NewHeader("Warning", fmt.Sprintf("302 kiroku %q", err.Error())))
		return
	}
	ep.SetPeer(np)
	if audio.Codec != peer.Audio.Codec {
		c.codecChanged(l.side, peer.Audio.Codec, audio.Codec)
	}
	s.respondSDP(req, tx, c.localSDP(l.side, media.AnswerDirection(offer.Direction)), hdrs...)
	if w != nil {
		w.touch(l.side)
		if refresh {
			w.startSession(terms)
		}
	}
	c.log.Info("media updated", zap.Int("side", l.side), zap.String("direction", offer.Direction))
	if peer.Direction != offer.Direction {
		c.noteHold(l.side, offer.Direction, time.Now().UTC())
	}
	// On an echo: line there is no agent leg to pass a hold to (a hold
	// there used to panic the daemon: TestMediaTimeoutSpareOnHold).
	if phase == phaseBridged && peer.Direction != offer.Direction && out != nil {
		c.mu.Lock()
		w := c.work[1-l.side]
		c.mu.Unlock()
		side, dir := 1-l.side, offer.Direction
		if w == nil || !w.do(func(ctx context.Context) { c.passDirection(ctx, side, dir) }) {
			c.log.Warn("hold/unhold not passed to the other leg: its worker is busy or gone", zap.Int("side", side))
		}
	}
}

// maxHolds bounds the holds a manifest keeps: a peer flipping its
// direction cannot grow it without end.
const maxHolds = 64

// noteHold keeps the manifest's holds as a leg's direction changes: a
// leg offering sendonly or inactive holds the call, one offering
// sendrecv (or recvonly) takes its hold off.
func (c *call) noteHold(side int, dir string, at time.Time) {
	holding := dir == "sendonly" || dir == "inactive"
	c.mu.Lock()
	defer c.mu.Unlock()
	hs := c.manifest.Holds
	open := -1
	for i := range hs {
		if hs[i].By == sideName[side] && hs[i].End == nil {
			open = i
		}
	}
	switch {
	case holding && open < 0 && len(hs) < maxHolds:
		c.manifest.Holds = append(hs, spool.Hold{By: sideName[side], Direction: dir, Start: at})
	case !holding && open >= 0:
		hs[open].End = &at
	}
}

// codecChanged notes a leg's switch to another codec: the relay and the
// recorder follow from the next packet (they read the peer per packet);
// the manifest's channel names both.
func (c *call) codecChanged(side int, from, to media.Codec) {
	c.log.Info("codec changed by re-INVITE", zap.String("leg", sideName[side]), zap.String("from", codecName(from)), zap.String("to", to.Name()))
	c.mu.Lock()
	rec := c.rec
	c.codecs[side] = append(c.codecs[side], to.Name())
	names := [2]string{strings.Join(c.codecs[0], ","), strings.Join(c.codecs[1], ",")}
	c.mu.Unlock()
	if rec != nil {
		rec.SetCodecs(names[0], names[1])
	}
}

func codecName(c media.Codec) string {
	if c == nil {
		return "none"
	}
	return c.Name()
}

// ackAnswer takes the SDP answer an ACK carries: the answer to the offer
// of our 200 to an offerless re-INVITE (RFC 3261 §13.2.1). A new address,
// direction or SRTP key in it applies to the leg.
func (c *call) ackAnswer(side int, body []byte) {
	answer, err := media.ParseSDP(body)
	if err != nil {
		c.log.Warn("unusable SDP in ACK", zap.Int("side", side), zap.Error(err))
		return
	}
	c.mu.Lock()
	ep := c.inEp
	if side == sideAgent {
		ep = c.outEp
	}
	c.mu.Unlock()
	if ep == nil || ep.Peer() == nil {
		return
	}
	c.reanswerSRTP(side, ep, answer)
	p := ep.Peer()
	ep.SetPeer(media.Peer{Addr: answer.RemoteAddr(), Audio: p.Audio, DTMF: answer.DTMF, Direction: answer.Direction})
	if w := c.watch.Load(); w != nil {
		w.touch(side)
	}
}

func isSDP(req *sipmsg.Request) bool {
	ct := req.ContentType()
	return ct != nil && strings.EqualFold(strings.TrimSpace(strings.SplitN(ct.Value(), ";", 2)[0]), "application/sdp")
}

func (s *Server) respondSDP(req *sipmsg.Request, tx sipmsg.ServerTransaction, body []byte, hdrs ...sipmsg.Header) {
	res := sipmsg.NewSDPResponseFromRequest(req, body)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("respond to re-invite", zap.Error(err))
	}
}

// passDirection re-INVITEs the other leg with the direction the first leg
// asked for, so that a hold on one side is a hold on the other. It runs on
// that leg's worker, under the call's context.
func (c *call) passDirection(ctx context.Context, side int, dir string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := c.reinvite(ctx, side, c.localSDP(side, dir))
	if err != nil || !res.IsSuccess() {
		c.log.Warn("hold/unhold not passed to the other leg", zap.Int("side", side), zap.Int("sip_code", statusOf(res)), zap.Error(err))
	}
}

// reinvite sends a re-INVITE offering body on one side, ACKs a 2xx and
// takes the media of its answer.
func (c *call) reinvite(ctx context.Context, side int, body []byte, hdrs ...sipmsg.Header) (*sipmsg.Response, error) {
	c.mu.Lock()
	out, outEp := c.out, c.outEp
	c.mu.Unlock()
	var (
		ep     = c.inEp
		target sipmsg.Uri
		do     func(context.Context, *sipmsg.Request) (*sipmsg.Response, error)
		write  func(*sipmsg.Request) error
	)
	if side == sideCaller {
		target, do, write = c.in.InviteRequest.Contact().Address, c.in.Do, c.in.WriteRequest
	} else {
		ep, target, do, write = outEp, agentTarget(out), out.Do, out.WriteRequest
	}
	req := sipmsg.NewRequest(sipmsg.INVITE, target)
	for _, h := range hdrs {
		req.AppendHeader(h)
	}
	req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(body)
	res, err := do(ctx, req)
	if err != nil || !res.IsSuccess() {
		return res, err
	}
	if err := write(sipmsg.NewRequest(sipmsg.ACK, target)); err != nil {
		return res, err
	}
	if answer, err := media.ParseSDP(res.Body()); err == nil {
		p := ep.Peer()
		c.reanswerSRTP(side, ep, answer)
		ep.SetPeer(media.Peer{Addr: answer.RemoteAddr(), Audio: p.Audio, DTMF: answer.DTMF, Direction: answer.Direction})
		if w := c.watch.Load(); w != nil {
			w.touch(side)
		}
	}
	return res, nil
}
