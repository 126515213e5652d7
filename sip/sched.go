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
// Its median over the last second gates admission
// (sip.overload.max_sched_wait, cpuSpent): with every RTP stream of a
// storm flowing, a node that could still carry its calls peaked at a
// median of 168 ms (800 calls at 200/s beside both generators on 2
// cores), while nodes that let admitted calls lose their agent legs and
// audio were at 400 ms to 2.1 s (1,200 at 300/s; README, Call storms).
// Time a CPU quota withholds is not in it (0.25 cores: 117 ms), so the
// sampler also reads the quota's throttling (cpuThrottle).
type schedLoad struct {
	// throttled is the share of the last window's CFS periods in which
	// kirokud's cgroup ran out of its CPU quota, in millionths (cpuThrottle;
	// 0 without a quota).
	throttled atomic.Int64
	// wait is the median of the last window's scheduler waits, and
	// tail their 99th percentile, in nanoseconds.
	wait, tail atomic.Int64
	cg         cpuThrottle
	// pinned keeps the figures a test set by hand from being sampled over.
	pinned atomic.Bool
}

const (
	schedEvery  = 250 * time.Millisecond
	schedWindow = 4 // samples: a second
)

// run samples until ctx ends, telling report of each window's figures.
func (l *schedLoad) run(ctx context.Context, report func(p50, p99 time.Duration, throttled float64)) {
	s := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	var ring [schedWindow + 1][]uint64
	var periods, throttled [schedWindow + 1]uint64
	if l.cg.root == "" {
		l.cg.root = "/"
	}
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
		periods[n%len(ring)], throttled[n%len(ring)], _ = l.cg.read()
		if n >= schedWindow {
			o, c := (n-schedWindow)%len(ring), n%len(ring)
			p50, p99 := windowQuantiles(ring[o], ring[c], buckets)
			share := 0.0
			if dp := periods[c] - periods[o]; periods[c] >= periods[o] && dp > 0 && throttled[c] >= throttled[o] {
				share = min(float64(throttled[c]-throttled[o])/float64(dp), 1)
			}
			if !l.pinned.Load() {
				l.throttled.Store(int64(share * 1e6))
				l.wait.Store(int64(p50))
				l.tail.Store(int64(p99))
			}
			report(p50, p99, share)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// throttledOver reports whether the node's CPU quota ran out in more than
// limit of the last second's periods.
func (l *schedLoad) throttledOver(limit float64) bool {
	return float64(l.throttled.Load())/1e6 > limit
}

// waitOver reports whether the median scheduler wait of the last second
// was above limit.
func (l *schedLoad) waitOver(limit time.Duration) bool {
	return time.Duration(l.wait.Load()) > limit
}

// lagGrace is how much longer a timer on a peer (a downstream's first
// response, sip.ring_timeout) waits when kirokud itself was behind: twice
// the last second's 99th percentile scheduler wait, at most limit; none
// under minLag. A response is read, parsed and handed to its call by
// goroutines that each wait their turn for a CPU: in a storm beside its
// generators on 2 cores that tail reached 0.9–1.9 s, and agents that had
// answered in under a millisecond were given up at 2 s (SIPp's trace had
// the 100, 180 and 200 sent; kirokud had not read them).
func (l *schedLoad) lagGrace(limit time.Duration) time.Duration {
	tail := time.Duration(l.tail.Load())
	if tail < minLag {
		return 0
	}
	return min(2*tail, limit)
}

// minLag is the scheduler tail below which kirokud counts as keeping up.
const minLag = 50 * time.Millisecond

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
