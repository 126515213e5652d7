package upload_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/storage/upload"
)

// BenchmarkStoreFormat measures the spool → versitygw pipeline per audio
// format on 5-minute recordings from a backlog (make bench-format):
// recordings stored per second by the one uploader, and from that the
// most concurrent 5-minute calls whose recordings it keeps up with
// (each such call ends a recording every 300 s).
func BenchmarkStoreFormat(b *testing.B) {
	const frames = 5 * 60 * 8000
	for _, f := range audiofile.Formats {
		b.Run(string(f), func(b *testing.B) {
			e := s3Env(b)
			up := upload.New(upload.Options{Spool: e.spool, Store: e.store, Catalog: e.cat, Keys: e.keys,
				RetainUntil: func(_, _ string, s time.Time) (time.Time, bool) { return s.AddDate(0, 0, 90), true },
				AudioFormat: formatIs(f)})
			rnd := rand.New(rand.NewPCG(3, 5))
			for range b.N {
				m, _ := e.call(b, frames)
				e.writeSpool(b, m, speechLike(frames, rnd), audiofile.ULaw)
			}
			b.ResetTimer()
			start := time.Now()
			if err := up.Pass(b.Context()); err != nil {
				b.Fatal(err)
			}
			per := float64(b.N) / time.Since(start).Seconds()
			b.StopTimer()
			recs, err := e.cat.List(b.Context(), catalog.Filter{Limit: b.N})
			if err != nil || len(recs) != b.N {
				b.Fatalf("catalog lists %d of %d: %v", len(recs), b.N, err)
			}
			var stored int64
			for _, r := range recs {
				stored += r.Size
			}
			b.ReportMetric(per, "recordings/s")
			b.ReportMetric(per*300, "calls-5min")
			b.ReportMetric(float64(stored)/1e6/(float64(b.N)*5/60), "MB/rec-h")
		})
	}
}

// speechLike is a signal of speech's shape — bursts of a few harmonics
// of a wandering pitch, in turns on each channel, line noise between.
func speechLike(frames int, rnd *rand.Rand) []int16 {
	pcm := make([]int16, 2*frames)
	pitch := 120.0
	for i := range frames {
		if i%800 == 0 {
			pitch = 90 + rnd.Float64()*150
		}
		turn := (i / 40000) % 2  // 5 s each
		burst := (i/2400)%3 != 2 // syllables with pauses
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
