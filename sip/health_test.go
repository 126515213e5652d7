package sip

import (
	"fmt"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/spool"
)

// TestPlanOrder: up before down, lower priority first, weights share the
// first place among one priority, Retry-After skips.
func TestPlanOrder(t *testing.T) {
	h := newHealth(zap.NewNop())
	hc := config.HealthCheck{DownAfter: 1, UpAfter: 1}
	ds := []config.Downstream{
		{URI: "sip:a@192.0.2.1", Priority: 0, Weight: 3},
		{URI: "sip:b@192.0.2.2", Priority: 0, Weight: 1},
		{URI: "sip:c@192.0.2.3", Priority: 1, Weight: 1},
		{URI: "sip:d@192.0.2.4", Priority: 2, Weight: 1},
	}
	now := time.Now()
	firsts := map[string]int{}
	const n = 4000
	for range n {
		try, skipped := h.plan(ds, now)
		if len(try) != 4 || len(skipped) != 0 {
			t.Fatalf("got %d to try and %d skipped, want 4 and 0", len(try), len(skipped))
		}
		firsts[try[0].URI]++
		if try[2].URI != "sip:c@192.0.2.3" || try[3].URI != "sip:d@192.0.2.4" {
			t.Fatalf("got order %v, want priority 0 before c before d", try)
		}
	}
	// Weight 3 to 1: a first 3/4 of the time (binomial sd ≈ 27 at n=4000).
	if a := firsts["sip:a@192.0.2.1"]; a < n*3/4-150 || a > n*3/4+150 {
		t.Errorf("got a first %d times of %d, want about %d (weight 3 of 4)", a, n, n*3/4)
	}

	h.report("sip:c@192.0.2.3", false, hc, "test")
	res := &sipmsg.Response{StatusCode: 503}
	res.AppendHeader(sipmsg.NewHeader("Retry-After", "120 (maintenance);duration=60"))
	h.holdOff("sip:a@192.0.2.1", res, now)
	try, skipped := h.plan(ds, now.Add(time.Second))
	var got []string
	for _, d := range try {
		got = append(got, d.URI)
	}
	if want := []string{"sip:b@192.0.2.2", "sip:d@192.0.2.4", "sip:c@192.0.2.3"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got order %v, want %v (a held back, c down and last)", got, want)
	}
	if len(skipped) != 1 || skipped[0].URI != "sip:a@192.0.2.1" || skipped[0].Outcome != spool.AttemptSkipped {
		t.Errorf("got skipped %+v, want a skipped for its Retry-After", skipped)
	}
	if try, _ := h.plan(ds, now.Add(121*time.Second)); len(try) != 4 {
		t.Errorf("got %d to try once the Retry-After passed, want 4", len(try))
	}
}

// TestHealthThresholds: down after down_after failures in a row, up after
// up_after answers in a row; one answer resets the failures.
func TestHealthThresholds(t *testing.T) {
	h := newHealth(zap.NewNop())
	hc := config.HealthCheck{DownAfter: 3, UpAfter: 2}
	const u = "sip:acd@192.0.2.1"
	up := func() bool { ok, _ := h.usable(u, time.Now()); return ok }
	for i, step := range []struct {
		answered bool
		want     bool
	}{
		{false, true}, {false, true}, {true, true}, // reset
		{false, true}, {false, true}, {false, false}, // three in a row
		{true, false}, {false, false}, {true, false}, {true, true},
	} {
		h.report(u, step.answered, hc, "test")
		if got := up(); got != step.want {
			t.Fatalf("step %d (answered %v): got up %v, want %v", i, step.answered, got, step.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		code  int
		value string
		want  time.Duration
		ok    bool
	}{
		{503, "30", 30 * time.Second, true},
		{503, " 18000;duration=3600", maxRetryAfter, true},
		{503, "5 (busy)", 5 * time.Second, true},
		{503, "soon", 0, false},
		{503, "0", 0, false},
		{503, "-4", 0, false},
		{503, "", 0, false},
		{486, "30", 0, false}, // only a 503 holds a downstream back
	} {
		t.Run(fmt.Sprintf("%d %q", tc.code, tc.value), func(t *testing.T) {
			res := &sipmsg.Response{StatusCode: tc.code}
			if tc.value != "" {
				res.AppendHeader(sipmsg.NewHeader("Retry-After", tc.value))
			}
			got, ok := parseRetryAfter(res)
			if got != tc.want || ok != tc.ok {
				t.Errorf("got %s %v, want %s %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestAlive(t *testing.T) {
	for code, want := range map[int]bool{200: true, 404: true, 405: true, 486: true, 501: true,
		408: false, 480: false, 500: false, 502: false, 503: false, 504: false} {
		if got := alive(code); got != want {
			t.Errorf("alive(%d) = %v, want %v", code, got, want)
		}
	}
}
