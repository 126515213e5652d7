package sip

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kiroku-voice/kiroku/internal/config"
)

// udpResponse sends msg and returns the first final response (a 100 is
// skipped), whole, or "" when none comes within wait.
func udpResponse(t *testing.T, to, msg string, wait time.Duration) string {
	t.Helper()
	c, err := net.Dial("udp", to)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	buf := make([]byte, 4096)
	for {
		c.SetReadDeadline(deadline)
		n, err := c.Read(buf)
		if err != nil {
			return ""
		}
		if s := string(buf[:n]); !strings.HasPrefix(s, "SIP/2.0 100") {
			return s
		}
	}
}

// TestOverload: with sip.overload.max_setups_pending calls being set up,
// or one waiting past setup_queue_timeout, a new INVITE is refused at
// once — 503 Overloaded with Retry-After, or no answer with action drop —
// counted, and OPTIONS says overloaded; once they are through, calls are
// taken again and release their place once answered.
func TestOverload(t *testing.T) {
	for _, c := range []struct {
		name   string
		action string
		fill   []time.Duration // ages of the set-ups in progress
		want   string          // first line of the answer, "" for none
	}{
		{"too many set-ups", "reject", []time.Duration{0, 0}, "SIP/2.0 503 Overloaded"},
		{"one waited too long", "reject", []time.Duration{3 * time.Second}, "SIP/2.0 503 Overloaded"},
		{"too many set-ups, drop", "drop", []time.Duration{0, 0}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := NewMetrics(reg)
			env := startServer(t, envOptions{obs: m, tweak: func(cfg *config.Config) {
				cfg.SIP.Overload = config.Overload{MaxSetupsPending: 2, SetupQueueTimeout: config.Duration(2 * time.Second), Action: c.action}
			}})
			var toks []uint64
			for _, age := range c.fill {
				tok, ok := env.srv.setups.admit(env.srv.Config().SIP.Overload, time.Now().Add(-age))
				if !ok {
					t.Fatal("could not fill the set-ups")
				}
				toks = append(toks, tok)
			}
			target := echoLine + "@" + env.udp
			res := udpResponse(t, env.udp, request("INVITE", target, "127.0.0.1:5999", nil, goodSDP), time.Second)
			if first, _, _ := strings.Cut(res, "\r\n"); first != c.want {
				t.Fatalf("INVITE: got %q, want %q", first, c.want)
			}
			if c.want != "" && !strings.Contains(res, "\r\nRetry-After: 7\r\n") {
				t.Errorf("INVITE: got\n%s\nwant Retry-After: 7 (sip.retry_after)", res)
			}
			if got := counter(t, reg, "kiroku_sip_overloaded_total", c.action); got != 1 {
				t.Errorf("kiroku_sip_overloaded_total{action=%q}: got %v, want 1", c.action, got)
			}
			if env.srv.ActiveCalls() != 0 {
				t.Errorf("got %d active calls, want the refused INVITE to hold none", env.srv.ActiveCalls())
			}
			options := func() string {
				return udpExchange(t, env.udp, request("OPTIONS", target, "127.0.0.1:5999", map[string]string{"Content-Type": "-"}, ""))
			}
			if len(c.fill) >= 2 {
				if got := options(); got != "SIP/2.0 503 Overloaded" {
					t.Errorf("OPTIONS with set-ups full: got %q, want 503 Overloaded", got)
				}
			}
			for _, tok := range toks {
				env.srv.setups.done(tok)
			}
			if got := options(); got != "SIP/2.0 200 OK" {
				t.Errorf("OPTIONS once through: got %q, want 200 OK", got)
			}
			p := caller(t, env, "uac.xml", echoLine, newRTPPeer(t), 2*time.Second, nil)
			env.waitCall(t, "notice")
			// Released when the caller is answered, well before the call ends.
			waitFor(t, "the set-up's place released", time.Second, func() bool { return env.srv.setups.pending() == 0 })
			if env.srv.ActiveCalls() != 1 {
				t.Errorf("got %d active calls, want the answered call still up", env.srv.ActiveCalls())
			}
			mustSucceed(t, p)
		})
	}
}

