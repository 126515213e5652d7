package media

import (
	"math"
	"slices"
	"testing"
)

func sine(f float64, rate, n int, amp float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(amp * math.Sin(2*math.Pi*f*float64(i)/float64(rate)))
	}
	return out
}

func rms(s []int16) float64 {
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)))
}

// convertInPackets resamples in in 20 ms pieces through one resampler,
// as a call's packets are.
func convertInPackets(r *resampler, in []int16, piece int) []int16 {
	var out []int16
	for off := 0; off < len(in); off += piece {
		out = r.convert(out, in[off:min(off+piece, len(in))])
	}
	return out
}

// TestResamplerResponse: speech frequencies pass both ways at their level
// (within 0.2 dB up to 3.3 kHz); a 16 kHz tone above 4.8 kHz, which 8 kHz
// cannot carry, is stopped rather than folded into the voice band (more
// than 50 dB down); upsampling leaves no image of the voice band above
// 4.8 kHz (more than 50 dB down).
func TestResamplerResponse(t *testing.T) {
	gain := func(up bool, f float64) float64 {
		from, to := 16000, 8000
		if up {
			from, to = 8000, 16000
		}
		in := sine(f, from, from, 10000)
		out := convertInPackets(newResampler(from, to), in, from/50)
		skip := to / 10 // the filter's start
		return 20 * math.Log10(rms(out[skip:])/rms(in[from/10:]))
	}
	for _, f := range []float64{100, 300, 1000, 2000, 3000, 3300} {
		for _, up := range []bool{false, true} {
			if g := gain(up, f); math.Abs(g) > 0.2 {
				t.Errorf("%.0f Hz (up %v): gain %.2f dB, want within 0.2 dB", f, up, g)
			}
		}
	}
	for _, f := range []float64{4800, 5500, 7000} {
		if g := gain(false, f); g > -50 {
			t.Errorf("%.0f Hz at 16 kHz down to 8 kHz: %.1f dB, want below -50 (aliasing)", f, g)
		}
	}
	// The image of an 8 kHz tone at f lies at 8000-f after upsampling.
	for _, f := range []float64{300, 1000, 3000} {
		in := sine(f, 8000, 8000, 10000)
		out := convertInPackets(newResampler(8000, 16000), in, 160)
		img := goertzelLevel(out[1600:], 8000-f, 16000)
		sig := goertzelLevel(out[1600:], f, 16000)
		if d := 20 * math.Log10(img/sig); d > -50 {
			t.Errorf("%.0f Hz upsampled: image at %.0f Hz %.1f dB below the tone, want more than 50", f, 8000-f, -d)
		}
	}
}

// goertzelLevel is the amplitude of frequency f in s.
func goertzelLevel(s []int16, f float64, rate int) float64 {
	w := 2 * math.Pi * f / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range s {
		s1, s2 = float64(v)+c*s1-s2, s1
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	return math.Sqrt(math.Max(p, 0)) / float64(len(s))
}

// TestResamplerPacketsJoin: a stream resampled in packets is exactly the
// stream resampled whole (the filter's history carries across), and the
// output length is the input's times the ratio.
func TestResamplerPacketsJoin(t *testing.T) {
	for _, c := range []struct{ from, to, piece int }{{16000, 8000, 320}, {16000, 8000, 7}, {8000, 16000, 160}, {8000, 16000, 3}} {
		in := sine(1234, c.from, c.from/2, 12000)
		whole := newResampler(c.from, c.to).convert(nil, in)
		parts := convertInPackets(newResampler(c.from, c.to), in, c.piece)
		if !slices.Equal(whole, parts) {
			t.Errorf("%d→%d in pieces of %d: differs from the whole", c.from, c.to, c.piece)
		}
		if want := len(in) * c.to / c.from; len(whole) != want {
			t.Errorf("%d→%d: %d samples out of %d, want %d", c.from, c.to, len(whole), len(in), want)
		}
	}
	if newResampler(8000, 8000) != nil || newResampler(8000, 48000) != nil {
		t.Error("a resampler for equal or unsupported rates")
	}
}

// BenchmarkResampler is one 20 ms packet each way.
func BenchmarkResampler(b *testing.B) {
	for _, c := range []struct {
		name     string
		from, to int
	}{{"16k-to-8k", 16000, 8000}, {"8k-to-16k", 8000, 16000}} {
		b.Run(c.name, func(b *testing.B) {
			in := sine(1000, c.from, c.from/50, 8000)
			r := newResampler(c.from, c.to)
			out := make([]int16, 0, 320)
			for b.Loop() {
				out = r.convert(out[:0], in)
			}
		})
	}
}
