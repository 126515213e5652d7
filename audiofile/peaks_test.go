package audiofile_test

import (
	"errors"
	"math"
	"os"
	"testing"

	"github.com/kiroku-voice/kiroku/audiofile"
)

// TestPeaks: two seconds, the caller speaking at half scale in the first
// and the agent at a quarter in the second, read as four buckets from
// the pcm and both g711 WAVs; flac and opus have no waveform.
func TestPeaks(t *testing.T) {
	pcm := make([]int16, 2*16000)
	for i := range 16000 {
		v := math.Sin(2 * math.Pi * 440 * float64(i) / 8000)
		if i < 8000 {
			pcm[2*i] = int16(16384 * v)
		} else {
			pcm[2*i+1] = int16(8192 * v)
		}
	}
	src := spoolWAV(t, pcm)
	for _, tc := range []struct {
		name string
		f    audiofile.Format
		law  audiofile.Law
	}{{"pcm", audiofile.PCM, audiofile.ULaw}, {"g711 μ-law", audiofile.G711, audiofile.ULaw}, {"g711 A-law", audiofile.G711, audiofile.ALaw}} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Open(encodeFile(t, src, tc.f, audiofile.Options{Law: tc.law}))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			w, err := audiofile.Peaks(f, 4)
			if err != nil {
				t.Fatal(err)
			}
			if w.Seconds != 2 || w.Rate != 8000 || len(w.Channels) != 2 {
				t.Fatalf("got %v s at %d Hz, %d channels", w.Seconds, w.Rate, len(w.Channels))
			}
			want := [][]float64{{0.5, 0.5, 0, 0}, {0, 0, 0.25, 0.25}}
			for c := range 2 {
				for b := range 4 {
					if got := w.Channels[c][b]; math.Abs(got-want[c][b]) > 0.02 {
						t.Errorf("channel %d bucket %d: got %.3f, want %.2f", c, b, got, want[c][b])
					}
				}
			}
		})
	}
	for _, f := range []audiofile.Format{audiofile.FLAC, audiofile.Opus} {
		in, err := os.Open(encodeFile(t, src, f, audiofile.Options{}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := audiofile.Peaks(in, 4); !errors.Is(err, audiofile.ErrNoPeaks) {
			t.Errorf("%s: got %v, want ErrNoPeaks", f, err)
		}
		in.Close()
	}
}
