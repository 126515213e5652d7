package storm

import (
	"math"
	"testing"
	"time"
)

// TestQuantile: the bench's reading of a histogram from the text format.
func TestQuantile(t *testing.T) {
	text := `# HELP kiroku_sip_setup_stage_seconds x
kiroku_sip_setup_stage_seconds_bucket{stage="agent",le="0.01"} 50
kiroku_sip_setup_stage_seconds_bucket{stage="agent",le="0.1"} 90
kiroku_sip_setup_stage_seconds_bucket{stage="agent",le="+Inf"} 100
kiroku_sip_setup_stage_seconds_sum{stage="agent"} 3
kiroku_sip_setup_stage_seconds_count{stage="agent"} 100
kiroku_sip_setup_stage_seconds_bucket{stage="answer",le="0.01"} 0
kiroku_sip_setup_stage_seconds_bucket{stage="answer",le="+Inf"} 0
kiroku_sip_overloaded_total{action="reject"} 7
`
	for _, c := range []struct {
		q, want float64
	}{{0.25, 0.005}, {0.5, 0.01}, {0.7, 0.055}, {0.99, 0.1}} {
		got, n := quantile(text, "kiroku_sip_setup_stage_seconds", "stage", "agent", c.q)
		if n != 100 || math.Abs(got-c.want) > 1e-9 {
			t.Errorf("q %.2f: got %v of %v, want %v of 100", c.q, got, n, c.want)
		}
	}
	if got, _ := quantile(text, "kiroku_sip_setup_stage_seconds", "stage", "answer", 0.5); !math.IsNaN(got) {
		t.Errorf("no observations: got %v, want NaN", got)
	}
	if got := counterSum(text, "kiroku_sip_overloaded_total", "", ""); got != 7 {
		t.Errorf("overloaded: got %v, want 7", got)
	}
}

// TestRefusals: 5xx finals to INVITEs, once per call.
func TestRefusals(t *testing.T) {
	entry := func(kind, first, callID, cseq string) string {
		return "----------------------------------------------- 2026-12-02\t02:40:01.123456\n" + kind + "\n\n" + first + "\nCall-ID: " + callID + "\nCSeq: " + cseq + "\n\n"
	}
	log := entry("UDP message received [300] bytes :", "SIP/2.0 503 Overloaded", "a", "1 INVITE") +
		entry("UDP message received [300] bytes :", "SIP/2.0 503 Overloaded", "a", "1 INVITE") + // a retransmission
		entry("UDP message received [300] bytes :", "SIP/2.0 503 Capacity Reached", "b", "1 INVITE") +
		entry("UDP message received [300] bytes :", "SIP/2.0 500 Oops", "c", "2 BYE") +
		entry("UDP message sent (300 bytes):", "SIP/2.0 503 Overloaded", "d", "1 INVITE")
	got := refusals(log)
	if len(got) != 2 || got["503 Overloaded"] != 1 || got["503 Capacity Reached"] != 1 {
		t.Errorf("got %v, want one of each 503 to an INVITE received", got)
	}
}

// TestByeLatency: the caller's first BYE of a call to the first 200 to
// it; retransmissions of either count once, a BYE never answered not at
// all.
func TestByeLatency(t *testing.T) {
	entry := func(at, kind, first, callID, cseq string) string {
		return "----------------------------------------------- 2026-12-02\t02:40:" + at + "\n" + kind + "\n\n" + first + "\nCall-ID: " + callID + "\nCSeq: " + cseq + "\n\n"
	}
	const sent, recv = "UDP message sent (300 bytes):", "UDP message received [300] bytes :"
	log := entry("01.000000", sent, "BYE sip:k@127.0.0.1 SIP/2.0", "a", "2 BYE") +
		entry("01.500000", sent, "BYE sip:k@127.0.0.1 SIP/2.0", "a", "2 BYE") + // retransmitted
		entry("04.000000", recv, "SIP/2.0 200 OK", "a", "2 BYE") +
		entry("04.100000", recv, "SIP/2.0 200 OK", "a", "2 BYE") +
		entry("02.000000", sent, "BYE sip:k@127.0.0.1 SIP/2.0", "b", "2 BYE") +
		entry("02.250000", recv, "SIP/2.0 200 OK", "b", "1 INVITE") + // not the BYE's
		entry("03.000000", sent, "BYE sip:k@127.0.0.1 SIP/2.0", "c", "2 BYE")
	got := latencies(log, "", nil).bye
	if len(got) != 1 || got[0] != 3*time.Second {
		t.Errorf("got %v, want the one BYE answered, after 3s", got)
	}
}
