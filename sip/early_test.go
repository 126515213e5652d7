package sip

import (
	"fmt"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/media"
)

// TestAgentEarlyMedia: a SIPp agent sends 183 with SDP and a 700 Hz tone
// (its queue announcement) before its 200, then 1000 Hz once answered.
// The caller hears the 700 Hz tone before the agent's 200, and no
// ringback; the recording starts at the answer unless the line says
// record_early_media.
func TestAgentEarlyMedia(t *testing.T) {
	for _, record := range []bool{false, true} {
		t.Run(fmt.Sprintf("record_early_media=%v", record), func(t *testing.T) {
			ap := newRTPPeer(t)
			ag := sippAgent(t, "uas_early.xml", ap, 1500*time.Millisecond)
			env := startServer(t, envOptions{notice: 300 * time.Millisecond, optOutWait: "100ms",
				agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port()),
				tweak: func(c *config.Config) { c.Lines[1].RecordEarlyMedia = record }})
			cp := newRTPPeer(t)
			c := caller(t, env, "uac.xml", agentLine, cp, 4*time.Second, nil)
			ci := env.waitCall(t, "dialing")
			waitFor(t, "the agent leg's port", 5*time.Second, func() bool {
				for _, x := range env.srv.Calls() {
					if x.ID == ci.ID && x.AgentRTP.IsValid() {
						ci = x
						return true
					}
				}
				return false
			})
			dialing := time.Now()
			ap.sendTone(ci.AgentRTP, 700, 1200*time.Millisecond, nil)
			env.waitCall(t, "bridged")
			ap.sendTone(ci.AgentRTP, 1000, 1500*time.Millisecond, nil)
			mustSucceed(t, c)
			mustSucceed(t, ag)
			m := env.finalManifest(t)
			if m.BridgedAt == nil {
				t.Fatalf("got manifest %+v, want bridged", m)
			}
			var before []int16
			for _, pk := range cp.packets() {
				if pk.pt == 0 && pk.at.After(dialing) && pk.at.Before(*m.BridgedAt) {
					before = append(before, decodeFrame(pk.payload)...)
				}
			}
			if !dominant(before, 700, 400) {
				t.Errorf("the caller did not hear the agent's early media before its 200 (%d samples; 700 Hz %.0f, ringback 400 Hz %.0f)",
					len(before), power(before, 700), power(before, 400))
			}
			left, right := env.recording(t, m)
			_ = left
			head := right[:min(len(right), 4000)] // the first half second
			switch {
			case record && !dominant(head, 700, 1000):
				t.Errorf("recording begins without the early media (700 Hz %.0f, 1000 Hz %.0f), want it recorded", power(head, 700), power(head, 1000))
			case !record && power(right, 700) > power(right, 1000)/20:
				t.Errorf("early media in the recording (700 Hz %.0f vs 1000 Hz %.0f), want it left out by default", power(right, 700), power(right, 1000))
			}
		})
	}
}

func decodeFrame(b []byte) []int16 {
	out := make([]int16, len(b))
	for i, x := range b {
		out[i] = media.DecodeULaw(x)
	}
	return out
}
