package sip

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/spool"
)

// earlyNoticeEnv is a server whose agent line plays its notice as early
// media, with agent as its downstream.
func earlyNoticeEnv(t *testing.T, agent string) *testEnv {
	return startServer(t, envOptions{notice: 600 * time.Millisecond, optOutWait: "200ms", agent: agent,
		tweak: func(c *config.Config) { c.Lines[1].NoticeMode = config.NoticeEarlyMedia }})
}

// TestEarlyMediaNotice: on a notice_mode early-media line the caller
// hears the notice inside a 183, before any 200, and the 200 reaches it
// only after the agent's; the consent evidence is as with answer-first.
func TestEarlyMediaNotice(t *testing.T) {
	for _, scenario := range []string{"uac.xml", "uac_100rel.xml"} {
		t.Run(scenario, func(t *testing.T) {
			ap := newRTPPeer(t)
			ag := sippAgent(t, "uas_early.xml", ap, time.Second) // rings 1 s after the notice
			env := earlyNoticeEnv(t, fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port()))
			cp := newRTPPeer(t)
			c := caller(t, env, scenario, agentLine, cp, 4*time.Second, nil)
			mustSucceed(t, c)
			mustSucceed(t, ag)
			m := env.finalManifest(t)
			if m.NoticeMode != config.NoticeEarlyMedia || m.Consent.Decision != spool.Notified || !m.Consent.Notice.Completed {
				t.Fatalf("got notice mode %q decision %q completed %v, want early-media, notified, completed",
					m.NoticeMode, m.Consent.Decision, m.Consent.Notice.Completed)
			}
			if m.AnsweredAt == nil || m.BridgedAt == nil || len(m.Attempts) == 0 {
				t.Fatalf("got answered %v bridged %v attempts %+v, want answered and bridged", m.AnsweredAt, m.BridgedAt, m.Attempts)
			}
			agentAnswered := *m.Attempts[len(m.Attempts)-1].EndedAt
			if m.AnsweredAt.Before(agentAnswered) {
				t.Errorf("the caller was answered at %s, before the agent at %s", m.AnsweredAt.Format(time.StampMicro), agentAnswered.Format(time.StampMicro))
			}
			if !m.Consent.Notice.EndedAt.Before(*m.AnsweredAt) {
				t.Error("the notice did not end before the caller was answered")
			}
			// The notice's frames reached the caller before our 200.
			var notice []int16
			for _, p := range cp.packets() {
				if p.pt == 0 && p.at.Before(*m.Consent.Notice.EndedAt) {
					notice = append(notice, decodeFrame(p.payload)...)
				}
			}
			if len(notice) < 3000 || !dominant(notice, 600, 1000) {
				t.Errorf("the caller got %d samples of notice before the answer, want the 600 Hz notice", len(notice))
			}
			msgs := c.Messages()
			i183, i200 := strings.Index(msgs, "SIP/2.0 183"), strings.Index(msgs, "SIP/2.0 200")
			if i183 < 0 || i200 < i183 {
				t.Errorf("the caller got no 183 before the 200 (183 at %d, 200 at %d)", i183, i200)
			}
		})
	}
}

