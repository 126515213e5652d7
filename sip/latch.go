package sip

import (
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/media"
	"github.com/kiroku-voice/kiroku/spool"
)

// sideName names a side in logs, metrics and the manifest.
var sideName = [2]string{"caller", "agent"}

// latchLeg puts one side's endpoint in its latching mode (the trunk's
// media_latching for the caller, the line's downstream_latching for the
// agent) and has RTP that keeps coming from an address other than the
// SDP's logged, once per leg, with both addresses.
func (c *call) latchLeg(side int, ep *media.Endpoint, mode string) {
	if mode == "" {
		mode = config.DefaultLatching
	}
	c.mu.Lock()
	c.latching[side] = mode
	c.mu.Unlock()
	ep.SetLearning(mode == config.LatchingLearn)
	ep.OnForeign(func(f media.Foreign) {
		msg := "rtp keeps coming from an address other than the sdp's: dropped (latching strict), so this leg is not heard or recorded"
		if f.Taken {
			msg = "rtp comes from an address other than the sdp's: learned (latching learn)"
		}
		c.log.Warn(msg, zap.String("leg", sideName[side]), zap.Stringer("sdp_addr", f.SDP),
			zap.Stringer("rtp_from", f.From), zap.String("latching", mode))
	})
}

// mediaSources says where each leg's RTP came from, for the manifest.
func mediaSources(eps [2]*media.Endpoint, modes [2]string) []spool.MediaSource {
	var out []spool.MediaSource
	for i, ep := range eps {
		if ep == nil {
			continue
		}
		src := ep.Source()
		ms := spool.MediaSource{Side: sideName[i], Latching: modes[i], ForeignPackets: src.ForeignPackets, HeldPackets: src.Held}
		if src.SDP.IsValid() {
			ms.SDPAddr = src.SDP.String()
		}
		if src.Latched.IsValid() {
			ms.LatchedFrom = src.Latched.String()
		}
		if src.Foreign.IsValid() {
			ms.ForeignSource = src.Foreign.String()
		}
		out = append(out, ms)
	}
	return out
}
