package sip

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
	"github.com/kiroku-voice/kiroku/media"
)

// TestHoldPassedToAgent: the caller's hold and unhold re-INVITEs reach
// the agent as re-INVITEs with the same direction.
func TestHoldPassedToAgent(t *testing.T) {
	ap := newRTPPeer(t)
	ag := sippAgent(t, "uas_hold.xml", ap, 0)
	env := startServer(t, envOptions{notice: 200 * time.Millisecond, optOutWait: "100ms",
		agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port())})
	cp := newRTPPeer(t)
	c := caller(t, env, "uac_hold.xml", agentLine, cp, time.Second, nil)
	mustSucceed(t, c)
	mustSucceed(t, ag)
	msgs := ag.Messages()
	hold := strings.Index(msgs, "a=sendonly")
	unhold := strings.LastIndex(msgs, "a=sendrecv")
	if hold < 0 || unhold < hold {
		t.Fatalf("agent did not get a hold then an unhold re-INVITE; its messages:\n%s", msgs)
	}
	if n := strings.Count(msgs, "INVITE sip:agent@"); n != 3 {
		t.Errorf("agent got %d INVITEs, want 3 (call, hold, unhold)", n)
	}
	// The manifest keeps the hold, for the player's timeline.
	m := env.finalManifest(t)
	if len(m.Holds) != 1 {
		t.Fatalf("got holds %+v in the manifest, want the caller's one", m.Holds)
	}
	h := m.Holds[0]
	if h.By != "caller" || h.Direction != "sendonly" || h.End == nil || !h.End.After(h.Start) || h.Start.Before(m.StartedAt) {
		t.Errorf("got hold %+v, want the caller's sendonly hold, ended after it began, within the call from %v", h, m.StartedAt)
	}
}

// TestDownstreamInviteCarriesCaller: the agent sees the caller's number,
// the dialled number, Kiroku's call id and the consent decision.
func TestDownstreamInviteCarriesCaller(t *testing.T) {
	b := bridge(t, 1500*time.Millisecond)
	mustSucceed(t, b.caller)
	mustSucceed(t, b.agentP)
	msgs := b.agentP.Messages()
	for _, want := range []string{
		"X-Kiroku-Call-Id: " + b.call.ID,
		"X-Kiroku-Consent: notified",
		"From: <sip:0312345678@",
		"To: <sip:" + agentLine + "@127.0.0.1",
	} {
		if !strings.Contains(msgs, want) {
			t.Errorf("agent's INVITE lacks %q; messages:\n%s", want, msgs)
		}
	}
}

// TestOptedOutCallStillBridged: a caller who declines the recording still
// reaches an agent, who is told so.
func TestOptedOutCallStillBridged(t *testing.T) {
	ap := newRTPPeer(t)
	ag := sippAgent(t, "uas.xml", ap, 0)
	env := startServer(t, envOptions{notice: 3 * time.Second,
		agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port())})
	cp := newRTPPeer(t)
	c := caller(t, env, "uac_info.xml", agentLine, cp, 2*time.Second, nil)
	mustSucceed(t, c)
	mustSucceed(t, ag)
	if !strings.Contains(ag.Messages(), "X-Kiroku-Consent: opted-out") {
		t.Errorf("agent not told of the opt-out:\n%s", ag.Messages())
	}
}

// TestCallOverTCP: the same call path over TCP signalling.
func TestCallOverTCP(t *testing.T) {
	env := startServer(t, envOptions{notice: 500 * time.Millisecond})
	peer := newRTPPeer(t)
	p := sipptest.Start(t, sipptest.Options{
		Scenario:  sipptest.Scenario(t, "uac.xml"),
		Remote:    env.tcp,
		Transport: "t1",
		Keys:      map[string]string{"dialled": noOptOut, "caller": "0312345678", "rtp_port": strconv.Itoa(peer.port())},
		Duration:  1500 * time.Millisecond,
		Timeout:   30 * time.Second,
	})
	mustSucceed(t, p)
	m := env.finalManifest(t)
	if m.Consent.Decision != "notified" || !strings.HasPrefix(m.Source, "TCP:") {
		t.Errorf("got decision %q source %q, want notified over TCP", m.Consent.Decision, m.Source)
	}
	if len(peer.packets()) < 20 {
		t.Errorf("got %d notice packets over a TCP-signalled call, want 25", len(peer.packets()))
	}
}

// TestCallerNumberMaskedInLogs: no log line carries the caller's number
// in clear.
func TestCallerNumberMaskedInLogs(t *testing.T) {
	env := startServer(t, envOptions{notice: 300 * time.Millisecond})
	peer := newRTPPeer(t)
	mustSucceed(t, caller(t, env, "uac_info.xml", echoLine, peer, time.Second, nil))
	env.finalManifest(t)
	masked := false
	for _, e := range env.logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += fmt.Sprintf(" %s=%v", k, v)
		}
		if strings.Contains(line, "0312345678") || strings.Contains(line, "312345678") {
			t.Errorf("log line carries the caller number: %s", line)
		}
		if strings.Contains(line, "0312****78") {
			masked = true
		}
	}
	if !masked {
		t.Error("no log line names the caller masked as 0312****78")
	}
}

// TestInfoKeyCrossesAsRFC4733: a key the caller sends by SIP INFO during
// the bridge reaches the agent as RFC 4733.
func TestInfoKeyCrossesAsRFC4733(t *testing.T) {
	ap := newRTPPeer(t)
	ag := sippAgent(t, "uas.xml", ap, 0)
	env := startServer(t, envOptions{notice: 100 * time.Millisecond, optOutWait: "50ms",
		agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port())})
	cp := newRTPPeer(t)
	// uac_info.xml sends its INFO 500 ms after the ACK: by then the call
	// is bridged, so the 9 is an ordinary key, not an opt-out.
	c := caller(t, env, "uac_info.xml", agentLine, cp, 1500*time.Millisecond, nil)
	mustSucceed(t, c)
	events := 0
	for _, p := range ap.packets() {
		if p.pt == 101 {
			events++
			if media.Digit(p.payload[0]) != '9' {
				t.Errorf("got event %d, want 9", p.payload[0])
			}
		}
	}
	if events == 0 {
		t.Error("the INFO key never reached the agent as RFC 4733")
	}
	if m := env.finalManifest(t); m.Consent.Decision != "notified" {
		t.Errorf("got decision %q, want notified (the key came after the window)", m.Consent.Decision)
	}
}