// TestEarlyMediaNoticeEnds: on an early-media line a caller who cancels
// during the notice leaves the same evidence as after an answer (and was
// never answered), one who presses the opt-out key is not recorded, and
// one whose downstreams all fail gets a final 480 rather than a BYE.
func TestEarlyMediaNoticeEnds(t *testing.T) {
	t.Run("cancel during the notice", func(t *testing.T) {
		env := earlyNoticeEnv(t, "sip:agent@127.0.0.1:9")
		cp := newRTPPeer(t)
		mustSucceed(t, caller(t, env, "uac_cancel.xml", agentLine, cp, 300*time.Millisecond, nil))
		m := env.finalManifest(t)
		if m.Consent.Decision != spool.HungUpDuringNotice || m.AnsweredAt != nil || m.EndReason != endCallerHangup {
			t.Errorf("got decision %q answered %v end %q, want hung up during the notice, never answered", m.Consent.Decision, m.AnsweredAt, m.EndReason)
		}
	})
	t.Run("opt-out during the notice", func(t *testing.T) {
		ap := newRTPPeer(t)
		ag := sippAgent(t, "uas.xml", ap, 0)
		env := earlyNoticeEnv(t, fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port()))
		cp := newRTPPeer(t)
		c := caller(t, env, "uac.xml", agentLine, cp, 2500*time.Millisecond, nil)
		ci := env.waitCall(t, "notice")
		waitFor(t, "the early notice", 5*time.Second, func() bool { return len(cp.packets()) > 5 })
		cp.sendKey(ci.CallerRTP, 101, '9', false)
		mustSucceed(t, c)
		mustSucceed(t, ag)
		m := env.finalManifest(t)
		if m.Consent.Decision != spool.OptedOut || m.Recording != nil || m.BridgedAt == nil || m.NoticeMode != config.NoticeEarlyMedia {
			t.Errorf("got decision %q recording %v bridged %v mode %q, want opted out during early media, bridged, not recorded",
				m.Consent.Decision, m.Recording, m.BridgedAt, m.NoticeMode)
		}
	})
	t.Run("no downstream answers", func(t *testing.T) {
		busy := sippAgent(t, "uas_busy.xml", nil, 0)
		env := earlyNoticeEnv(t, fmt.Sprintf("sip:agent@127.0.0.1:%d", busy.Port()))
		cp := newRTPPeer(t)
		mustSucceed(t, caller(t, env, "uac_expect.xml", agentLine, cp, 0, map[string]string{"expect": "480"}))
		m := env.finalManifest(t)
		if m.AnsweredAt != nil || m.EndReason != endDownstreamFailed || m.DownstreamStatus != 486 {
			t.Errorf("got answered %v end %q status %d, want never answered, downstream-failed, 486", m.AnsweredAt, m.EndReason, m.DownstreamStatus)
		}
	})
}

// TestEarlyMediaLateOffer: a delayed-offer INVITE that requires 100rel,
// on an early-media line, is answered first (the documented fall-back):
// no 183, whose offer would need the caller's answer in a PRACK, but the
// 200 with our offer, the answer from the ACK, then the notice after the
// answer; the manifest does not claim early media.
func TestEarlyMediaLateOffer(t *testing.T) {
	ap := newRTPPeer(t)
	ag := sippAgent(t, "uas.xml", ap, 0)
	env := earlyNoticeEnv(t, fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port()))
	cp := newRTPPeer(t)
	c := caller(t, env, "uac_late_100rel.xml", agentLine, cp, 2500*time.Millisecond, nil)
	mustSucceed(t, c) // a 183 is unexpected there and fails the run
	mustSucceed(t, ag)
	m := env.finalManifest(t)
	if m.NoticeMode != "" || m.AnsweredAt == nil || m.Consent.Decision != spool.Notified || !m.Consent.Notice.Completed {
		t.Fatalf("got notice mode %q answered %v decision %q completed %v; want answer-first, answered, notified, completed",
			m.NoticeMode, m.AnsweredAt, m.Consent.Decision, m.Consent.Notice.Completed)
	}
	if m.Consent.Notice.StartedAt == nil || m.Consent.Notice.StartedAt.Before(*m.AnsweredAt) {
		t.Errorf("the notice started at %v, before the caller was answered at %s", m.Consent.Notice.StartedAt, m.AnsweredAt)
	}
	if m.Recording == nil || m.BridgedAt == nil {
		t.Errorf("got recording %v bridged %v, want the call bridged and recorded", m.Recording, m.BridgedAt)
	}
	msgs := c.Messages()
	if strings.Contains(msgs, "SIP/2.0 183") || strings.Contains(msgs, "RSeq:") {
		t.Error("the caller got a provisional with an offer (or a reliable one), want the 200 first")
	}
}
