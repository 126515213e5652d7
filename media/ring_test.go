package media

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"
)

// TestRingRoundTrip: samples placed anywhere in the window, in any
// order, with flushes of any length between, come out of the writes
// exactly where they were placed, silence elsewhere — across many laps,
// so that a chunk given back never loses what the next lap placed.
func TestRingRoundTrip(t *testing.T) {
	for _, rate := range []int64{NarrowbandRate, WidebandRate} {
		g := newRing(rate, rate)
		rnd := rand.New(rand.NewPCG(1, uint64(rate)))
		want := map[[2]int64]int16{} // frame, side → sample
		var flushed int64
		var out []byte
		for step := 0; flushed < 20*rate; step++ {
			for range 200 {
				f := flushed + rnd.Int64N(g.window())
				side := rnd.Int64N(2)
				v := int16(rnd.IntN(65536) - 32768)
				g.putRun(f, side*2, []int16{v})
				want[[2]int64{f, side}] = v
			}
			// A packet's worth in one run, across chunk edges.
			f := flushed + rnd.Int64N(g.window()-160)
			side := rnd.Int64N(2)
			run := make([]int16, 160)
			for i := range run {
				run[i] = int16(rnd.IntN(65536) - 32768)
				want[[2]int64{f + int64(i), side}] = run[i]
			}
			g.putRun(f, side*2, run)
			upTo := flushed + rnd.Int64N(g.window()+1)
			for _, s := range g.segments(nil, flushed, upTo) {
				if s.b == nil {
					out = append(out, zeros[:s.n*frameBytes]...)
				} else {
					out = append(out, s.b...)
				}
			}
			g.written(flushed, upTo)
			flushed = upTo
		}
		for f := range flushed {
			for side := range int64(2) {
				got := int16(binary.LittleEndian.Uint16(out[f*frameBytes+side*2:]))
				if w := want[[2]int64{f, side}]; got != w {
					t.Fatalf("rate %d: frame %d side %d: got %d, want %d", rate, f, side, got, w)
				}
			}
		}
	}
}

// TestRingHoldsWhatIsPending: a call's audio arriving in time and
// flushed every 200 ms up to 300 ms behind holds at most 7 chunks of a
// tenth of a second (not the whole second), and silence none.
func TestRingHoldsWhatIsPending(t *testing.T) {
	const rate = NarrowbandRate
	g := newRing(rate, rate)
	var flushed, most int64
	for now := int64(0); now < 10*rate; now += rate / 50 { // a packet every 20 ms
		for f := now; f < now+rate/50; f++ {
			g.putRun(f, 0, []int16{1})
			g.putRun(f, 2, []int16{2})
		}
		if now%(rate/5) == 0 && now-rate*3/10 > flushed { // every 200 ms, up to 300 ms back
			upTo := now - rate*3/10
			g.written(flushed, upTo)
			flushed = upTo
		}
		most = max(most, int64(g.held()))
	}
	if most > 7 {
		t.Errorf("held up to %d chunks, want at most 7", most)
	}
	g.written(flushed, 10*rate+rate)
	if n := g.held(); n != 0 {
		t.Errorf("holds %d chunks once all is written, want 0", n)
	}
}

// BenchmarkRecorderAudio: one 20 ms PCMU packet placed in the ring.
func BenchmarkRecorderAudio(b *testing.B) {
	r, err := newRecorder(func() (Sink, error) { return nil, nil }, time.Now(), NarrowbandRate)
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 160)
	b.ReportAllocs()
	ts := uint32(0)
	for i := 0; b.Loop(); i++ {
		r.Audio(i&1, PCMU, uint16(i/2), ts, 1, payload)
		if i&1 == 1 {
			ts += 160
		}
		if i%100 == 0 { // keep the ring from filling: as a flush would
			r.mu.Lock()
			now := r.posAt(time.Now())
			r.ring.written(r.flushed, now)
			r.flushed, r.ready = now, now
			r.mu.Unlock()
		}
	}
}

// held is how many chunks g holds.
func (g *ring) held() int {
	n := 0
	for _, c := range g.chunks {
		if c != nil {
			n++
		}
	}
	return n
}
