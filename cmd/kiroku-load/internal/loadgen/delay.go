package loadgen

import (
	"fmt"
	"strings"
	"time"
)

// delayBounds are the upper bounds of the delay histograms; a last bucket
// holds what is above them. 80 ms is kirokud's recorder jitter window: a
// packet later than that relative to its stream's start may miss its place
// in the recording.
var delayBounds = [...]time.Duration{time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond,
	80 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond}

// Phases of a run, for the histograms: calls being set up, the steady
// window, hang-up.
const (
	phaseRamp = iota
	phaseSteady
	phaseEnd
	phases
)

// phaseNames name the phases in the report.
var phaseNames = [phases]string{"ramp", "steady", "hang-up"}

// histogram counts durations into delayBounds' buckets.
type histogram struct {
	n   [len(delayBounds) + 1]uint64
	max time.Duration
}

func (h *histogram) add(d time.Duration) {
	i := 0
	for i < len(delayBounds) && d > delayBounds[i] {
		i++
	}
	h.n[i]++
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i := range h.n {
		h.n[i] += o.n[i]
	}
	h.max = max(h.max, o.max)
}

// over is how many durations exceeded bound (which must be one of
// delayBounds).
func (h *histogram) over(bound time.Duration) uint64 {
	var n uint64
	for i := len(delayBounds); i > 0 && delayBounds[i-1] >= bound; i-- {
		n += h.n[i]
	}
	return n
}

// String shows the non-empty buckets as "≤1ms 99.1%  ≤5ms 0.9%  max 3.2ms".
func (h *histogram) String() string {
	var total uint64
	for _, n := range h.n {
		total += n
	}
	if total == 0 {
		return "no samples"
	}
	var b strings.Builder
	for i, n := range h.n {
		if n == 0 {
			continue
		}
		if i < len(delayBounds) {
			fmt.Fprintf(&b, "≤%s ", bound(delayBounds[i]))
		} else {
			fmt.Fprintf(&b, ">%s ", bound(delayBounds[i-1]))
		}
		fmt.Fprintf(&b, "%.3f%%  ", 100*float64(n)/float64(total))
	}
	fmt.Fprintf(&b, "max %s", ms(h.max))
	return b.String()
}

func bound(d time.Duration) string { return fmt.Sprintf("%dms", d/time.Millisecond) }
