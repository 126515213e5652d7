package sip

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/media"
)

// legSec is one leg's media security (SDES-keyed SRTP, RFC 4568).
type legSec struct {
	proto  string       // the m= transport this leg uses (RTP/AVP, RTP/SAVP…)
	local  media.Crypto // our key: offered, or answered with
	remote media.Crypto // the peer's key once agreed
	offer  bool         // put local in our SDP (offered or agreed)
	on     bool         // the leg is SRTP
}

// describe is the manifest's and log's word for the leg's media.
func (l legSec) describe() string {
	if l.on {
		return "SRTP " + l.local.Suite
	}
	return "RTP"
}

// errSRTP is a refusal of an offer on SRTP grounds, with the SIP
// Warning text that explains it.
type errSRTP struct{ warning string }

func (e errSRTP) Error() string { return e.warning }

// callerSRTP decides the caller leg's security from its offer and the
// trunk's srtp setting: the peer's key when the leg is to be SRTP, or an
// errSRTP when the offer cannot be taken.
func callerSRTP(offer *media.Description, policy string) (remote media.Crypto, on bool, err error) {
	if !media.IsRTPProto(offer.Proto) {
		return remote, false, errSRTP{fmt.Sprintf("transport %s not supported (RTP/AVP, or RTP/SAVP keyed by SDES)", offer.Proto)}
	}
	c, has := offer.PickCrypto()
	switch {
	case policy == config.SRTPOff && offer.Secure():
		return remote, false, errSRTP{"SRTP not accepted from this trunk"}
	case policy == config.SRTPOff:
		return remote, false, nil // best-effort crypto lines are ignored
	case offer.Secure() && !has:
		return remote, false, errSRTP{media.ErrNoCrypto.Error()}
	case has:
		return c, true, nil
	case policy == config.SRTPRequired:
		return remote, false, errSRTP{"SRTP required from this trunk"}
	}
	return remote, false, nil
}

// startCallerSRTP keys the caller's endpoint for an SRTP offer: our key
// is fresh and of the suite the caller chose, under its tag.
func (c *call) startCallerSRTP(remote media.Crypto) error {
	local, err := media.NewCrypto(remote.Tag, remote.Suite)
	if err != nil {
		return err
	}
	if err := c.inEp.SetSRTP(local, remote); err != nil {
		return err
	}
	c.mu.Lock()
	c.sec[sideCaller] = legSec{proto: c.a.offer.Proto, local: local, remote: remote, offer: true, on: true}
	c.mu.Unlock()
	return nil
}

// offerAgentSRTP prepares the agent leg's offer from the line's
// downstream_srtp: none, best effort (RTP/AVP with a crypto line) or
// required (RTP/SAVP).
func (c *call) offerAgentSRTP() error {
	sec := legSec{proto: "RTP/AVP"}
	switch c.a.line.DownstreamSRTP {
	case config.SRTPOptional, config.SRTPRequired:
		local, err := media.NewCrypto(1, media.DefaultSuite)
		if err != nil {
			return err
		}
		sec.local, sec.offer = local, true
		if c.a.line.DownstreamSRTP == config.SRTPRequired {
			sec.proto = "RTP/SAVP"
		}
	}
	c.mu.Lock()
	c.sec[sideAgent] = sec
	c.mu.Unlock()
	return nil
}

// answerAgentSRTP applies the agent's answer to our offer: SRTP when it
// took our crypto line, plain RTP when we only offered SRTP as a best
// effort, an error when SRTP is required and the answer declined it.
func (c *call) answerAgentSRTP(ep *media.Endpoint, answer *media.Description) error {
	c.mu.Lock()
	sec := c.sec[sideAgent]
	c.mu.Unlock()
	if !sec.offer {
		return nil
	}
	remote, ok := answer.CryptoTag(sec.local.Tag)
	if ok && remote.Suite != sec.local.Suite {
		ok = false
	}
	if ok && sec.proto == "RTP/SAVP" && !answer.Secure() {
		ok = false
	}
	if !ok {
		if c.a.line.DownstreamSRTP == config.SRTPRequired {
			return errSRTP{"downstream answered without SRTP, which this line requires"}
		}
		c.mu.Lock()
		c.sec[sideAgent] = legSec{proto: "RTP/AVP"}
		c.mu.Unlock()
		return nil
	}
	if err := ep.SetSRTP(sec.local, remote); err != nil {
		return err
	}
	sec.remote, sec.on = remote, true
	c.mu.Lock()
	c.sec[sideAgent] = sec
	c.mu.Unlock()
	return nil
}

// reofferSRTP takes a re-INVITE's offer on a leg: an SRTP leg must stay
// SRTP (a plain offer is refused) and may re-key; a plain leg stays plain.
// The answer repeats the offer's transport (RFC 3264).
func (c *call) reofferSRTP(side int, ep *media.Endpoint, offer *media.Description) error {
	if !media.IsRTPProto(offer.Proto) {
		return errSRTP{fmt.Sprintf("transport %s not supported (RTP/AVP, or RTP/SAVP keyed by SDES)", offer.Proto)}
	}
	c.mu.Lock()
	sec := c.sec[side]
	c.mu.Unlock()
	if !sec.on {
		if offer.Secure() {
			return errSRTP{"this leg was set up with RTP; SRTP cannot start mid-call"}
		}
		c.mu.Lock()
		c.sec[side].proto = offer.Proto
		c.mu.Unlock()
		return nil
	}
	remote, ok := offer.PickCrypto()
	if !ok {
		return errSRTP{"this leg is SRTP; an offer without a usable crypto line would send audio in the clear"}
	}
	local := sec.local
	if remote.Suite != local.Suite {
		var err error
		if local, err = media.NewCrypto(remote.Tag, remote.Suite); err != nil {
			return err
		}
	}
	local.Tag = remote.Tag
	if err := ep.SetSRTP(local, remote); err != nil {
		return err
	}
	sec.local, sec.remote, sec.proto = local, remote, offer.Proto
	c.mu.Lock()
	c.sec[side] = sec
	c.mu.Unlock()
	return nil
}

// reanswerSRTP takes the answer to a re-INVITE we sent on an SRTP leg: a
// new key in it re-keys the leg; an answer without one keeps the old.
func (c *call) reanswerSRTP(side int, ep *media.Endpoint, answer *media.Description) {
	c.mu.Lock()
	sec := c.sec[side]
	c.mu.Unlock()
	if !sec.on {
		return
	}
	remote, ok := answer.CryptoTag(sec.local.Tag)
	if !ok || remote.Suite != sec.local.Suite {
		c.log.Warn("re-INVITE answer without our crypto line: the leg keeps its keys", zap.Int("side", side))
		return
	}
	if err := ep.SetSRTP(sec.local, remote); err != nil {
		c.log.Warn("re-key from re-INVITE answer", zap.Int("side", side), zap.Error(err))
		return
	}
	sec.remote = remote
	c.mu.Lock()
	c.sec[side] = sec
	c.mu.Unlock()
}
