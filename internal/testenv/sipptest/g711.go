package sipptest

import (
	"math"
	"time"
)

const (
	frameLen = 160    // samples in 20 ms at 8 kHz
	rate8k   = 8000.0 // G.711's sample rate
)

// The harness has its own G.711 coder, written from the ITU-T G.191
// reference (ulaw_compress, ulaw_expand, alaw_compress, alaw_expand) and
// not shared with the daemon: test audio made by the code under test
// would hide that code's mistakes.

// EncodeULaw returns the G.711 μ-law code of a 16-bit linear sample.
func EncodeULaw(sample int16) byte {
	x := int32(sample)
	var abs int32
	if x < 0 {
		abs = (^x)>>2 + 33
	} else {
		abs = x>>2 + 33
	}
	abs = min(abs, 0x1fff)
	seg := int32(1)
	for i := abs >> 6; i != 0; i >>= 1 {
		seg++
	}
	out := (8-seg)<<4 | (0x0f - (abs>>seg)&0x0f)
	if x >= 0 {
		out |= 0x80
	}
	return byte(out)
}

// DecodeULaw returns the 16-bit linear sample of a G.711 μ-law code.
func DecodeULaw(code byte) int16 {
	m := ^code
	exp := int32(m>>4) & 7
	mant := int32(m & 0x0f)
	step := int32(4) << (exp + 1)
	v := (0x80 << exp) + step*mant + step/2 - 4*33
	if code < 0x80 {
		v = -v
	}
	return int16(v)
}

// EncodeALaw returns the G.711 A-law code of a 16-bit linear sample.
func EncodeALaw(sample int16) byte {
	x := int32(sample)
	var ix int32
	if x < 0 {
		ix = (^x) >> 4
	} else {
		ix = x >> 4
	}
	if ix > 15 {
		exp := int32(1)
		for ix > 16+15 {
			ix >>= 1
			exp++
		}
		ix = ix - 16 + exp<<4
	}
	if x >= 0 {
		ix |= 0x80
	}
	return byte(ix) ^ 0x55
}

// DecodeALaw returns the 16-bit linear sample of a G.711 A-law code.
func DecodeALaw(code byte) int16 {
	ix := int32(code ^ 0x55)
	exp := (ix & 0x7f) >> 4
	mant := ix & 0x0f
	if exp > 0 {
		mant += 16
	}
	mant = mant<<4 + 8
	if exp > 1 {
		mant <<= exp - 1
	}
	if ix > 127 {
		return int16(mant)
	}
	return int16(-mant)
}

// toneLevel is the peak of the test tones: -10 dBFS.
var toneLevel = math.Pow(10, -10.0/20) * math.MaxInt16

// ToneULaw returns a sine of freqHz at -10 dBFS lasting dur (rounded up
// to whole frames) as PCMU payloads of 20 ms, 160 bytes each.
func ToneULaw(freqHz float64, dur time.Duration) [][]byte {
	return tone(freqHz, dur, EncodeULaw)
}

// ToneALaw is ToneULaw for PCMA.
func ToneALaw(freqHz float64, dur time.Duration) [][]byte {
	return tone(freqHz, dur, EncodeALaw)
}

func tone(freqHz float64, dur time.Duration, encode func(int16) byte) [][]byte {
	frames := int((dur + 20*time.Millisecond - 1) / (20 * time.Millisecond))
	out := make([][]byte, frames)
	n := 0
	for i := range out {
		frame := make([]byte, frameLen)
		for j := range frame {
			s := toneLevel * math.Sin(2*math.Pi*freqHz*float64(n)/rate8k)
			frame[j] = encode(int16(math.Round(s)))
			n++
		}
		out[i] = frame
	}
	return out
}
