package sip

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/media"
)

// admission is what an INVITE brought once it passed every check.
type admission struct {
	// setup is the call's place among the set-ups in progress (see
	// overload.go); dropped says a refusal is to go unanswered.
	setup    uint64
	received time.Time // when the INVITE was taken in
	dropped  bool
	cfg      *config.Config
	line     *config.Line
	purpose  *config.Purpose
	trunk    string
	source   netip.AddrPort
	offer    *media.Description
	audio    media.Audio // the caller leg's codec, chosen once
	flow     flow        // what the call does after consent: its line's flow
	dialled  string
	caller   string
	id       identity     // who is calling, as the trunk lets us know (identity.go)
	session  sessionTerms // RFC 4028 terms of our 200
	srtp     media.Crypto // the caller's key when its leg is SRTP
	srtpOn   bool

	latching string // the trunk's media_latching, for the caller's leg
	mediaIf  string // the trunk's media_interface, for the caller's leg
	// lateOffer: the INVITE had no SDP; our 200 offers, the ACK answers
	// (offer and audio are set from the answer: lateoffer.go).
	lateOffer  bool
	srtpPolicy string // the trunk's srtp, for our delayed offer
	// rel100: the caller requires reliable provisionals (RFC 3262), so
	// its answer goes first in a reliable 183 (prack.go).
	rel100 bool
}

// codecWarning is the Warning of a refusal for want of a common codec
// (RFC 3261 code 304: media type not available).
var codecWarning = `304 kiroku "` + strings.Join(media.Codecs(), " or ") + ` required"`

// onInvite admits or refuses a new call; re-INVITEs go to their dialog.
func (s *Server) onInvite(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
	if !isInitialInvite(req) {
		s.onReInvite(req, tx)
		return
	}
	// UDP INVITEs over the rate limit never get here: the guard under
	// the transport refused them statelessly.
	if !strings.EqualFold(req.Transport(), "UDP") {
		if src, err := netip.ParseAddrPort(req.Source()); err == nil && s.limitInvite(req, src.Addr(), func(res *sipmsg.Response) {
			if err := tx.Respond(res); err != nil {
				s.log.Debug("respond to rate-limited invite", zap.Error(err))
			}
		}) {
			return
		}
	}
	if _, ok := s.cutShort.Load(inviteKey(req)); ok {
		return // a late retransmission of an INVITE whose call Kiroku ended
	}
	a, code, reason, hdrs := s.admit(req)
	if a.dropped {
		// sip.overload.action drop: no answer, and no transaction kept
		// for its retransmissions.
		tx.Terminate()
		s.log.Debug("call dropped: overloaded", zap.String("source", req.Source()))
		return
	}
	if code != 0 {
		res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
		for _, h := range hdrs {
			res.AppendHeader(h)
		}
		if err := tx.Respond(res); err != nil {
			s.log.Debug("respond to refused invite", zap.Error(err))
		}
		s.responded("INVITE", code)
		s.log.Info("call refused", zap.Int("code", code), zap.String("reason", reason),
			zap.String("source", req.Source()), zap.String("dialled", dialledOf(req)))
		return
	}
	defer s.active.Add(-1)
	defer s.setups.done(a.setup)
	s.runCall(req, tx, a)
}

// inviteKey names an INVITE's transaction: its Call-ID and top branch.
func inviteKey(req *sipmsg.Request) string {
	key := ""
	if id := req.CallID(); id != nil {
		key = id.Value()
	}
	if via := req.Via(); via != nil && via.Params != nil {
		b, _ := via.Params.Get("branch")
		key += "|" + b
	}
	return key
}

// cutShortTx records that Kiroku terminated the INVITE transaction of req
// before its time (a call it ended before the caller's ACK). sipgo would
// have absorbed retransmissions of that INVITE for 64*T1; for as long,
// onInvite drops them, so that they start no second call.
func (s *Server) cutShortTx(req *sipmsg.Request) {
	key := inviteKey(req)
	s.cutShort.Store(key, struct{}{})
	time.AfterFunc(64*sipmsg.T1, func() { s.cutShort.Delete(key) })
}

