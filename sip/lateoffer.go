package sip

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/media"
)

// A delayed offer (RFC 3261 §13.2.1, the default of many SBCs and
// gateways): the INVITE has no SDP, Kiroku's 200 offers every codec it
// records and telephone-event, and the caller's ACK carries the answer.
// The notice starts once the answer is taken.

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

// takeAckAnswer applies the caller's answer from its ACK to the caller
// leg; a missing or unusable one is the end reason of the call.
func (c *call) takeAckAnswer() string {
	p := c.ackSDP.Load()
	if p == nil {
		c.log.Warn("caller's ACK carried no answer to our offer: the call is ended")
		return endNoAnswerSDP
	}
	answer, audio, err := parseAckAnswer(*p)
	if err != nil {
		c.log.Warn("caller's answer in the ACK is unusable: the call is ended", zap.Error(err))
		return endUnusableAnswer
	}
	c.mu.Lock()
	c.a.offer, c.a.audio = answer, audio
	c.sec[sideCaller] = legSec{proto: answer.Proto}
	c.manifest.CallerMedia = c.sec[sideCaller].describe()
	c.mu.Unlock()
	c.inEp.SetPeer(media.Peer{Addr: answer.RemoteAddr(), Audio: audio, DTMF: answer.DTMF, Direction: answer.Direction})
	return ""
}

// parseAckAnswer reads an answer to our delayed offer: it must name a
// codec we offered, over plain RTP (the offer was RTP/AVP).
func parseAckAnswer(body []byte) (*media.Description, media.Audio, error) {
	answer, err := media.ParseSDP(body)
	if err != nil {
		return nil, media.Audio{}, err
	}
	if answer.Port == 0 {
		return nil, media.Audio{}, fmt.Errorf("%w: the answer rejected the audio stream (port 0)", media.ErrSDP)
	}
	if answer.Proto != "RTP/AVP" {
		return nil, media.Audio{}, fmt.Errorf("%w: the answer's transport %s is not the RTP/AVP offered", media.ErrSDP, answer.Proto)
	}
	audio, err := media.Negotiate(answer)
	if err != nil {
		return nil, media.Audio{}, err
	}
	return answer, audio, nil
}
