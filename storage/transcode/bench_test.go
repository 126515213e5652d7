package transcode_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/internal/config"
)

// BenchmarkTranscode measures the background transcoder on 5-minute
// recordings stored as the uploader stores them cheap first (g711 for
// opus, pcm for flac), on the fs store (make bench-format): conversions
// a second at a whole CPU (Share 1), and from that the most concurrent
// 5-minute calls whose recordings it keeps converting at the default
// transcoder.cpu_percent (each such call ends a recording every 300 s).
func BenchmarkTranscode(b *testing.B) {
	const frames = 5 * 60 * 8000
	for _, f := range []audiofile.Format{audiofile.Opus, audiofile.FLAC} {
		b.Run(string(f), func(b *testing.B) {
			e := newEnvB(b, f)
			rnd := rand.New(rand.NewPCG(3, 5))
			for range b.N {
				e.store1(b, speechLike(frames, rnd))
			}
			tr := e.transcoder()
			b.ResetTimer()
			if err := tr.Pass(b.Context()); err != nil {
				b.Fatal(err)
			}
			per := float64(b.N) / b.Elapsed().Seconds()
			b.StopTimer()
			if st := tr.Stats(); st.Converted != uint64(b.N) {
				b.Fatalf("converted %d of %d", st.Converted, b.N)
			}
			b.ReportMetric(per, "recordings/s")
			b.ReportMetric(per*300, "calls-5min@100%")
			b.ReportMetric(per*300*config.DefaultTranscodeCPUPercent/100, "calls-5min@default")
		})
	}
}

// speechLike is a signal of speech's shape (as the uploader's
// benchmark's): bursts of a few harmonics of a wandering pitch, in turns
// on each channel, line noise between.
func speechLike(frames int, rnd *rand.Rand) []int16 {
	pcm := make([]int16, 2*frames)
	pitch := 120.0
	for i := range frames {
		if i%800 == 0 {
			pitch = 90 + rnd.Float64()*150
		}
		turn := (i / 40000) % 2
		burst := (i/2400)%3 != 2
		for c := range 2 {
			v := float64(rnd.IntN(41) - 20)
			if c == turn && burst {
				ph := 2 * math.Pi * pitch * float64(i) / 8000
				v += 6000*math.Sin(ph) + 3000*math.Sin(2*ph) + 1500*math.Sin(3*ph)
			}
			pcm[2*i+c] = int16(v)
		}
	}
	return pcm
}
