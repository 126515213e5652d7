package audiotest

import (
	"math"
	"testing"
	"time"
)

// amplitude is the Goertzel measure of pcm at f, normalised to a sine's
// amplitude.
func amplitude(pcm []int16, f float64) float64 {
	c := 2 * math.Cos(2*math.Pi*f/Rate)
	var s1, s2 float64
	for _, x := range pcm {
		s1, s2 = float64(x)+c*s1-s2, s1
	}
	return math.Sqrt(s1*s1+s2*s2-c*s1*s2) / float64(len(pcm)) * 2
}

func TestDTMF(t *testing.T) {
	a := DTMF(t, "9#", 100*time.Millisecond, 50*time.Millisecond)
	if got, want := len(a.PCM), 2400; got != want {
		t.Fatalf("got %d samples, want %d (two 100 ms keys, each with 50 ms after)", got, want)
	}
	for i, c := range []struct {
		key       string
		row, col  float64
		otherFreq float64
	}{{"9", 852, 1477, 697}, {"#", 941, 1477, 1209}} {
		on := a.PCM[i*1200 : i*1200+800]
		r, cl, o := amplitude(on, c.row), amplitude(on, c.col), amplitude(on, c.otherFreq)
		if r < 5000 || cl < 5000 || o > 500 {
			t.Errorf("key %s: got amplitudes %.0f at %v Hz, %.0f at %v Hz, %.0f at %v Hz; want both tones near 8000 and nothing else",
				c.key, r, c.row, cl, c.col, o, c.otherFreq)
		}
		if gap := amplitude(a.PCM[i*1200+800:i*1200+1200], c.row); gap > 1 {
			t.Errorf("key %s: got %.0f at %v Hz after it, want silence", c.key, gap, c.row)
		}
	}
}

func TestSpeechAndMusic(t *testing.T) {
	for _, c := range []struct {
		name     string
		audio    func(testing.TB) Audio
		min, max time.Duration
	}{
		{"speech", func(t testing.TB) Audio { return Speech(t, "en", "Thank you for calling. This call will be recorded.") }, 2 * time.Second, 10 * time.Second},
		{"music", Music, 20 * time.Second, 60 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := c.audio(t)
			if d := a.Duration(); d < c.min || d > c.max {
				t.Errorf("got %v of audio, want %v to %v", d, c.min, c.max)
			}
			peak := 0
			for _, s := range a.PCM {
				peak = max(peak, int(s), -int(s))
			}
			if peak < 25000 {
				t.Errorf("got peak %d, want near full scale (normalised to -1 dBFS)", peak)
			}
		})
	}
}
