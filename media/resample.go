package media

import "math"

// Resampling between 8 and 16 kHz, for a leg in a wideband codec (G.722)
// bridged to one in G.711, for prompts (8 kHz) played to a wideband leg,
// and for the recorder and the tone detector. One half-band low-pass FIR
// does both directions: 16 → 8 kHz filters then keeps every other sample;
// 8 → 16 kHz puts a zero between samples and filters with twice the gain.
// The filter is linear phase, so both directions delay by the same
// hbDelay samples at 16 kHz and never move one channel against the other.

// hbTaps is the filter length: 47 taps at 16 kHz pass 0–3.4 kHz within
// 0.1 dB and stop above 4.8 kHz by more than 60 dB (TestResamplerResponse
// holds it to 0.2 and 50).
const hbTaps = 47

// hbCoeffs are the filter's taps in Q15, built once (windowed sinc with a
// Kaiser window, β = 6); hbEven are those at even places and hbCentre the
// middle one, the only ones that are not zero.
var (
	hbCoeffs [hbTaps]int32
	hbEven   [hbTaps/2 + 1]int32
	hbCentre int32
)

func init() {
	const beta = 6.0
	m := float64(hbTaps - 1)
	var taps [hbTaps]float64
	var sum float64
	for n := range hbTaps {
		t := float64(n) - m/2
		sinc := 0.5
		if t != 0 {
			sinc = math.Sin(math.Pi*t/2) / (math.Pi * t)
		}
		r := 2*float64(n)/m - 1
		w := besselI0(beta*math.Sqrt(1-r*r)) / besselI0(beta)
		taps[n] = sinc * w
		sum += taps[n]
	}
	for n := range hbTaps {
		hbCoeffs[n] = int32(math.Round(taps[n] / sum * 32768)) // unity gain at DC
		if n%2 == 0 {
			hbEven[n/2] = hbCoeffs[n]
		}
	}
	hbCentre = hbCoeffs[hbTaps/2]
}

// besselI0 is the modified Bessel function of the first kind, order 0.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 30; k++ {
		term *= (x / 2) / float64(k)
		sum += term * term
	}
	return sum
}

// resampler converts one stream between 8 and 16 kHz; it keeps the last
// samples of each call for the next, so packets join without a click.
type resampler struct {
	up    bool              // 8 → 16 kHz; else 16 → 8 kHz
	hist  [hbTaps - 1]int32 // the last high-rate samples, oldest first
	phase bool              // downsampling: the next input sample is an odd one
	buf   []int32           // scratch: history then the new high-rate samples
}

// newResampler returns a converter from rate from to rate to, or nil when
// the rates are equal (or not 8000 and 16000, which nothing here needs).
func newResampler(from, to int) *resampler {
	switch {
	case from == 8000 && to == 16000:
		return &resampler{up: true}
	case from == 16000 && to == 8000:
		return &resampler{}
	}
	return nil
}

// convert appends the resampled src to dst.
func (r *resampler) convert(dst, src []int16) []int16 {
	n := len(src)
	if r.up {
		n *= 2
	}
	r.buf = append(r.buf[:0], r.hist[:]...)
	for _, s := range src {
		if r.up {
			r.buf = append(r.buf, 2*int32(s), 0)
		} else {
			r.buf = append(r.buf, int32(s))
		}
	}
	// A half-band filter's taps are zero at every second place from the
	// centre but the centre itself: the sums take only the others (hbEven
	// and hbCentre), and upsampled, the zeros put between the samples drop
	// out too — an even output needs the even taps, an odd one the centre.
	for i := range n {
		if !r.up {
			keep := !r.phase
			r.phase = !r.phase
			if !keep {
				continue
			}
		}
		win := (*[hbTaps]int32)(r.buf[i : i+hbTaps])
		var acc int64
		if !r.up || i%2 == 0 {
			for k, c := range hbEven {
				acc += int64(c) * int64(win[2*k])
			}
		}
		if !r.up || i%2 == 1 {
			acc += int64(hbCentre) * int64(win[hbTaps/2])
		}
		dst = append(dst, int16(min(max((acc+1<<14)>>15, -32768), 32767)))
	}
	copy(r.hist[:], r.buf[len(r.buf)-(hbTaps-1):])
	return dst
}
