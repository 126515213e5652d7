package audiofile_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/internal/testenv/audiotest"
)

// conversation is five minutes of a call as the recorder writes it: the
// caller and the agent speaking in turns (espeak-ng, through μ-law),
// each channel carrying the line's low noise while the other speaks.
func conversation(b *testing.B) []int16 {
	b.Helper()
	caller := audiotest.Speech(b, "en", "I would like to ask about my bill for last month, it seems higher than usual.").PCM
	agent := audiotest.Speech(b, "en-us", "Certainly, let me look that up for you. Could you tell me your customer number please?").PCM
	rnd := rand.New(rand.NewPCG(7, 11))
	const n = 5 * 60 * 8000
	pcm := make([]int16, 2*n)
	turn := max(len(caller), len(agent)) + 4000
	for i := range n {
		t := i % (2 * turn)
		l, r := int16(rnd.IntN(61)-30), int16(rnd.IntN(61)-30)
		if t < len(caller) {
			l = caller[t]
		}
		if u := t - turn; u >= 0 && u < len(agent) {
			r = agent[u]
		}
		pcm[2*i], pcm[2*i+1] = l, r
	}
	return wire(pcm, audiofile.ULaw)
}

// BenchmarkEncode encodes five minutes of conversation in each format,
// reporting the encode CPU and the bytes per recorded hour (make
// bench-format).
func BenchmarkEncode(b *testing.B) {
	src, err := os.ReadFile(spoolWAV(b, conversation(b)))
	if err != nil {
		b.Fatal(err)
	}
	const callHours = 5.0 / 60
	for _, f := range audiofile.Formats {
		b.Run(string(f), func(b *testing.B) {
			var out countWriter
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				out = 0
				if err := audiofile.Encode(&out, bytes.NewReader(src), f, audiofile.Options{Law: audiofile.ULaw}); err != nil {
					b.Fatal(err)
				}
			}
			perOp := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(perOp/callHours, "cpu-s/rec-h")
			b.ReportMetric(float64(out)/callHours/1e6, "MB/rec-h")
			b.ReportMetric(float64(out)/float64(len(src)), "ratio")
		})
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)
