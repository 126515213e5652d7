package sip

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
	"github.com/kiroku-voice/kiroku/media"
	"github.com/kiroku-voice/kiroku/spool"
)

// caller starts SIPp as the caller of line with media on peer.
func caller(t *testing.T, env *testEnv, scenario, line string, peer *rtpPeer, hold time.Duration, keys map[string]string) *sipptest.Process {
	t.Helper()
	k := map[string]string{"dialled": line, "caller": "0312345678"}
	if peer != nil {
		k["rtp_port"] = strconv.Itoa(peer.port())
	}
	for n, v := range keys {
		k[n] = v
	}
	return sipptest.Start(t, sipptest.Options{
		Scenario: sipptest.Scenario(t, scenario),
		Remote:   env.udp,
		Keys:     k,
		Duration: hold,
		Timeout:  30 * time.Second,
	})
}

func mustSucceed(t *testing.T, p *sipptest.Process) {
	t.Helper()
	if r := p.Wait(t.Context()); r.ExitCode != 0 {
		t.Fatalf("sipp exit %d, want 0\n%s", r.ExitCode, r.Log)
	}
}

// TestNoticeHeard: the caller receives the prompt, paced in real time, in
// full, and its first frames carry the prompt's audio.
func TestNoticeHeard(t *testing.T) {
	env := startServer(t, envOptions{notice: time.Second})
	peer := newRTPPeer(t)
	p := caller(t, env, "uac.xml", noOptOut, peer, 2500*time.Millisecond, nil)
	mustSucceed(t, p)
	m := env.finalManifest(t)
	if m.Consent.Decision != spool.Notified {
		t.Errorf("got decision %q, want %q", m.Consent.Decision, spool.Notified)
	}
	if !m.Consent.Notice.Completed {
		t.Error("notice not marked completed")
	}
	pkts := peer.packets()
	if len(pkts) < 10 {
		t.Fatalf("got %d RTP packets, want the notice", len(pkts))
	}
	span := pkts[len(pkts)-1].at.Sub(pkts[0].at) + 20*time.Millisecond
	if d := span - time.Second; d < -100*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("notice lasted %v on the wire, want 1s ±100ms", span)
	}
	if got, want := len(pkts), 50; got != want {
		t.Errorf("got %d notice packets, want %d", got, want)
	}
	for i := range 5 {
		for k := range 160 {
			want := media.EncodeULaw(env.notice[i*160+k])
			if pkts[i].payload[k] != want {
				t.Fatalf("frame %d byte %d: got %#x, want %#x (the prompt's audio)", i, k, pkts[i].payload[k], want)
			}
		}
	}
	if pkts[0].pt != 0 {
		t.Errorf("got payload type %d, want PCMU (0)", pkts[0].pt)
	}
	if m.Consent.Notice.SHA256 == "" || m.Consent.Notice.File != "notice.wav" {
		t.Errorf("got notice evidence %+v, want file name and SHA-256", m.Consent.Notice)
	}
}

func TestOptOutRFC4733(t *testing.T) {
	env := startServer(t, envOptions{notice: 3 * time.Second})
	peer := newRTPPeer(t)
	p := caller(t, env, "uac.xml", echoLine, peer, 2500*time.Millisecond, nil)
	ci := env.waitCall(t, "notice")
	time.Sleep(300 * time.Millisecond)
	peer.sendKey(ci.CallerRTP, 101, '9', false)
	mustSucceed(t, p)
	m := env.finalManifest(t)
	if m.Consent.Decision != spool.OptedOut {
		t.Fatalf("got decision %q, want %q", m.Consent.Decision, spool.OptedOut)
	}
	if o := m.Consent.OptOut; o == nil || o.Digit != "9" || o.Via != "rfc4733" {
		t.Errorf("got opt-out %+v, want digit 9 via rfc4733", o)
	}
	if m.Consent.Notice.Completed {
		t.Error("notice marked completed, want cut short by the opt-out")
	}
}

func TestOptOutSIPInfo(t *testing.T) {
	for _, sc := range []string{"uac_info.xml", "uac_info_dtmf.xml"} {
		t.Run(sc, func(t *testing.T) {
			env := startServer(t, envOptions{notice: 3 * time.Second})
			peer := newRTPPeer(t)
			p := caller(t, env, sc, echoLine, peer, 2*time.Second, nil)
			mustSucceed(t, p)
			m := env.finalManifest(t)
			if m.Consent.Decision != spool.OptedOut {
				t.Fatalf("got decision %q, want %q", m.Consent.Decision, spool.OptedOut)
			}
			if o := m.Consent.OptOut; o.Via != "sip-info" || o.Digit != "9" {
				t.Errorf("got opt-out %+v, want 9 via sip-info", o)
			}
		})
	}
}

