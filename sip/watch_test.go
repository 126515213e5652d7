package sip

import (
	"fmt"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/spool"
)

// withLines sets every line's media timeout and maximum duration below
// the floors a configuration file may give, so that the tests run in
// seconds; zero leaves a value as loaded.
func withLines(media, maxDur time.Duration) func(*config.Config) {
	return func(c *config.Config) {
		for i := range c.Lines {
			if media > 0 {
				c.Lines[i].MediaTimeout = config.Duration(media)
			}
			if maxDur > 0 {
				c.Lines[i].MaxDuration = config.Duration(maxDur)
			}
		}
	}
}

// logged reports whether a log entry has msg and the field key=value.
func (e *testEnv) logged(msg, key, value string) bool {
	for _, l := range e.logs.All() {
		if l.Message == msg && fmt.Sprint(l.ContextMap()[key]) == value {
			return true
		}
	}
	return false
}

// TestMediaTimeoutBridged: a caller that stops sending RTP mid-call is
// hung up after the line's media timeout: both legs get BYE, the
// recording is finalised, and the manifest says why the call ended.
func TestMediaTimeoutBridged(t *testing.T) {
	const timeout = time.Second
	ap := newRTPPeer(t)
	ag := sippAgent(t, "uas.xml", ap, 0)
	env := startServer(t, envOptions{notice: 300 * time.Millisecond, optOutWait: "100ms",
		agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port()), tweak: withLines(timeout, 0)})
	cp := newRTPPeer(t)
	c := caller(t, env, "uac.xml", agentLine, cp, 20*time.Second, nil)
	ci := env.waitCall(t, "notice")
	callerStop, agentStop := make(chan struct{}), make(chan struct{})
	defer close(agentStop)
	go cp.sendTone(ci.CallerRTP, 440, 20*time.Second, callerStop)
	ci = env.waitCall(t, "bridged")
	go ap.sendTone(ci.AgentRTP, 1000, 20*time.Second, agentStop)
	time.Sleep(300 * time.Millisecond) // some audio both ways first
	close(callerStop)
	silent := time.Now()

	mustSucceed(t, c)  // the caller got a BYE long before its own hang-up
	mustSucceed(t, ag) // and so did the agent
	m := env.finalManifest(t)
	if m.EndReason != endMediaTimeout {
		t.Fatalf("got end reason %q, want %q", m.EndReason, endMediaTimeout)
	}
	// Its last packet left up to one frame before silent.
	if d := m.EndedAt.Sub(silent); d < timeout-20*time.Millisecond {
		t.Errorf("call ended %v after the caller went silent, want at least the %v timeout", d, timeout)
	}
	if m.State != spool.StateSpooled || m.Recording == nil || m.Recording.Size == 0 || m.Recording.SHA256 == "" {
		t.Errorf("got state %q recording %+v, want a finalised recording", m.State, m.Recording)
	}
	if !env.logged("ending call: media-timeout", "silent_leg", "caller") {
		t.Error("no log entry names the caller's leg as the silent one")
	}
	if n := env.srv.ports.InUse(); n != 0 {
		t.Errorf("got %d RTP port pairs in use after the call, want 0", n)
	}
}

// TestMediaTimeoutDuringNotice: the caller's leg is watched while the
// notice plays too.
func TestMediaTimeoutDuringNotice(t *testing.T) {
	env := startServer(t, envOptions{notice: 10 * time.Second, tweak: withLines(time.Second, 0)})
	c := caller(t, env, "uac.xml", echoLine, newRTPPeer(t), 20*time.Second, nil)
	mustSucceed(t, c)
	m := env.finalManifest(t)
	if m.EndReason != endMediaTimeout || m.Consent.Notice.Completed {
		t.Errorf("got end reason %q, notice completed %v, want %q during the notice", m.EndReason, m.Consent.Notice.Completed, endMediaTimeout)
	}
}

// TestMediaTimeoutSpareOnHold: a leg on hold may be silent for longer
// than the timeout; once it is taken off hold its silence counts again.
func TestMediaTimeoutSpareOnHold(t *testing.T) {
	const timeout = time.Second
	env := startServer(t, envOptions{notice: 200 * time.Millisecond, optOutWait: "100ms", tweak: withLines(timeout, 0)})
	peer := newRTPPeer(t)
	u := newUAC(t, env.udp, peer.port())
	if res := u.invite(noOptOut); res.StatusCode != 200 {
		t.Fatalf("got %d, want 200", res.StatusCode)
	}
	if res := u.inDialog(sipmsg.INVITE, u.sdp("sendonly")); res.StatusCode != 200 || !strings.Contains(string(res.Body()), "a=recvonly") {
		t.Fatalf("hold: got %d\n%s, want 200 with a=recvonly", res.StatusCode, res.Body())
	}
	time.Sleep(3 * timeout)
	if len(env.srv.Calls()) != 1 || len(u.requests(sipmsg.BYE)) != 0 {
		t.Fatalf("a call on hold was ended after %v of silence", 3*timeout)
	}
	unheld := time.Now()
	if res := u.inDialog(sipmsg.INVITE, u.sdp("sendrecv")); res.StatusCode != 200 {
		t.Fatalf("unhold: got %d, want 200", res.StatusCode)
	}
	u.waitRequests(sipmsg.BYE, 1, 10*time.Second)
	if d := time.Since(unheld); d < timeout {
		t.Errorf("got BYE %v after unhold, want at least the %v timeout", d, timeout)
	}
	if m := env.finalManifest(t); m.EndReason != endMediaTimeout {
		t.Errorf("got end reason %q, want %q", m.EndReason, endMediaTimeout)
	}
}

// TestMaxDuration: a call reaching the line's maximum duration is ended
// on both legs, with the reason recorded.
func TestMaxDuration(t *testing.T) {
	const maxDur = 1500 * time.Millisecond
	ap := newRTPPeer(t)
	ag := sippAgent(t, "uas.xml", ap, 0)
	env := startServer(t, envOptions{notice: 200 * time.Millisecond, optOutWait: "100ms",
		agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port()), tweak: withLines(0, maxDur)})
	c := caller(t, env, "uac.xml", agentLine, newRTPPeer(t), 20*time.Second, nil)
	mustSucceed(t, c)
	mustSucceed(t, ag)
	m := env.finalManifest(t)
	if m.EndReason != endMaxDuration {
		t.Fatalf("got end reason %q, want %q", m.EndReason, endMaxDuration)
	}
	// The limit runs from our 200 OK; answered_at is taken when the ACK
	// is in, a few milliseconds later.
	if m.AnsweredAt == nil || m.EndedAt.Sub(*m.AnsweredAt) < maxDur-100*time.Millisecond {
		t.Errorf("got call from %v to %v, want at least %v", m.AnsweredAt, m.EndedAt, maxDur)
	}
	if m.Recording == nil || m.Recording.Size == 0 {
		t.Errorf("got recording %+v, want it finalised", m.Recording)
	}
}
