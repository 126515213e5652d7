package sip

import (
	"context"
	"math"
	"testing"
	"time"
)

// TestWindowQuantiles: the quantiles are of what was counted between two
// cumulative histograms, read at the bucket's upper bound.
func TestWindowQuantiles(t *testing.T) {
	buckets := []float64{0, 0.001, 0.01, 0.1, math.Inf(1)}
	old := []uint64{100, 0, 0, 0}
	// Since old: 10 waits under 1 ms, 80 of 1–10 ms, 10 of 10–100 ms.
	now := []uint64{110, 80, 10, 0}
	p50, p99 := windowQuantiles(old, now, buckets)
	if p50 != 10*time.Millisecond || p99 != 100*time.Millisecond {
		t.Errorf("got p50 %s p99 %s, want 10ms and 100ms", p50, p99)
	}
	if p50, p99 := windowQuantiles(now, now, buckets); p50 != 0 || p99 != 0 {
		t.Errorf("nothing counted: got %s %s, want 0 0", p50, p99)
	}
	// The last bucket is open: its lower bound is said.
	if _, p99 := windowQuantiles([]uint64{0, 0, 0, 0}, []uint64{0, 0, 0, 3}, buckets); p99 != 100*time.Millisecond {
		t.Errorf("open bucket: got p99 %s, want 100ms", p99)
	}
}

// TestSchedLoadReports: the sampler reports a window a quarter second
// after its first second, and stops with its context.
func TestSchedLoadReports(t *testing.T) {
	var l schedLoad
	got := make(chan [2]time.Duration, 16)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.run(ctx, func(p50, p99 time.Duration, _ float64) {
			select {
			case got <- [2]time.Duration{p50, p99}:
			default:
			}
		})
	}()
	// Goroutines that wait to run, so that the window counts some.
	stop := time.After(1500 * time.Millisecond)
	busy := true
	for busy {
		select {
		case <-stop:
			busy = false
		default:
			go func() {}()
			time.Sleep(time.Millisecond)
		}
	}
	select {
	case r := <-got:
		if r[0] < 0 || r[1] < r[0] {
			t.Errorf("got p50 %s p99 %s", r[0], r[1])
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no window reported")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the sampler did not stop with its context")
	}
}
