package sip

import (
	"bytes"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/spool"
)

// TestMidCallDTMF: a key pressed by the caller reaches the agent as RFC
// 4733 with the agent's payload type, is never sent as audio, and never
// comes back to the caller (diago's Bridge.DTMFpass does both).
func TestMidCallDTMF(t *testing.T) {
	b := bridge(t, 3*time.Second)
	b.callerPeer.reset()
	b.agentPeer.reset()
	b.callerPeer.sendKey(b.call.CallerRTP, 101, '5', false)
	waitFor(t, "the event at the agent", 2*time.Second, func() bool {
		for _, p := range b.agentPeer.packets() {
			if p.pt == 101 {
				return true
			}
		}
		return false
	})
	time.Sleep(200 * time.Millisecond)
	events, audio := 0, 0
	for _, p := range b.agentPeer.packets() {
		switch p.pt {
		case 101:
			events++
			if p.payload[0] != 5 {
				t.Errorf("got event %d at the agent, want 5", p.payload[0])
			}
		default:
			audio++
		}
	}
	if events != 6 {
		t.Errorf("got %d event packets at the agent, want the 6 sent", events)
	}
	if audio != 0 {
		t.Errorf("got %d audio packets at the agent from a key press, want 0", audio)
	}
	for _, p := range b.callerPeer.packets() {
		if p.pt == 101 {
			t.Fatal("the caller's own key press came back to the caller")
		}
	}
	mustSucceed(t, b.caller)
}

// TestRTPFromWrongPortDropped: RTP sent to Kiroku from anywhere but the
// address and port in the caller's SDP never reaches the agent.
func TestRTPFromWrongPortDropped(t *testing.T) {
	b := bridge(t, 3*time.Second)
	b.agentPeer.reset()
	intruder, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer intruder.Close()
	marker := bytes.Repeat([]byte{0x42}, 160)
	for i := range 20 {
		pkt := append([]byte{0x80, 0, 0, byte(i), 0, 0, 0, byte(i), 9, 9, 9, 9}, marker...)
		intruder.WriteToUDPAddrPort(pkt, b.call.CallerRTP)
	}
	// A genuine packet afterwards still crosses.
	b.callerPeer.send(b.call.CallerRTP, 0, false, 1000, toneFrame(440, 0))
	waitFor(t, "the genuine packet at the agent", 2*time.Second, func() bool { return audioCount(b.agentPeer.packets()) > 0 })
	for _, p := range b.agentPeer.packets() {
		if bytes.Equal(p.payload, marker) {
			t.Fatal("injected RTP from a wrong port reached the agent")
		}
	}
	mustSucceed(t, b.caller)
}

// TestAgentHangsUp: the agent's BYE ends the caller's leg too.
func TestAgentHangsUp(t *testing.T) {
	ap := newRTPPeer(t)
	ag := sippAgent(t, "uas_bye.xml", ap, 1500*time.Millisecond)
	env := startServer(t, envOptions{notice: 300 * time.Millisecond, optOutWait: "100ms",
		agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port())})
	cp := newRTPPeer(t)
	c := caller(t, env, "uac_wait_bye.xml", agentLine, cp, 0, nil)
	mustSucceed(t, c)
	mustSucceed(t, ag)
	m := env.finalManifest(t)
	if m.EndReason != endAgentHangup || m.DownstreamStatus != 200 {
		t.Errorf("got end %q status %d, want %q 200", m.EndReason, m.DownstreamStatus, endAgentHangup)
	}
}

// TestDownstreamFailures: busy and no answer end the caller's leg cleanly
// with the SIP code recorded.
func TestDownstreamFailures(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		code     int
	}{
		{"uas_busy.xml", 486},
		{"uas_noanswer.xml", 408},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			ag := sippAgent(t, tc.scenario, nil, 0)
			env := startServer(t, envOptions{notice: 300 * time.Millisecond, optOutWait: "100ms",
				agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port())})
			cp := newRTPPeer(t)
			c := caller(t, env, "uac_wait_bye.xml", agentLine, cp, 0, nil)
			mustSucceed(t, c)
			m := env.finalManifest(t)
			if m.EndReason != endDownstreamFailed || m.DownstreamStatus != tc.code {
				t.Errorf("got end %q status %d, want %q %d", m.EndReason, m.DownstreamStatus, endDownstreamFailed, tc.code)
			}
			if m.Consent.Decision != spool.Notified {
				t.Errorf("got decision %q, want notified", m.Consent.Decision)
			}
		})
	}
}
