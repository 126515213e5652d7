package sipptest

import (
	"math"
	"time"
)

// The G.711 coders follow the reference implementation of ITU-T G.191
// (the Software Tool Library's g711.c): linear samples are 16-bit, of
// which μ-law keeps the top 14 bits and A-law the top 13, and negative
// samples take their one's complement before the segment search.

const (
	frameLen = 160    // samples in 20 ms at 8 kHz
	rate8k   = 8000.0 // G.711's sample rate
)

// EncodeULaw returns the G.711 μ-law code of a 16-bit linear sample.
func EncodeULaw(sample int16) byte {
	v := int(sample)
	if v < 0 {
		v = ^v
	}
	// 33 is the bias that makes every segment start at a power of two.
	abs := min(v>>2+33, 0x1fff)
	seg := 1
	for i := abs >> 6; i != 0; i >>= 1 {
		seg++
	}
	code := (8-seg)<<4 | (0x0f - (abs>>seg)&0x0f)
	if sample >= 0 {
		code |= 0x80
	}
	return byte(code)
}

// DecodeULaw returns the 16-bit linear sample of a G.711 μ-law code.
func DecodeULaw(code byte) int16 {
	m := int(^code)
	exp := (m >> 4) & 0x07
	step := 4 << (exp + 1)
	v := 0x80<<exp + step*(m&0x0f) + step/2 - 4*33
	if code < 0x80 {
		return int16(-v)
	}
	return int16(v)
}

// EncodeALaw returns the G.711 A-law code of a 16-bit linear sample.
func EncodeALaw(sample int16) byte {
	v := int(sample)
	if v < 0 {
		v = ^v
	}
	code := v >> 4
	if code > 15 {
		exp := 1
		for code > 16+15 {
			code >>= 1
			exp++
		}
		code += (exp - 1) << 4 // 16 removes the leading 1, exp<<4 adds the segment
	}
	if sample >= 0 {
		code |= 0x80
	}
	return byte(code) ^ 0x55 // A-law inverts the even bits on the wire
}

// DecodeALaw returns the 16-bit linear sample of a G.711 A-law code.
func DecodeALaw(code byte) int16 {
	a := int(code^0x55) & 0x7f
	exp := a >> 4
	m := a & 0x0f
	if exp > 0 {
		m += 16
	}
	m = m<<4 + 8
	if exp > 1 {
		m <<= exp - 1
	}
	if code > 127 {
		return int16(m)
	}
	return int16(-m)
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
