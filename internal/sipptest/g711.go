package sipptest

import (
	"math"
	"time"

	"github.com/kiroku-voice/kiroku/media"
)

const (
	frameLen = 160    // samples in 20 ms at 8 kHz
	rate8k   = 8000.0 // G.711's sample rate
)

// EncodeULaw returns the G.711 μ-law code of a 16-bit linear sample
// (the daemon's own coder, which tests check against G.191 here).
func EncodeULaw(sample int16) byte { return media.EncodeULaw(sample) }

// DecodeULaw returns the 16-bit linear sample of a G.711 μ-law code.
func DecodeULaw(code byte) int16 { return media.DecodeULaw(code) }

// EncodeALaw returns the G.711 A-law code of a 16-bit linear sample.
func EncodeALaw(sample int16) byte { return media.EncodeALaw(sample) }

// DecodeALaw returns the 16-bit linear sample of a G.711 A-law code.
func DecodeALaw(code byte) int16 { return media.DecodeALaw(code) }

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
