package sipptest

import (
	"math"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/media"
)

// Values from the G.711 tables (ITU-T G.711, tables 1a/2a), as the
// G.191 reference coder produces them.
func TestG711Known(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		code   byte
		sample int16
		decode func(byte) int16
	}{
		{"ulaw 0x00", 0x00, -32124, DecodeULaw},
		{"ulaw 0x80", 0x80, 32124, DecodeULaw},
		{"ulaw 0x7f", 0x7f, 0, DecodeULaw},
		{"ulaw 0xff", 0xff, 0, DecodeULaw},
		{"ulaw 0xfe", 0xfe, 8, DecodeULaw},
		{"ulaw 0x7e", 0x7e, -8, DecodeULaw},
		{"alaw 0xd5", 0xd5, 8, DecodeALaw},
		{"alaw 0x55", 0x55, -8, DecodeALaw},
		{"alaw 0xaa", 0xaa, 32256, DecodeALaw},
		{"alaw 0x2a", 0x2a, -32256, DecodeALaw},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.decode(tt.code); got != tt.sample {
				t.Errorf("got %d, want %d", got, tt.sample)
			}
		})
	}
	for _, tt := range []struct {
		name   string
		sample int16
		code   byte
		encode func(int16) byte
	}{
		{"ulaw 0", 0, 0xff, EncodeULaw},
		{"ulaw -1", -1, 0x7f, EncodeULaw},
		{"ulaw max", math.MaxInt16, 0x80, EncodeULaw},
		{"ulaw min", math.MinInt16, 0x00, EncodeULaw},
		{"alaw 0", 0, 0xd5, EncodeALaw},
		{"alaw -1", -1, 0x55, EncodeALaw},
		{"alaw max", math.MaxInt16, 0xaa, EncodeALaw},
		{"alaw min", math.MinInt16, 0x2a, EncodeALaw},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.encode(tt.sample); got != tt.code {
				t.Errorf("got %#02x, want %#02x", got, tt.code)
			}
		})
	}
}

// TestG711RoundTrip: every code decodes to a sample that encodes back
// to it (but μ-law's negative zero, 0x7f, which is 0 like 0xff), and
// every sample comes back within half a step of its segment.
func TestG711RoundTrip(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		encode func(int16) byte
		decode func(byte) int16
	}{
		{"ulaw", EncodeULaw, DecodeULaw},
		{"alaw", EncodeALaw, DecodeALaw},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for c := range 256 {
				code := byte(c)
				if tt.name == "ulaw" && code == 0x7f {
					continue
				}
				if got := tt.encode(tt.decode(code)); got != code {
					t.Errorf("code %#02x: decodes to %d, which encodes to %#02x", code, tt.decode(code), got)
				}
			}
			for s := math.MinInt16; s <= math.MaxInt16; s++ {
				got := int(tt.decode(tt.encode(int16(s))))
				// G.711 keeps about 5 significant bits: the error stays
				// below 1/16 of the sample (clipping at the top included),
				// or 16 near zero.
				limit := max(abs(s)/16, 16)
				if d := abs(got - s); d > limit {
					t.Fatalf("sample %d: comes back as %d, off by %d, above %d", s, got, d, limit)
				}
			}
		})
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func TestTone(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		frames [][]byte
		decode func(byte) int16
		want   int
	}{
		{"ulaw 1 s", ToneULaw(1000, time.Second), DecodeULaw, 50},
		{"alaw 1 s", ToneALaw(1000, time.Second), DecodeALaw, 50},
		{"ulaw 30 ms rounds up", ToneULaw(1000, 30*time.Millisecond), DecodeULaw, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.frames) != tt.want {
				t.Fatalf("got %d frames, want %d", len(tt.frames), tt.want)
			}
			var samples []float64
			for i, f := range tt.frames {
				if len(f) != 160 {
					t.Fatalf("frame %d: got %d bytes, want 160", i, len(f))
				}
				for _, c := range f {
					samples = append(samples, float64(tt.decode(c)))
				}
			}
			// -10 dBFS peak: an RMS of 0.316/√2 of full scale, within
			// G.711's quantization.
			var sum float64
			for _, s := range samples {
				sum += s * s
			}
			rms := math.Sqrt(sum / float64(len(samples)))
			dbfs := 20 * math.Log10(rms*math.Sqrt2/math.MaxInt16)
			if math.Abs(dbfs+10) > 0.3 {
				t.Errorf("got a peak level of %.2f dBFS, want -10", dbfs)
			}
			// 1000 Hz: the tone's energy sits at 1000 Hz, not at 900.
			if at, off := goertzel(samples, 1000), goertzel(samples, 900); at < 100*off {
				t.Errorf("got power %.3g at 1000 Hz and %.3g at 900 Hz, want the tone at 1000", at, off)
			}
		})
	}
}

// goertzel returns the power of samples (8 kHz) at freq.
func goertzel(samples []float64, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/8000)
	var s1, s2 float64
	for _, x := range samples {
		s1, s2 = x+k*s1-s2, s1
	}
	return s1*s1 + s2*s2 - k*s1*s2
}

// TestCoderAgreesWithMedia: the harness's coder and the daemon's, written
// apart, agree on every code and every sample (a test may use either to
// check the other).
func TestCoderAgreesWithMedia(t *testing.T) {
	for c := range 256 {
		if got, want := DecodeULaw(byte(c)), media.DecodeULaw(byte(c)); got != want {
			t.Errorf("μ-law %#02x: harness %d, media %d", c, got, want)
		}
		if got, want := DecodeALaw(byte(c)), media.DecodeALaw(byte(c)); got != want {
			t.Errorf("A-law %#02x: harness %d, media %d", c, got, want)
		}
	}
	for s := math.MinInt16; s <= math.MaxInt16; s++ {
		if got, want := EncodeULaw(int16(s)), media.EncodeULaw(int16(s)); got != want {
			t.Fatalf("μ-law of %d: harness %#02x, media %#02x", s, got, want)
		}
		if got, want := EncodeALaw(int16(s)), media.EncodeALaw(int16(s)); got != want {
			t.Fatalf("A-law of %d: harness %#02x, media %#02x", s, got, want)
		}
	}
}