// TestSetupsBounds: the count and age bounds of set-ups in progress.
func TestSetupsBounds(t *testing.T) {
	o := config.Overload{MaxSetupsPending: 2, SetupQueueTimeout: config.Duration(time.Second)}
	now := time.Now()
	s := newSetups()
	a, ok1 := s.admit(o, now)
	_, ok2 := s.admit(o, now)
	if _, ok := s.admit(o, now); !ok1 || !ok2 || ok {
		t.Fatalf("got %v %v then %v, want two admitted and the third refused", ok1, ok2, ok)
	}
	s.done(a)
	s.done(a) // twice is harmless
	if _, ok := s.admit(o, now.Add(500*time.Millisecond)); !ok {
		t.Fatal("got a refusal with a place free and none waiting too long")
	}
	if _, ok := s.admit(o, now.Add(2*time.Second)); ok {
		t.Fatal("got an admission while a set-up had waited past the timeout")
	}
	if n := s.pending(); n != 2 {
		t.Errorf("got %d pending, want 2", n)
	}
}

// TestSetupsAgentStage: a call owing its INVITE to the agent platform
// counts among the set-ups in progress, by number and by age, though it
// was admitted long ago; entering never refuses.
func TestSetupsAgentStage(t *testing.T) {
	o := config.Overload{MaxSetupsPending: 2, SetupQueueTimeout: config.Duration(time.Second)}
	now := time.Now()
	s := newSetups()
	a := s.enter(now.Add(-time.Hour)) // owed for an hour: the node is behind
	if _, ok := s.admit(o, now); ok {
		t.Fatal("got an admission while a call's agent INVITE had been owed past the timeout")
	}
	s.done(a)
	b := s.enter(now)
	c := s.enter(now)
	d := s.enter(now) // past the count: taken all the same
	if n := s.pending(); n != 3 {
		t.Fatalf("got %d pending, want 3 (entering takes no bound)", n)
	}
	if _, ok := s.admit(o, now); ok {
		t.Fatal("got an admission with the agent stage full")
	}
	for _, tok := range []uint64{b, c, d} {
		s.done(tok)
	}
	if _, ok := s.admit(o, now); !ok {
		t.Fatal("got a refusal once the agent INVITEs went out")
	}
}

// TestSetupStages: a bridged call passes through both of kirokud's own
// set-up stages — observed once each in kiroku_sip_setup_stage_seconds —
// and holds no place among the set-ups once its agent INVITE went out.
func TestSetupStages(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	ap := newRTPPeer(t)
	ag := agent(t, "uas.xml", ap, 1)
	env := startServer(t, envOptions{obs: m, notice: 400 * time.Millisecond, optOutWait: "200ms",
		agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port())})
	p := caller(t, env, "uac.xml", agentLine, newRTPPeer(t), 3*time.Second, nil)
	env.waitCall(t, "bridged")
	if n := env.srv.setups.pending(); n != 0 {
		t.Errorf("bridged: got %d set-ups pending, want 0", n)
	}
	for _, stage := range []string{stageAnswer, stageAgent} {
		n, sum := histogram(t, reg, "kiroku_sip_setup_stage_seconds", stage)
		if n != 1 || sum <= 0 || sum > 5 {
			t.Errorf("stage %s: got %d observations summing %.3f s, want 1 of a few ms", stage, n, sum)
		}
	}
	mustSucceed(t, p)
	mustSucceed(t, ag)
}

// TestSetupAgentStageUnsent: an agent INVITE that cannot be sent (no
// route to its transport) still releases the call's place.
func TestSetupAgentStageUnsent(t *testing.T) {
	env := startServer(t, envOptions{notice: 400 * time.Millisecond, optOutWait: "200ms",
		agent: "sip:agent@127.0.0.1:9;transport=sctp"})
	p := caller(t, env, "uac.xml", agentLine, newRTPPeer(t), 3*time.Second, nil)
	env.waitCall(t, "notice")
	waitFor(t, "the call to end", 10*time.Second, func() bool { return env.srv.ActiveCalls() == 0 })
	if n := env.srv.setups.pending(); n != 0 {
		t.Errorf("got %d set-ups pending after the agent INVITE failed, want 0", n)
	}
	p.Wait(t.Context())
	m := env.finalManifest(t)
	if len(m.Attempts) != 1 || !strings.HasPrefix(m.Attempts[0].Why, "not sent") {
		t.Errorf("got attempts %+v, want one not sent", m.Attempts)
	}
}

// histogram is the count and sum of the histogram name whose only label
// is value.
func histogram(t *testing.T, reg *prometheus.Registry, name, value string) (uint64, float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if l := m.GetLabel(); len(l) == 1 && l[0].GetValue() == value {
				return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
			}
		}
	}
	return 0, 0
}

// counter is the value of the counter name whose only label is value.
func counter(t *testing.T, reg *prometheus.Registry, name, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if l := m.GetLabel(); len(l) == 1 && l[0].GetValue() == value {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