// refuseOverlong refuses an INVITE whose caller or dialled number,
// normalised, is longer than any number (config.MaxCallerLen): 400 for
// the From user part, 414 for the Request-URI's. Nothing this long is a
// caller or a line, and it is refused before any evidence of it is
// written (no manifest, no row). Over UDP the guard answers it before
// sipgo sees it: sipgo sends no UDP response over 1,300 bytes, and the
// answer echoes the long From or To.
func refuseOverlong(req *sipmsg.Request) (code int, reason string, hdrs []sipmsg.Header) {
	if f := req.From(); f != nil {
		if n := len(config.NormalizeNumber(f.Address.User)); n > config.MaxCallerLen {
			return sipmsg.StatusBadRequest, "Caller Too Long", []sipmsg.Header{sipmsg.NewHeader("Warning",
				fmt.Sprintf(`399 kiroku "From user part is %d bytes; at most %d"`, n, config.MaxCallerLen))}
		}
	}
	if n := len(config.NormalizeNumber(req.Recipient.User)); n > config.MaxCallerLen {
		return sipmsg.StatusRequestURITooLong, "Request-URI Too Long", []sipmsg.Header{sipmsg.NewHeader("Warning",
			fmt.Sprintf(`399 kiroku "Request-URI user part is %d bytes; at most %d"`, n, config.MaxCallerLen))}
	}
	return 0, "", nil
}

func dialledOf(req *sipmsg.Request) string {
	if u := req.Recipient.User; u != "" {
		return config.NormalizeNumber(u)
	}
	if to := req.To(); to != nil {
		return config.NormalizeNumber(to.Address.User)
	}
	return ""
}

