package sip

import (
	"context"
	"fmt"
	"math"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
	"github.com/kiroku-voice/kiroku/media"
	"github.com/kiroku-voice/kiroku/spool"
)

// deadURI is a downstream nothing listens on: a UDP port bound and
// released.
func deadURI(t *testing.T) string {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	return fmt.Sprintf("sip:dead@127.0.0.1:%d", port)
}

// groupAgent starts SIPp as a downstream of a group that answers calls
// and health checks, on port (0: a free one).
func groupAgent(t *testing.T, peer *rtpPeer, port int) *sipptest.Process {
	t.Helper()
	return sipptest.Start(t, sipptest.Options{
		Scenario:  sipptest.Scenario(t, "uas_options.xml"),
		Keys:      map[string]string{"rtp_port": strconv.Itoa(peer.port())},
		LocalPort: port,
		Calls:     100000, // OPTIONS count as calls: it runs until killed
		Timeout:   5 * time.Minute,
	})
}

// kill ends a SIPp process at once.
func kill(p *sipptest.Process) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p.Wait(ctx)
}

// sorryPCM is the unavailable prompt of the tests: 1200 Hz, unlike the
// notice's 600 Hz.
func sorryPCM(d time.Duration) []int16 {
	pcm := make([]int16, int(d.Seconds()*8000))
	for i := range pcm {
		pcm[i] = int16(6000 * math.Sin(2*math.Pi*1200*float64(i)/8000))
	}
	return pcm
}

// heard decodes the μ-law audio a test caller received after since.
func heard(p *rtpPeer, since time.Time) []int16 {
	var pcm []int16
	for _, pk := range p.packets() {
		if pk.pt != 0 || pk.at.Before(since) {
			continue
		}
		for _, b := range pk.payload {
			pcm = append(pcm, media.DecodeULaw(b))
		}
	}
	return pcm
}

// noticeOver is when a call's opt-out window closed.
func noticeOver(m *spool.Manifest, wait time.Duration) time.Time {
	if m.Consent.Notice.EndedAt == nil {
		return time.Time{}
	}
	return m.Consent.Notice.EndedAt.Add(wait)
}

// TestDownstreamGroupFailover: a line with three downstreams — one not
// listening, one answering 503 with Retry-After, one a SIPp agent —
// connects every call to the third within 3 s of the notice; with the
// third killed, a new caller hears the unavailable prompt and gets BYE
// within 5 s; the health checks take the dead ones out and bring the
// agent back when it returns.
func TestDownstreamGroupFailover(t *testing.T) {
	dead := deadURI(t)
	unavailable := sipptest.Start(t, sipptest.Options{
		Scenario: sipptest.Scenario(t, "uas_unavailable.xml"),
		Keys:     map[string]string{"retry": "60"},
		Calls:    100000,
		Timeout:  5 * time.Minute,
	})
	busyURI := fmt.Sprintf("sip:acd2@127.0.0.1:%d", unavailable.Port())
	ap := newRTPPeer(t)
	ag := groupAgent(t, ap, 0)
	agentPort := ag.Port()
	agentURI := fmt.Sprintf("sip:acd3@127.0.0.1:%d", agentPort)
	const wait = 100 * time.Millisecond
	sorry := sorryPCM(600 * time.Millisecond)
	obs := newTestObserver()
	env := startServer(t, envOptions{notice: 300 * time.Millisecond, optOutWait: "100ms", obs: obs, tweak: func(c *config.Config) {
		l := &c.Lines[1]
		l.Downstream = ""
		l.Downstreams = []config.Downstream{
			{URI: dead, Priority: 0, Weight: 1},
			{URI: busyURI, Priority: 1, Weight: 1},
			{URI: agentURI, Priority: 2, Weight: 1},
		}
		l.UnavailablePrompt = &config.Prompt{Name: "sorry.wav", PCM: sorry, Duration: 600 * time.Millisecond}
		c.SIP.RingTimeout = config.Duration(time.Second)
		c.SIP.HealthCheck = config.HealthCheck{Interval: config.Duration(time.Second),
			Timeout: config.Duration(400 * time.Millisecond), DownAfter: 2, UpAfter: 1}
	}})

	// Every call of a run reaches the agent.
	cp := newRTPPeer(t)
	const calls = 3
	for i := range calls {
		mustSucceed(t, caller(t, env, "uac.xml", agentLine, cp, 3*time.Second, nil))
		waitFor(t, fmt.Sprintf("%d calls ended", i+1), 10*time.Second, func() bool { return len(env.manifests(t)) == i+1 })
	}
	ms := env.manifests(t)
	for i, m := range ms {
		waitFor(t, "final manifests", 10*time.Second, func() bool {
			ms = env.manifests(t)
			return ms[i].State == spool.StateSpooled || ms[i].State == spool.StateDone
		})
		m = ms[i]
		if m.BridgedAt == nil || m.Downstream != agentURI {
			t.Fatalf("call %d: got bridged %v to %q (attempts %+v), want bridged to %s", i, m.BridgedAt, m.Downstream, m.Attempts, agentURI)
		}
		if d := m.BridgedAt.Sub(noticeOver(m, wait)); d > 3*time.Second {
			t.Errorf("call %d: bridged %s after the notice, want within 3s (attempts %+v)", i, d, m.Attempts)
		}
		last := m.Attempts[len(m.Attempts)-1]
		if last.URI != agentURI || last.Outcome != spool.AttemptAnswered || last.Status != 200 {
			t.Errorf("call %d: got last attempt %+v, want %s answered 200", i, last, agentURI)
		}
	}
	first := ms[0].Attempts
	if len(first) != 3 || first[0].Outcome != spool.AttemptNoResponse || first[1].Status != 503 || first[1].Outcome != spool.AttemptFailed {
		t.Errorf("got first call's attempts %+v, want %s no-response, %s 503, the agent", first, dead, busyURI)
	}
	for i, m := range ms[1:] {
		skipped := false
		for _, a := range m.Attempts {
			if a.URI == busyURI {
				skipped = a.Outcome == spool.AttemptSkipped
			}
		}
		if !skipped {
			t.Errorf("call %d: got attempts %+v, want %s skipped for its Retry-After", i+1, m.Attempts, busyURI)
		}
	}
	waitFor(t, "the dead downstream marked down", 10*time.Second, func() bool {
		return obs.count("downstream "+dead+" down") > 0
	})

	// The agent dies: the next caller hears the unavailable prompt and
	// is hung up.
	kill(ag)
	start := time.Now()
	cp.reset()
	mustSucceed(t, caller(t, env, "uac_wait_bye.xml", agentLine, cp, 0, nil))
	var m *spool.Manifest
	waitFor(t, "the failed call's manifest", 10*time.Second, func() bool {
		for _, x := range env.manifests(t) {
			if x.StartedAt.After(start) && x.EndedAt != nil {
				m = x
				return true
			}
		}
		return false
	})
	if m.EndReason != endDownstreamFailed || m.BridgedAt != nil {
		t.Errorf("got end %q bridged %v, want %s and never bridged", m.EndReason, m.BridgedAt, endDownstreamFailed)
	}
	if d := m.EndedAt.Sub(noticeOver(m, wait)); d > 5*time.Second {
		t.Errorf("caller hung up %s after the notice, want within 5s (attempts %+v)", d, m.Attempts)
	}
	if got := heard(cp, noticeOver(m, wait)); !dominant(got, 1200, 600) {
		t.Errorf("the caller did not hear the unavailable prompt after the notice (%d samples)", len(got))
	}
	tried := map[string]string{}
	for _, a := range m.Attempts {
		tried[a.URI] = a.Outcome
	}
	if tried[agentURI] != spool.AttemptNoResponse || tried[busyURI] != spool.AttemptSkipped || tried[dead] != spool.AttemptNoResponse {
		t.Errorf("got attempts %+v, want the agent and the dead one unanswered, the 503 one skipped", m.Attempts)
	}
	waitFor(t, "the killed agent marked down", 10*time.Second, func() bool {
		return obs.count("downstream "+agentURI+" down") > 0
	})

	// It comes back on its port: the health checks bring it up and calls
	// reach it again.
	groupAgent(t, ap, agentPort)
	waitFor(t, "the agent marked up again", 10*time.Second, func() bool {
		return obs.count("downstream "+agentURI+" up") > 1
	})
	start = time.Now()
	mustSucceed(t, caller(t, env, "uac.xml", agentLine, cp, 2*time.Second, nil))
	waitFor(t, "a call bridged to the returned agent", 10*time.Second, func() bool {
		for _, x := range env.manifests(t) {
			if x.StartedAt.After(start) && x.BridgedAt != nil && x.Downstream == agentURI {
				return true
			}
		}
		return false
	})
	if obs.count("attempt "+spool.AttemptAnswered) != calls+1 {
		t.Errorf("got %d answered attempts counted, want %d", obs.count("attempt "+spool.AttemptAnswered), calls+1)
	}
}

