package sip

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kiroku-voice/kiroku/media"
	"github.com/kiroku-voice/kiroku/metrics"
)

// TestMetrics: the SIP side's instruments keep their names and labels on
// the daemon's registry (alert rules and dashboards use them).
func TestMetrics(t *testing.T) {
	reg := metrics.New()
	m := NewMetrics(reg.Registerer())
	m.Limited("source")
	m.Limited("source")
	m.Limited("global")
	m.Responded("INVITE", 200)
	m.Authenticated(authChallenged)
	m.CallEnded(CallSummary{Line: "0120000001", Decision: "notified", Recorded: true,
		RTP: [2]media.Stats{{Received: 5, Sent: 4, Rejected: 1}, {}}, Lost: [2]uint64{2, 0},
		Latching: [2]string{"strict", "learn"}, Foreign: [2]bool{true, false}, Silent: []string{"caller"}})
	m.CallEnded(CallSummary{Line: "0120000001", Decision: "opted-out"})
	m.DownstreamState("sip:acd@192.0.2.1", true) // first seen: no change counted
	m.DownstreamState("sip:acd@192.0.2.1", false)
	m.DownstreamState("sip:acd@192.0.2.2", true)
	m.DownstreamState("sip:acd@192.0.2.3", true)
	m.DownstreamGone("sip:acd@192.0.2.3")
	m.DownstreamAttempt("no-response")
	m.DownstreamAttempt("answered")
	rec := httptest.NewRecorder()
	reg.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`kiroku_sip_rate_limited_total{scope="source"} 2`,
		`kiroku_sip_rate_limited_total{scope="global"} 1`,
		`kiroku_sip_responses_total{code="200",method="INVITE"} 1`,
		`kiroku_sip_auth_total{outcome="challenged"} 1`,
		`kiroku_calls_total{decision="notified",line="0120000001"} 1`,
		`kiroku_calls_total{decision="opted-out",line="0120000001"} 1`,
		`kiroku_rtp_packets_total{leg="caller",outcome="received"} 5`,
		`kiroku_rtp_packets_total{leg="caller",outcome="sent"} 4`,
		`kiroku_rtp_packets_total{leg="caller",outcome="rejected"} 1`,
		`kiroku_rtp_packets_total{leg="agent",outcome="unauthenticated"} 0`,
		`kiroku_rtp_packets_lost_total{leg="caller"} 2`,
		`kiroku_recordings_total{outcome="spooled"} 1`,
		`kiroku_recordings_total{outcome="not_recorded"} 1`,
		`kiroku_downstream_up{downstream="sip:acd@192.0.2.1"} 0`,
		`kiroku_downstream_up{downstream="sip:acd@192.0.2.2"} 1`,
		`kiroku_downstream_state_changes_total{downstream="sip:acd@192.0.2.1",state="down"} 1`,
		`kiroku_downstream_attempts_total{outcome="no-response"} 1`,
		`kiroku_downstream_attempts_total{outcome="answered"} 1`,
		`kiroku_rtp_foreign_source_total{latching="strict",leg="caller"} 1`,
		`kiroku_recording_silent_channels_total{channel="caller"} 1`,
	} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, absent := range []string{`state="up"`, `sip:acd@192.0.2.3`} {
		if strings.Contains(string(body), absent) {
			t.Errorf("/metrics has %s, want it absent (first states are not changes; a gone downstream has no series)", absent)
		}
	}
}
