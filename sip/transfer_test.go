package sip

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
	"github.com/kiroku-voice/kiroku/spool"
)

// allowTransfers sets a line's transfer targets as Validate would.
func allowTransfers(t *testing.T, l *config.Line, targets ...string) {
	t.Helper()
	l.TransferTargets, l.TransferAllowed = targets, nil
	for _, s := range targets {
		tt, err := config.ParseTransferTarget(s)
		if err != nil {
			t.Fatal(err)
		}
		l.TransferAllowed = append(l.TransferAllowed, tt)
	}
}

// TestBlindTransfer: agent A (SIPp, 1000 Hz) REFERs the call to agent B
// (SIPp, 1500 Hz). A gets 202 and NOTIFYs of 100 then 200 (its scenario
// fails otherwise), the caller hears B, and the one recording has 1000 Hz
// then 1500 Hz on the right channel with the caller's 440 Hz throughout
// on the left; the manifest lists both segments. A target outside the
// line's transfer_targets is refused with 403 and the call stays with A.
func TestBlindTransfer(t *testing.T) {
	for _, allowed := range []bool{true, false} {
		t.Run(fmt.Sprintf("allowed=%v", allowed), func(t *testing.T) {
			apB := newRTPPeer(t)
			agB := sippAgent(t, "uas.xml", apB, 0)
			bURI := fmt.Sprintf("sip:agentB@127.0.0.1:%d", agB.Port())
			apA := newRTPPeer(t)
			agA := sipptest.Start(t, sipptest.Options{
				Scenario: sipptest.Scenario(t, "uas_refer.xml"),
				Keys:     map[string]string{"rtp_port": strconv.Itoa(apA.port()), "refer_to": bURI},
				Duration: 1500 * time.Millisecond,
				Timeout:  60 * time.Second,
			})
			aURI := fmt.Sprintf("sip:agentA@127.0.0.1:%d", agA.Port())
			env := startServer(t, envOptions{notice: 300 * time.Millisecond, optOutWait: "100ms", agent: aURI,
				tweak: func(c *config.Config) {
					if allowed {
						allowTransfers(t, &c.Lines[1], "sip:*@127.0.0.1")
					} else {
						allowTransfers(t, &c.Lines[1], "sip:*@192.0.2.99")
					}
				}})
			cp := newRTPPeer(t)
			c := caller(t, env, "uac.xml", agentLine, cp, 5*time.Second, nil)
			ci := env.waitCall(t, "bridged")
			stop, stopA := make(chan struct{}), make(chan struct{})
			var wg sync.WaitGroup
			defer func() {
				close(stop)
				wg.Wait() // no tone is sent once the test has ended
			}()
			wg.Add(2)
			go func() { defer wg.Done(); cp.sendTone(ci.CallerRTP, 440, 4500*time.Millisecond, stop) }()
			go func() { defer wg.Done(); apA.sendTone(ci.AgentRTP, 1000, 4500*time.Millisecond, stopA) }()
			if !allowed {
				mustSucceed(t, agA) // REFER refused with 403; A hangs up
				close(stopA)
				mustSucceed(t, c)
				m := env.finalManifest(t)
				if len(m.Segments) != 1 || m.Segments[0].Downstream != aURI || m.EndReason != endAgentHangup {
					t.Errorf("got segments %+v end %q, want A's only and agent-hangup", m.Segments, m.EndReason)
				}
				if env.logs.FilterMessageSnippet("transfer refused").Len() != 1 {
					t.Error("no log line for the refused transfer")
				}
				return
			}
			var switched time.Time
			var bRTP = ci.AgentRTP
			waitFor(t, "the caller switched to agent B", 10*time.Second, func() bool {
				for _, x := range env.srv.Calls() {
					if x.ID == ci.ID && x.AgentRTP != ci.AgentRTP {
						bRTP, switched = x.AgentRTP, time.Now()
						return true
					}
				}
				return false
			})
			close(stopA)
			apB.sendTone(bRTP, 1500, 1500*time.Millisecond, stop)
			mustSucceed(t, agA)
			mustSucceed(t, c)
			mustSucceed(t, agB)

			var heardB []int16
			for _, p := range cp.packets() {
				if p.pt == 0 && p.at.After(switched) {
					heardB = append(heardB, decodeFrame(p.payload)...)
				}
			}
			if !dominant(heardB, 1500, 1000) {
				t.Errorf("the caller did not hear agent B after the transfer (%d samples)", len(heardB))
			}
			m := env.finalManifest(t)
			if len(m.Segments) != 2 || m.Segments[0].Downstream != aURI || m.Segments[0].Began != beganAnswer ||
				m.Segments[1].Downstream != bURI || m.Segments[1].Began != beganRefer || m.Segments[0].EndedAt == nil {
				t.Fatalf("got segments %+v, want A from the answer then B from the REFER", m.Segments)
			}
			if m.Downstream != bURI || m.State != spool.StateSpooled {
				t.Errorf("got downstream %q state %q, want %s and spooled", m.Downstream, m.State, bURI)
			}
			left, right := env.recording(t, m)
			at := func(ts time.Time) int { return int(ts.Sub(m.Recording.StartedAt).Seconds() * 8000) }
			cut := at(*m.Segments[0].EndedAt)
			first, second := right[:max(cut-800, 0)], right[min(cut+800, len(right)):]
			if !dominant(first, 1000, 1500) || !dominant(second, 1500, 1000) {
				t.Errorf("right channel: first segment 1000 Hz %.0f / 1500 Hz %.0f, second 1500 Hz %.0f / 1000 Hz %.0f; want A then B",
					power(first, 1000), power(first, 1500), power(second, 1500), power(second, 1000))
			}
			if !dominant(left[:cut], 440, 1000) || !dominant(left[cut:], 440, 1500) {
				t.Error("the caller's 440 Hz is not on the left channel throughout")
			}
		})
	}
}

