package sip

import (
	"context"
	"math"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// schedLoad watches how long the Go scheduler keeps runnable goroutines
// waiting for a CPU (runtime/metrics /sched/latencies:seconds), over the
// last schedWindow, for kiroku_sched_wait_seconds: a node whose CPU is
// used up (its cgroup's quota spent, other processes on its cores, more
// calls than it can relay) keeps its relay and SIP goroutines waiting.
// It does not gate admission: in the storm benchmark a healthy node's
// median wait peaked at 84 ms during a 300/s ramp, one limited to 0.25
// cores at 117 ms, too close to tell apart while calls are being taken
// (README, Call storms); sip.max_calls is the node's capacity.
type schedLoad struct {
	p50, p99 atomic.Int64 // ns, over the last window
}

const (
	schedEvery  = 250 * time.Millisecond
	schedWindow = 4 // samples: a second
)

// run samples until ctx ends, telling report of each window's figures.
func (l *schedLoad) run(ctx context.Context, report func(p50, p99 time.Duration)) {
	s := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	var ring [schedWindow + 1][]uint64
	var buckets []float64
	t := time.NewTicker(schedEvery)
	defer t.Stop()
	for n := 0; ; n++ {
		metrics.Read(s)
		if s[0].Value.Kind() != metrics.KindFloat64Histogram {
			return // not this runtime's
		}
		h := s[0].Value.Float64Histogram()
		buckets = h.Buckets
		ring[n%len(ring)] = append(ring[n%len(ring)][:0], h.Counts...)
		if n >= schedWindow {
			p50, p99 := windowQuantiles(ring[(n-schedWindow)%len(ring)], ring[n%len(ring)], buckets)
			l.p50.Store(int64(p50))
			l.p99.Store(int64(p99))
			report(p50, p99)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// windowQuantiles are the median and 99th percentile of the latencies
// counted between the cumulative histograms old and now (bucket upper
// bounds as durations; 0 when nothing waited).
func windowQuantiles(old, now []uint64, buckets []float64) (p50, p99 time.Duration) {
	var total uint64
	for i := range now {
		if i < len(old) {
			total += now[i] - old[i]
		} else {
			total += now[i]
		}
	}
	if total == 0 {
		return 0, 0
	}
	q := func(f float64) time.Duration {
		want := uint64(math.Ceil(f * float64(total)))
		var seen uint64
		for i := range now {
			d := now[i]
			if i < len(old) {
				d -= old[i]
			}
			seen += d
			if seen >= want {
				hi := buckets[i+1] // bucket i is [buckets[i], buckets[i+1])
				if math.IsInf(hi, 1) {
					hi = buckets[i]
				}
				return time.Duration(hi * float64(time.Second))
			}
		}
		return 0
	}
	return q(0.5), q(0.99)
}