// admit runs the checks in the order that leaks least: malformed first,
// then who is calling, then capacity, then what they dialled. A refusal
// returns the SIP code, reason phrase and extra headers.
func (s *Server) admit(req *sipmsg.Request) (a admission, code int, reason string, hdrs []sipmsg.Header) {
	a.received = time.Now()
	for name, missing := range map[string]bool{
		"From": req.From() == nil, "To": req.To() == nil, "Call-ID": req.CallID() == nil,
		"Contact": req.Contact() == nil, "CSeq": req.CSeq() == nil,
	} {
		if missing {
			return a, sipmsg.StatusBadRequest, "Missing " + name, nil
		}
	}
	if req.CSeq().MethodName != sipmsg.INVITE {
		return a, sipmsg.StatusBadRequest, "CSeq Method Mismatch", nil
	}
	if tag, _ := req.From().Params.Get("tag"); tag == "" {
		// RFC 3261 §8.1.1.3: the From tag is mandatory. Refused here,
		// before any manifest: the dialog layer would refuse it later,
		// after the call's evidence was written.
		return a, sipmsg.StatusBadRequest, "Missing From Tag", nil
	}
	if code, reason, hdrs := refuseOverlong(req); code != 0 {
		return a, code, reason, hdrs
	}
	cfg := s.cfg.Load()
	a.cfg = cfg
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return a, sipmsg.StatusBadRequest, "Bad Source", nil
	}
	a.source = src
	trunk, needAuth, ok := cfg.Caller(src.Addr())
	if !ok {
		return a, sipmsg.StatusForbidden, "Forbidden", nil
	}
	a.trunk = trunk.Name
	a.latching = trunk.MediaLatching
	a.mediaIf = trunk.MediaInterface
	if err := s.checkClientCN(req, trunk); err != nil {
		return a, sipmsg.StatusForbidden, "Forbidden", nil
	}
	if needAuth {
		if code, reason, hdrs := s.authenticate(req, cfg, src.Addr(), time.Now()); code != 0 {
			return a, code, reason, hdrs
		}
	}
	retry := sipmsg.NewHeader("Retry-After", strconv.Itoa(int(time.Duration(cfg.SIP.RetryAfter).Seconds())))
	if s.draining.Load() {
		return a, sipmsg.StatusServiceUnavailable, "Shutting Down", []sipmsg.Header{retry}
	}
	a.dialled = dialledOf(req)
	line, ok := cfg.Line(a.dialled)
	if !ok && req.To() != nil {
		line, ok = cfg.Line(req.To().Address.User)
	}
	if !ok {
		return a, sipmsg.StatusNotFound, "No Such Line", nil
	}
	a.line, a.flow = line, flowFor(line)
	a.purpose, _ = cfg.Purpose(line.Purpose)
	if unknown := unsupportedRequire(req); len(unknown) > 0 {
		// RFC 3261 §8.2.2.3: an extension the caller requires and
		// Kiroku lacks is refused, never silently ignored.
		return a, sipmsg.StatusBadExtension, "Bad Extension", []sipmsg.Header{sipmsg.NewHeader("Unsupported", strings.Join(unknown, ", "))}
	}
	a.rel100 = listHas(req, "100rel", "require")
	switch {
	case len(req.Body()) == 0:
		// Delayed offer (RFC 3261 §13.2.1): our 200 offers, the ACK answers.
		a.lateOffer = true
		a.srtpPolicy = trunk.SRTP
	case !isSDP(req):
		return a, sipmsg.StatusUnsupportedMediaType, "Unsupported Media Type", []sipmsg.Header{sipmsg.NewHeader("Accept", "application/sdp")}
	default:
		offer, err := media.ParseSDP(req.Body())
		if err != nil {
			return a, sipmsg.StatusBadRequest, "Bad SDP", []sipmsg.Header{sipmsg.NewHeader("Warning", fmt.Sprintf("399 kiroku %q", err.Error()))}
		}
		audio, err := media.Negotiate(offer)
		if err != nil {
			return a, sipmsg.StatusNotAcceptableHere, "Not Acceptable Here", []sipmsg.Header{sipmsg.NewHeader("Warning", codecWarning)}
		}
		if addr := offer.RemoteAddr(); addr.IsValid() && !s.portsFor(trunk.MediaInterface).Reaches(addr.Addr()) {
			// RFC 3261 §20.43, 301 Incompatible network address formats:
			// the caller leg's media address cannot send to the offer's
			// (an IPv6 address to an IPv4-bound interface, or the
			// reverse), so no notice would reach the caller.
			ip := s.portsFor(trunk.MediaInterface).IP()
			return a, sipmsg.StatusNotAcceptableHere, "Not Acceptable Here", []sipmsg.Header{sipmsg.NewHeader("Warning",
				fmt.Sprintf("301 kiroku %q", fmt.Sprintf("the offer's address %s is not of the family of the media address %s", addr.Addr(), ip)))}
		}
		a.offer, a.audio = offer, audio
		if a.srtp, a.srtpOn, err = callerSRTP(offer, trunk.SRTP); err != nil {
			return a, sipmsg.StatusNotAcceptableHere, "Not Acceptable Here", []sipmsg.Header{sipmsg.NewHeader("Warning", fmt.Sprintf("302 kiroku %q", err.Error()))}
		}
	}
	terms, tooSmall, err := negotiateSession(req, time.Duration(cfg.SIP.SessionExpires), time.Duration(cfg.SIP.MinSE))
	switch {
	case err != nil:
		return a, sipmsg.StatusBadRequest, "Bad Session Timer", []sipmsg.Header{sipmsg.NewHeader("Warning", fmt.Sprintf("399 kiroku %q", err.Error()))}
	case tooSmall:
		return a, statusIntervalTooSmall, "Session Interval Too Small", []sipmsg.Header{minSEHeader(time.Duration(cfg.SIP.MinSE))}
	}
	a.session = terms
	a.id = callerIdentity(req, trunk)
	a.caller = a.id.number
	// Capacity last, as reservations that the call releases: its place
	// among the set-ups in progress once the caller is answered, its
	// place among the calls when it ends.
	tok, ok := s.setups.admit(cfg.SIP.Overload, a.received)
	if ok && s.cpuSpent(cfg) {
		// The node's CPU quota is spent: the calls it has would pay for
		// this one with their audio and agent legs.
		s.setups.done(tok)
		ok = false
	}
	if !ok {
		a.dropped = cfg.SIP.Overload.Action == "drop"
		s.overloaded(cfg.SIP.Overload.Action)
		return a, sipmsg.StatusServiceUnavailable, "Overloaded", []sipmsg.Header{retry}
	}
	if n := s.active.Add(1); n > int64(cfg.SIP.MaxCalls) {
		s.active.Add(-1)
		s.setups.done(tok)
		return a, sipmsg.StatusServiceUnavailable, "Capacity Reached", []sipmsg.Header{retry}
	}
	a.setup = tok
	return a, 0, "", nil
}
