package config

// SRTP (SDES, RFC 4568) per leg. The caller's leg follows its trunk's
// srtp setting, the agent's leg its line's downstream_srtp:
//
//	off       plain RTP only; an RTP/SAVP offer is refused (488)
//	optional  SRTP when the other side offers or accepts it, else RTP
//	required  SRTP only; a plain offer or answer ends the leg (488)
//
// SDES keys travel in the SDP, so they are only secret over sips/TLS.
const (
	SRTPOff      = "off"
	SRTPOptional = "optional"
	SRTPRequired = "required"
	// DefaultTrunkSRTP takes SRTP from callers that offer it.
	DefaultTrunkSRTP = SRTPOptional
	// DefaultDownstreamSRTP offers the agent platform plain RTP, which
	// every PBX takes.
	DefaultDownstreamSRTP = SRTPOff
)

// checkSRTP fills in the SRTP defaults and checks the settings.
func (c *Config) checkSRTP(r *report) {
	bad := func(key, v string) {
		r.add(key, "%q is not off, optional or required", v)
	}
	for i := range c.SIP.Trunks {
		t := &c.SIP.Trunks[i]
		switch t.SRTP {
		case "":
			t.SRTP = DefaultTrunkSRTP
		case SRTPOff, SRTPOptional, SRTPRequired:
		default:
			bad(child(index("sip.trunks", i), "srtp"), t.SRTP)
		}
	}
	for i := range c.Lines {
		l := &c.Lines[i]
		key := child(index("lines", i), "downstream_srtp")
		switch l.DownstreamSRTP {
		case "":
			l.DownstreamSRTP = DefaultDownstreamSRTP
		case SRTPOff, SRTPOptional, SRTPRequired:
			if l.Downstream == "echo:" && l.DownstreamSRTP != SRTPOff {
				r.add(key, "an echo: line has no downstream leg to encrypt")
			}
		default:
			bad(key, l.DownstreamSRTP)
		}
	}
}
