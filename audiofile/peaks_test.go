package audiofile_test

import (
	"math"
	"os"
	"testing"

	"github.com/kiroku-voice/kiroku/audiofile"
)

// TestPeaks: two seconds, the caller speaking at half scale in the first
// and the agent at a quarter in the second, read as four buckets from
// the pcm and both g711 WAVs, the flac (exactly) and the opus (lossy)
// streams (opus rings on into the bucket after a voice stops: 0.15 of
// the 0.5 tone, hence its tolerance).
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
		tol  float64
	}{{"pcm", audiofile.PCM, audiofile.ULaw, 0.02}, {"g711 μ-law", audiofile.G711, audiofile.ULaw, 0.02}, {"g711 A-law", audiofile.G711, audiofile.ALaw, 0.02},
		{"flac", audiofile.FLAC, "", 0.001}, {"opus", audiofile.Opus, "", 0.2}} {
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
			if math.Abs(w.Seconds-2) > 0.01 || w.Rate != 8000 || len(w.Channels) != 2 {
				t.Fatalf("got %v s at %d Hz, %d channels", w.Seconds, w.Rate, len(w.Channels))
			}
			want := [][]float64{{0.5, 0.5, 0, 0}, {0, 0, 0.25, 0.25}}
			for c := range 2 {
				for b := range 4 {
					if got := w.Channels[c][b]; math.Abs(got-want[c][b]) > tc.tol {
						t.Errorf("channel %d bucket %d: got %.3f, want %.2f", c, b, got, want[c][b])
					}
				}
			}
		})
	}
}