// TestOptOutStockPcap plays SIPp's own DTMF pcap, whose first event packet
// has duration 0 (diago ignores such events).
func TestOptOutStockPcap(t *testing.T) {
	env := startServer(t, envOptions{notice: 4 * time.Second})
	p := caller(t, env, "uac_pcap.xml", echoLine, nil, 2*time.Second,
		map[string]string{"pcap": "/usr/share/sip-tester/dtmf_2833_9.pcap"})
	mustSucceed(t, p)
	m := env.finalManifest(t)
	if m.Consent.Decision != spool.OptedOut || m.Consent.OptOut.Digit != "9" {
		t.Fatalf("got consent %+v, want opted-out with 9", m.Consent)
	}
}

func TestHangupDuringNotice(t *testing.T) {
	env := startServer(t, envOptions{notice: 3 * time.Second})
	peer := newRTPPeer(t)
	p := caller(t, env, "uac.xml", echoLine, peer, 500*time.Millisecond, nil)
	mustSucceed(t, p)
	m := env.finalManifest(t)
	if m.Consent.Decision != spool.HungUpDuringNotice {
		t.Fatalf("got decision %q, want %q", m.Consent.Decision, spool.HungUpDuringNotice)
	}
	if m.EndReason != endCallerHangup {
		t.Errorf("got end reason %q, want %q", m.EndReason, endCallerHangup)
	}
}

// agent starts SIPp as the agent platform, with its media on peer.
func agent(t *testing.T, scenario string, peer *rtpPeer, calls int) *sipptest.Process {
	t.Helper()
	k := map[string]string{}
	if peer != nil {
		k["rtp_port"] = strconv.Itoa(peer.port())
	}
	return sipptest.Start(t, sipptest.Options{
		Scenario: sipptest.Scenario(t, scenario),
		Keys:     k,
		Calls:    calls,
		Timeout:  60 * time.Second,
	})
}

// bridgeEnv has a caller bridged to a SIPp agent, with both media peers.
type bridgeEnv struct {
	env            *testEnv
	callerPeer     *rtpPeer
	agentPeer      *rtpPeer
	caller, agentP *sipptest.Process
	call           CallInfo
	agentSide      CallInfo
}

func bridge(t *testing.T, hold time.Duration) *bridgeEnv {
	t.Helper()
	ap := newRTPPeer(t)
	ag := agent(t, "uas.xml", ap, 1)
	env := startServer(t, envOptions{notice: 400 * time.Millisecond, optOutWait: "200ms",
		agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port())})
	cp := newRTPPeer(t)
	c := caller(t, env, "uac.xml", agentLine, cp, hold, nil)
	ci := env.waitCall(t, "bridged")
	return &bridgeEnv{env: env, callerPeer: cp, agentPeer: ap, caller: c, agentP: ag, call: ci}
}

// TestBridgeBothWays: audio crosses both ways for the whole call, well
// past the opt-out window (diago's DTMF reader left a read deadline that
// killed inbound audio there).
func TestBridgeBothWays(t *testing.T) {
	b := bridge(t, 5*time.Second)
	// The agent peer must send to Kiroku's agent-side port.
	b.callerPeer.reset()
	b.agentPeer.reset()
	done := make(chan int, 2)
	go func() { done <- b.callerPeer.sendTone(b.call.CallerRTP, 440, 3*time.Second, nil) }()
	go func() { done <- b.agentPeer.sendTone(b.call.AgentRTP, 1000, 3*time.Second, nil) }()
	sent := <-done + <-done
	time.Sleep(100 * time.Millisecond)
	gotAgent, gotCaller := audioCount(b.agentPeer.packets()), audioCount(b.callerPeer.packets())
	if gotAgent+gotCaller < sent*99/100 {
		t.Errorf("got %d packets at the agent and %d at the caller of %d sent, want ≥99%%", gotAgent, gotCaller, sent)
	}
	if gotAgent < sent/2*99/100 || gotCaller < sent/2*99/100 {
		t.Errorf("one direction lost audio: agent got %d, caller got %d, each sent %d", gotAgent, gotCaller, sent/2)
	}
	// The last packets still arrive: no silent death after a few seconds.
	ap := b.agentPeer.packets()
	if len(ap) == 0 || time.Since(ap[len(ap)-1].at) > 500*time.Millisecond {
		t.Error("audio to the agent stopped before the caller stopped sending")
	}
	mustSucceed(t, b.caller)
	mustSucceed(t, b.agentP)
	m := b.env.finalManifest(t)
	if m.Consent.Decision != spool.Notified || m.BridgedAt == nil || m.EndReason != endCallerHangup {
		t.Errorf("got manifest %+v, want notified, bridged, ended by caller", m)
	}
}

func audioCount(ps []rxPacket) int {
	n := 0
	for _, p := range ps {
		if p.pt == 0 || p.pt == 8 {
			n++
		}
	}
	return n
}

func sippAgent(t *testing.T, scenario string, peer *rtpPeer, hold time.Duration) *sipptest.Process {
	t.Helper()
	k := map[string]string{}
	if peer != nil {
		k["rtp_port"] = strconv.Itoa(peer.port())
	}
	return sipptest.Start(t, sipptest.Options{
		Scenario: sipptest.Scenario(t, scenario),
		Keys:     k,
		Calls:    1,
		Duration: hold,
		Timeout:  60 * time.Second,
	})
}
