package config

// Media latching per leg: where a leg's RTP is taken from. The caller's
// leg follows its trunk's media_latching, the agent's leg its line's
// downstream_latching:
//
//	strict  only from the address and port of the peer's SDP (the RTP
//	        bleed guard); anything else is dropped, and logged, counted
//	        and written to the manifest when it keeps coming
//	learn   from the source of the first packets of the peer's stream
//	        (a negotiated payload type; with SRTP, packets that
//	        authenticate), which Kiroku then sends to, as rtpengine and
//	        SBCs do for peers behind NAT or load balancers
//
// strict is the default on both: a learning leg can be pinned by whoever
// sends first a packet of the right payload type to a port it guessed,
// and would then hear the call; peers behind NAT are named per trunk.
const (
	LatchingStrict = "strict"
	LatchingLearn  = "learn"
	// DefaultLatching keeps the RTP bleed guard unless a trunk or line
	// says its peers are behind NAT.
	DefaultLatching = LatchingStrict
)

// checkLatching fills in the latching defaults and checks the settings.
func (c *Config) checkLatching(r *report) {
	check := func(key string, v *string) {
		switch *v {
		case "":
			*v = DefaultLatching
		case LatchingStrict, LatchingLearn:
		default:
			r.add(key, "%q is not strict or learn", *v)
		}
	}
	for i := range c.SIP.Trunks {
		check(child(index("sip.trunks", i), "media_latching"), &c.SIP.Trunks[i].MediaLatching)
	}
	for i := range c.Lines {
		check(child(index("lines", i), "downstream_latching"), &c.Lines[i].DownstreamLatching)
	}
}
