package sip

import (
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/media"
)

// keyMethod is the dtmf_methods name of the way a key arrived (its
// media.DTMF Via).
func keyMethod(via string) string {
	switch via {
	case "sip-info":
		return config.DTMFInfo
	case media.ViaInband:
		return config.DTMFInband
	}
	return via // rfc4733
}

// listenKeys reports the caller's keys during the notice: RFC 4733
// always (the line's dtmf_methods decide whether they count), tones in
// the audio only on lines that count in-band keys, since detection
// costs CPU on every packet until the consent is decided.
func (c *call) listenKeys(ep *media.Endpoint) {
	onKey := func(d media.DTMF) { c.key(sideCaller, d) }
	if c.a.line.Counts(config.DTMFInband) {
		ep.ListenKeysInband(onKey)
		return
	}
	ep.ListenKeys(onKey)
}

// keyCounts reports whether a caller's key arrived by a method the
// line counts for consent; one that did not is logged at debug while
// the consent is still open (later keys are for the agent, not consent).
func (c *call) keyCounts(d media.DTMF) bool {
	if c.a.line.Counts(keyMethod(d.Via)) {
		return true
	}
	c.mu.Lock()
	_, decided := c.consent.result()
	c.mu.Unlock()
	if !decided {
		c.log.Debug("caller key ignored for consent: its method is not in the line's dtmf_methods",
			zap.String("via", d.Via), zap.Strings("dtmf_methods", c.a.line.DTMFMethods))
	}
	return false
}
