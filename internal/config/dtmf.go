package config

import "slices"

// Key methods: how a caller's key press reaches Kiroku. A line's
// dtmf_methods lists those that count for its opt-out key; a key that
// arrives by another is ignored for consent (and logged at debug).
//
//	rfc4733  telephone-event packets in the RTP stream (RFC 4733)
//	info     SIP INFO requests (application/dtmf-relay or application/dtmf)
//	inband   the key's tones in the caller's audio, as legacy gateways
//	         send them; detected during the notice and the opt-out
//	         window only
const (
	DTMFRFC4733 = "rfc4733"
	DTMFInfo    = "info"
	DTMFInband  = "inband"
)

// DefaultDTMFMethods counts every method: a caller who presses the
// opt-out key must be heard however the network carries it (missing an
// opt-out records someone who declined; a false one loses a recording),
// and the in-band detector's talk-off measurements (README) found no
// key in speech or music.
var DefaultDTMFMethods = []string{DTMFRFC4733, DTMFInfo, DTMFInband}

// Counts reports whether a key arriving by method counts for the
// line's consent. A line not loaded from a file (DTMFMethods nil)
// counts the default methods, never none.
func (l *Line) Counts(method string) bool {
	if l.DTMFMethods == nil {
		return slices.Contains(DefaultDTMFMethods, method)
	}
	return slices.Contains(l.DTMFMethods, method)
}

// checkDTMF fills in the lines' default dtmf_methods and checks them:
// known methods, each once, at least one.
func (c *Config) checkDTMF(r *report) {
	for i := range c.Lines {
		l := &c.Lines[i]
		key := child(index("lines", i), "dtmf_methods")
		if l.DTMFMethods == nil {
			l.DTMFMethods = slices.Clone(DefaultDTMFMethods)
			continue
		}
		if len(l.DTMFMethods) == 0 {
			r.add(key, "must name at least one of rfc4733, info, inband (leave it out for all three)")
		}
		for j, m := range l.DTMFMethods {
			switch {
			case !oneOf(m, DTMFRFC4733, DTMFInfo, DTMFInband):
				r.add(index(key, j), "%q is not rfc4733, info or inband", m)
			case slices.Index(l.DTMFMethods, m) != j:
				r.add(index(key, j), "%q is listed twice", m)
			}
		}
	}
}
