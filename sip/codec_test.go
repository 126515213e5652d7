package sip

import (
	"fmt"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/media"
)

// callerCodec is the codec Kiroku takes from the caller of the one call
// in progress, nil when there is none.
func callerCodec(s *Server) media.Codec {
	var codec media.Codec
	s.legs.Range(func(_, v any) bool {
		l := v.(*leg)
		if l.side == sideCaller && l.c.inEp != nil {
			if p := l.c.inEp.Peer(); p != nil {
				codec = p.Audio.Codec
			}
		}
		return true
	})
	return codec
}

// TestReinviteCodecChange: a caller bridged on PCMU re-INVITEs offering
// only PCMA. The answer is PCMA (SIPp's scenario fails otherwise), audio
// goes on both ways (the agent still on PCMU, transcoded), and the
// recording's caller channel has no gap beyond 40 ms at the switch.
func TestReinviteCodecChange(t *testing.T) {
	ap := newRTPPeer(t)
	ag := sippAgent(t, "uas.xml", ap, 0)
	env := startServer(t, envOptions{notice: 300 * time.Millisecond, optOutWait: "100ms",
		agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port())})
	cp := newRTPPeer(t)
	c := caller(t, env, "uac_codec.xml", agentLine, cp, 2500*time.Millisecond, nil)
	t.Cleanup(func() {
		if t.Failed() {
			for _, e := range env.logs.All() {
				t.Log(e.Message, e.ContextMap())
			}
		}
	})
	ci := env.waitCall(t, "bridged")
	stop, sent := make(chan struct{}), make(chan struct{})
	go func() { defer close(sent); ap.sendTone(ci.AgentRTP, 1000, 4*time.Second, stop) }()
	defer func() { close(stop); <-sent }() // no tone once the test has ended

	var switched time.Time
	start := time.Now()
	for i := 0; time.Duration(i)*20*time.Millisecond < 4*time.Second; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * 20 * time.Millisecond)))
		pl, pt := toneFrame(440, i), uint8(0)
		if switched.IsZero() && callerCodec(env.srv) == media.PCMA {
			switched = time.Now() // our 200 answered PCMA: the caller switches
		}
		if !switched.IsZero() {
			pt = 8
			for k, b := range pl {
				pl[k] = media.EncodeALaw(media.DecodeULaw(b))
			}
		}
		cp.send(ci.CallerRTP, pt, i == 0, cp.ts, pl)
		cp.ts += 160
	}
	if switched.IsZero() {
		t.Fatal("the caller's leg never switched to PCMA")
	}
	mustSucceed(t, c)
	mustSucceed(t, ag)

	var toCallerPCMA []int16
	for _, p := range cp.packets() {
		if p.pt == 8 && p.at.After(switched) {
			for _, b := range p.payload {
				toCallerPCMA = append(toCallerPCMA, media.DecodeALaw(b))
			}
		}
		if p.pt == 0 && p.at.After(switched.Add(100*time.Millisecond)) {
			t.Fatal("Kiroku still sent PCMU to the caller after answering PCMA")
		}
	}
	if !dominant(toCallerPCMA, 1000, 440) {
		t.Errorf("the caller got %d samples of PCMA after the switch, want the agent's 1000 Hz", len(toCallerPCMA))
	}
	var toAgent int
	for _, p := range ap.packets() {
		if p.pt == 0 && p.at.After(switched.Add(100*time.Millisecond)) {
			toAgent++
		}
	}
	if toAgent < 50 {
		t.Errorf("the agent got %d PCMU packets after the switch, want the caller's audio transcoded", toAgent)
	}

	m := env.finalManifest(t)
	left, _ := env.recording(t, m)
	if !dominant(left, 440, 1000) {
		t.Error("the caller's channel lacks the caller's 440 Hz")
	}
	// The longest run of near silence inside the caller's stream (its
	// first and last 200 ms aside) is the gap at the switch.
	from := int(start.Sub(m.Recording.StartedAt).Seconds()*8000) + 1600
	to := from + int(3.6*8000)
	longest, run := 0, 0
	for _, x := range left[max(from, 0):min(to, len(left))] {
		if x > -200 && x < 200 {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	if gap := time.Duration(longest) * time.Second / 8000; gap > 40*time.Millisecond {
		t.Errorf("the caller's channel has a gap of %s at the codec switch, want at most 40ms", gap)
	}
	if got := m.Recording.Channels[0].Codec; got != "PCMU,PCMA" {
		t.Errorf("got caller channel codec %q, want PCMU,PCMA", got)
	}
}
