package sip

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/media"
)

// A delayed offer (RFC 3261 §13.2.1, the default of many SBCs and
// gateways): the INVITE has no SDP, Kiroku's 200 offers every codec it
// records and telephone-event, and the caller's ACK carries the answer.
// The notice starts once the answer is taken. A trunk with srtp:
// required gets an RTP/SAVP offer with our SDES key, and must answer it
// with SRTP; otherwise the offer is plain RTP/AVP (Kiroku does not put
// keys in an offer nobody asked to secure).

// End reasons of a delayed-offer call whose ACK did not answer.
const (
	endNoAnswerSDP    = "ack-without-answer"  // the ACK to our offer had no SDP
	endUnusableAnswer = "ack-answer-unusable" // its SDP did not parse or chose nothing we offered
)

// keepAckAnswer holds the SDP of the caller's ACK to our 200 for
// takeAckAnswer; only the first ACK of a delayed-offer call counts.
func (c *call) keepAckAnswer(body []byte) {
	if !c.a.lateOffer || c.acked.Load() {
		return
	}
	b := append([]byte(nil), body...)
	c.ackSDP.CompareAndSwap(nil, &b)
}

// offerCallerSRTP prepares the security of our delayed offer from the
// trunk's srtp setting.
func (c *call) offerCallerSRTP() error {
	sec := legSec{proto: "RTP/AVP"}
	if c.a.srtpPolicy == config.SRTPRequired {
		local, err := media.NewCrypto(1, media.DefaultSuite)
		if err != nil {
			return err
		}
		sec = legSec{proto: "RTP/SAVP", local: local, offer: true}
	}
	c.mu.Lock()
	c.sec[sideCaller] = sec
	c.mu.Unlock()
	return nil
}

// takeAckAnswer applies the caller's answer from its ACK to the caller
// leg; a missing or unusable one is the end reason of the call.
func (c *call) takeAckAnswer() string {
	p := c.ackSDP.Load()
	if p == nil {
		c.log.Warn("caller's ACK carried no answer to our offer: the call is ended")
		return endNoAnswerSDP
	}
	c.mu.Lock()
	sec := c.sec[sideCaller]
	c.mu.Unlock()
	answer, audio, remote, err := parseAckAnswer(*p, sec)
	if err == nil && sec.offer {
		err = c.inEp.SetSRTP(sec.local, remote)
		sec.remote, sec.on = remote, true
	}
	if err != nil {
		c.log.Warn("caller's answer in the ACK is unusable: the call is ended", zap.Error(err))
		return endUnusableAnswer
	}
	c.mu.Lock()
	c.a.offer, c.a.audio = answer, audio
	c.sec[sideCaller] = sec
	c.manifest.CallerMedia = sec.describe()
	c.mu.Unlock()
	c.inEp.SetPeer(media.Peer{Addr: answer.RemoteAddr(), Audio: audio, DTMF: answer.DTMF, Direction: answer.Direction})
	return ""
}

// parseAckAnswer reads an answer to our delayed offer, made with sec: it
// must name a codec we offered over the transport we offered, and when
// we offered SRTP, take our crypto line (its tag and suite) with the
// caller's key, which it returns.
func parseAckAnswer(body []byte, sec legSec) (*media.Description, media.Audio, media.Crypto, error) {
	var remote media.Crypto
	answer, err := media.ParseSDP(body)
	if err != nil {
		return nil, media.Audio{}, remote, err
	}
	if answer.Port == 0 {
		return nil, media.Audio{}, remote, fmt.Errorf("%w: the answer rejected the audio stream (port 0)", media.ErrSDP)
	}
	if answer.Proto != sec.proto {
		return nil, media.Audio{}, remote, fmt.Errorf("%w: the answer's transport %s is not the %s offered", media.ErrSDP, answer.Proto, sec.proto)
	}
	audio, err := media.Negotiate(answer)
	if err != nil {
		return nil, media.Audio{}, remote, err
	}
	if sec.offer {
		var ok bool
		if remote, ok = answer.CryptoTag(sec.local.Tag); !ok || remote.Suite != sec.local.Suite {
			return nil, media.Audio{}, remote, fmt.Errorf("%w: the answer does not take our crypto line %d %s", media.ErrSDP, sec.local.Tag, sec.local.Suite)
		}
	}
	return answer, audio, remote, nil
}
