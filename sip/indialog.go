package sip

import (
	"context"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/media"
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
	if !ok || l.side != sideCaller {
		return // ACKs of refused INVITEs are absorbed by the transaction layer
	}
	if err := l.c.in.ReadAck(req, tx); err != nil {
		s.log.Debug("ack", zap.Error(err))
	}
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
		l.c.mu.Lock()
		out := l.c.out
		l.c.mu.Unlock()
		err = out.ReadBye(req, tx)
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
	if s.draining.Load() {
		// Load balancers ping with OPTIONS: a draining node says so.
		s.respond(req, tx, sipmsg.StatusServiceUnavailable, "Shutting Down",
			sipmsg.NewHeader("Retry-After", strconv.Itoa(int(time.Duration(s.cfg.Load().SIP.RetryAfter).Seconds()))))
		return
	}
	s.respond(req, tx, sipmsg.StatusOK, "OK", sipmsg.NewHeader("Allow", allowed),
		sipmsg.NewHeader("Accept", "application/sdp, application/dtmf-relay, application/dtmf"))
}

const allowed = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO"

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

// onReInvite updates a leg's media (hold, unhold, new address) and passes
// the change of direction on to the other leg.
func (s *Server) onReInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
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
		ep = outEp
		if err := out.ReadRequest(req, tx); err != nil {
			s.respond(req, tx, sipmsg.StatusInternalServerError, "CSeq Out Of Order", sipmsg.NewHeader("Retry-After", "1"))
			return
		}
	}
	if len(req.Body()) == 0 {
		// Offerless re-INVITE: answer with our current description.
		body := c.localSDP(l.side, c.localDir[l.side])
		s.respondSDP(req, tx, body)
		return
	}
	offer, err := media.ParseSDP(req.Body())
	if err != nil {
		s.respond(req, tx, sipmsg.StatusBadRequest, "Bad SDP")
		return
	}
	peer := ep.Peer()
	np := media.Peer{Addr: offer.RemoteAddr(), Codec: peer.Codec, DTMF: offer.DTMF, Direction: offer.Direction}
	if _, err := media.Negotiate(offer); err != nil {
		s.respond(req, tx, sipmsg.StatusNotAcceptableHere, "Not Acceptable Here")
		return
	}
	ep.SetPeer(np)
	s.respondSDP(req, tx, c.localSDP(l.side, media.AnswerDirection(offer.Direction)))
	c.log.Info("media updated", zap.Int("side", l.side), zap.String("direction", offer.Direction))
	if phase == phaseBridged && peer.Direction != offer.Direction {
		go c.passDirection(1-l.side, offer.Direction)
	}
}

func (s *Server) respondSDP(req *sipmsg.Request, tx sipmsg.ServerTransaction, body []byte) {
	res := sipmsg.NewSDPResponseFromRequest(req, body)
	if err := tx.Respond(res); err != nil {
		s.log.Debug("respond to re-invite", zap.Error(err))
	}
}

// passDirection re-INVITEs the other leg with the direction the first leg
// asked for, so that a hold on one side is a hold on the other.
func (c *call) passDirection(side int, dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body := c.localSDP(side, dir)
	var (
		res *sipmsg.Response
		err error
	)
	c.mu.Lock()
	out, outEp := c.out, c.outEp
	c.mu.Unlock()
	ep := c.inEp
	if side == sideCaller {
		req := sipmsg.NewRequest(sipmsg.INVITE, c.in.InviteRequest.Contact().Address)
		req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(body)
		res, err = c.in.Do(ctx, req)
		if err == nil && res.IsSuccess() {
			ack := sipmsg.NewRequest(sipmsg.ACK, c.in.InviteRequest.Contact().Address)
			err = c.in.WriteRequest(ack)
		}
	} else {
		ep = outEp
		req := sipmsg.NewRequest(sipmsg.INVITE, out.InviteResponse.Contact().Address)
		req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(body)
		res, err = out.Do(ctx, req)
		if err == nil && res.IsSuccess() {
			ack := sipmsg.NewRequest(sipmsg.ACK, out.InviteResponse.Contact().Address)
			err = out.WriteRequest(ack)
		}
	}
	if err != nil || !res.IsSuccess() {
		code := 0
		if res != nil {
			code = res.StatusCode
		}
		c.log.Warn("hold/unhold not passed to the other leg", zap.Int("side", side), zap.Int("sip_code", code), zap.Error(err))
		return
	}
	if answer, err := media.ParseSDP(res.Body()); err == nil {
		p := ep.Peer()
		ep.SetPeer(media.Peer{Addr: answer.RemoteAddr(), Codec: p.Codec, DTMF: answer.DTMF, Direction: answer.Direction})
	}
}