// TestBusyFailover: a busy downstream ends the attempts unless the line
// says failover_on_busy, and then the next one takes the call. The
// health checks are off (SIPp's busy scenario does not answer OPTIONS).
func TestBusyFailover(t *testing.T) {
	for _, onBusy := range []bool{false, true} {
		t.Run(fmt.Sprintf("failover_on_busy=%v", onBusy), func(t *testing.T) {
			busy := sippAgent(t, "uas_busy.xml", nil, 0)
			ap := newRTPPeer(t)
			ag := agent(t, "uas.xml", ap, 1)
			busyURI := fmt.Sprintf("sip:busy@127.0.0.1:%d", busy.Port())
			agentURI := fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port())
			env := startServer(t, envOptions{notice: 300 * time.Millisecond, optOutWait: "100ms", tweak: func(c *config.Config) {
				l := &c.Lines[1]
				l.Downstream, l.FailoverOnBusy = "", onBusy
				l.Downstreams = []config.Downstream{{URI: busyURI, Weight: 1}, {URI: agentURI, Priority: 1, Weight: 1}}
				l.UnavailablePrompt = &config.Prompt{Name: "sorry.wav", PCM: sorryPCM(300 * time.Millisecond), Duration: 300 * time.Millisecond}
				c.SIP.HealthCheck.Interval = 0
			}})
			cp := newRTPPeer(t)
			scenario := "uac_wait_bye.xml"
			if onBusy {
				scenario = "uac.xml"
			}
			mustSucceed(t, caller(t, env, scenario, agentLine, cp, 2*time.Second, nil))
			m := env.finalManifest(t)
			if !onBusy {
				if m.EndReason != endDownstreamFailed || m.DownstreamStatus != 486 || len(m.Attempts) != 1 {
					t.Errorf("got end %q status %d attempts %+v, want %s 486 after one attempt", m.EndReason, m.DownstreamStatus, m.Attempts, endDownstreamFailed)
				}
				if got := heard(cp, noticeOver(m, 100*time.Millisecond)); !dominant(got, 1200, 600) {
					t.Error("the caller did not hear the unavailable prompt")
				}
				return
			}
			mustSucceed(t, ag)
			if m.BridgedAt == nil || m.Downstream != agentURI || len(m.Attempts) != 2 || m.Attempts[0].Outcome != spool.AttemptBusy {
				t.Errorf("got bridged %v to %q attempts %+v, want busy then bridged to %s", m.BridgedAt, m.Downstream, m.Attempts, agentURI)
			}
		})
	}
}