// TestRedirectFollowed: a downstream's 302 whose Contact the line's
// transfer_targets allow is followed at once, and the caller is bridged
// there (a segment that began by redirect); one outside them is not.
func TestRedirectFollowed(t *testing.T) {
	for _, allowed := range []bool{true, false} {
		t.Run(fmt.Sprintf("allowed=%v", allowed), func(t *testing.T) {
			apB := newRTPPeer(t)
			agB := sippAgent(t, "uas.xml", apB, 0)
			bURI := fmt.Sprintf("sip:agentB@127.0.0.1:%d", agB.Port())
			redir := sipptest.Start(t, sipptest.Options{
				Scenario: sipptest.Scenario(t, "uas_redirect.xml"),
				Keys:     map[string]string{"redirect_to": bURI},
				Timeout:  30 * time.Second,
			})
			aURI := fmt.Sprintf("sip:acd@127.0.0.1:%d", redir.Port())
			env := startServer(t, envOptions{notice: 300 * time.Millisecond, optOutWait: "100ms", agent: aURI,
				tweak: func(c *config.Config) {
					if allowed {
						allowTransfers(t, &c.Lines[1], "sip:agentB@127.0.0.1")
					}
				}})
			cp := newRTPPeer(t)
			scenario := "uac.xml"
			if !allowed {
				scenario = "uac_wait_bye.xml"
			}
			mustSucceed(t, caller(t, env, scenario, agentLine, cp, 2*time.Second, nil))
			mustSucceed(t, redir)
			m := env.finalManifest(t)
			if len(m.Attempts) == 0 || m.Attempts[0].Status != 302 {
				t.Fatalf("got attempts %+v, want a 302 first", m.Attempts)
			}
			if !allowed {
				if m.BridgedAt != nil || m.EndReason != endDownstreamFailed || len(m.Attempts) != 1 || m.Attempts[0].Outcome != spool.AttemptFailed {
					t.Errorf("got bridged %v end %q attempts %+v, want the redirect not followed", m.BridgedAt, m.EndReason, m.Attempts)
				}
				return
			}
			mustSucceed(t, agB)
			if len(m.Attempts) != 2 || m.Attempts[0].Outcome != spool.AttemptRedirected || m.Attempts[1].URI != bURI ||
				len(m.Segments) != 1 || m.Segments[0].Began != beganRedirect || m.Downstream != bURI {
				t.Errorf("got attempts %+v segments %+v downstream %q, want redirected to %s", m.Attempts, m.Segments, m.Downstream, bURI)
			}
		})
	}
}

// TestAttendedTransfer: agent A REFERs with a Replaces in the Refer-To
// (it consulted B on the agent platform); B gets an INVITE with that
// Replaces (its scenario fails otherwise), the caller is bridged to it and
// the segment began by replaces. A malformed Replaces gets 400 and the
// call stays with A.
func TestAttendedTransfer(t *testing.T) {
	apB := newRTPPeer(t)
	agB := sipptest.Start(t, sipptest.Options{
		Scenario: sipptest.Scenario(t, "uas_replaces.xml"),
		Keys:     map[string]string{"rtp_port": strconv.Itoa(apB.port()), "replaces_call_id": "consult-42@acd.example"},
		Timeout:  60 * time.Second,
	})
	bURI := fmt.Sprintf("sip:agentB@127.0.0.1:%d", agB.Port())
	apA := newRTPPeer(t)
	agA := sipptest.Start(t, sipptest.Options{
		Scenario: sipptest.Scenario(t, "uas_refer.xml"),
		Keys: map[string]string{"rtp_port": strconv.Itoa(apA.port()),
			"refer_to": bURI + "?Replaces=consult-42%40acd.example%3Bto-tag%3Db7%3Bfrom-tag%3Da1"},
		Duration: 1500 * time.Millisecond,
		Timeout:  60 * time.Second,
	})
	aURI := fmt.Sprintf("sip:agentA@127.0.0.1:%d", agA.Port())
	env := startServer(t, envOptions{notice: 300 * time.Millisecond, optOutWait: "100ms", agent: aURI,
		tweak: func(c *config.Config) { allowTransfers(t, &c.Lines[1], "sip:*@127.0.0.1") }})
	cp := newRTPPeer(t)
	c := caller(t, env, "uac.xml", agentLine, cp, 4*time.Second, nil)
	mustSucceed(t, agA)
	mustSucceed(t, c)
	mustSucceed(t, agB)
	m := env.finalManifest(t)
	if len(m.Segments) != 2 || m.Segments[1].Downstream != bURI || m.Segments[1].Began != beganReplaces {
		t.Errorf("got segments %+v, want A then B by replaces", m.Segments)
	}
}

func TestValidReplaces(t *testing.T) {
	for v, want := range map[string]bool{
		"abc@host;to-tag=1;from-tag=2":            true,
		"abc@host;from-tag=2;to-tag=1;early-only": true,
		"abc@host":                        false,
		";to-tag=1;from-tag=2":            false,
		"abc@host;to-tag=1":               false,
		"abc\r\nX: y;to-tag=1;from-tag=2": false,
	} {
		if got := validReplaces(v); got != want {
			t.Errorf("validReplaces(%q) = %v, want %v", v, got, want)
		}
	}
}
