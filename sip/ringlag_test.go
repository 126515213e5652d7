package sip

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
	"github.com/kiroku-voice/kiroku/spool"
)

// TestRingTimeoutOwnLag: an agent that says nothing for 1.5 s is given up
// at a ring_timeout of 1 s while kirokud keeps up; while kirokud itself
// is behind (a 99th-percentile scheduler wait of 600 ms: in a storm its
// goroutines had not read agents' responses for over a second), the
// timeout runs once more, and the same agent's call is bridged.
func TestRingTimeoutOwnLag(t *testing.T) {
	ap := newRTPPeer(t)
	ag := sipptest.Start(t, sipptest.Options{
		Scenario: sipptest.Scenario(t, "uas_slow.xml"),
		Keys:     map[string]string{"rtp_port": strconv.Itoa(ap.port())},
		Duration: 1500 * time.Millisecond,
		Calls:    2,
		Timeout:  60 * time.Second,
	})
	env := startServer(t, envOptions{notice: 300 * time.Millisecond, optOutWait: "100ms",
		agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port()),
		tweak: func(c *config.Config) { c.SIP.RingTimeout = config.Duration(time.Second) }})
	env.srv.sched.pinned.Store(true)
	cp := newRTPPeer(t)

	last := func(n int) *spool.Manifest {
		t.Helper()
		var m *spool.Manifest
		waitFor(t, fmt.Sprintf("%d final manifests", n), 15*time.Second, func() bool {
			ms := env.manifests(t)
			if len(ms) != n {
				return false
			}
			m = ms[n-1]
			return m.State == spool.StateDone || m.State == spool.StateSpooled
		})
		return m
	}

	// Keeping up: no grace.
	mustSucceed(t, caller(t, env, "uac_wait_bye.xml", agentLine, cp, 0, nil))
	m := last(1)
	if m.BridgedAt != nil || len(m.Attempts) != 1 || m.Attempts[0].Outcome != spool.AttemptNoResponse {
		t.Errorf("kirokud keeping up: bridged %v, attempts %+v; want the slow agent given up at ring_timeout (no-response)", m.BridgedAt, m.Attempts)
	}

	// Behind: the ring timeout runs once more, for up to as long again.
	env.srv.sched.tail.Store(int64(600 * time.Millisecond))
	mustSucceed(t, caller(t, env, "uac.xml", agentLine, cp, 2*time.Second, nil))
	m = last(2)
	if m.BridgedAt == nil || len(m.Attempts) != 1 || m.Attempts[0].Outcome != spool.AttemptAnswered {
		t.Errorf("kirokud behind: bridged %v, attempts %+v; want the slow agent's answer taken", m.BridgedAt, m.Attempts)
	}
}
