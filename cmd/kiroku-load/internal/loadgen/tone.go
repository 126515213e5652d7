package loadgen

import "math"

// frameSamples is one 20 ms PCMU frame at 8 kHz.
const frameSamples = 160

// Tones of the two sides: each divides a frame into whole periods, so every
// frame of a side is byte for byte the same and a receiver recognises the
// other side's audio by comparing payloads.
const (
	callerHz = 1000 // 8 samples a period
	agentHz  = 400  // 20 samples a period
)

// toneFrame is one PCMU frame of a sine at hz.
func toneFrame(hz int) [frameSamples]byte {
	var f [frameSamples]byte
	for i := range f {
		f[i] = ulaw(int16(6000 * math.Sin(2*math.Pi*float64(hz)*float64(i)/8000)))
	}
	return f
}

// ulaw encodes one sample as G.711 µ-law.
func ulaw(s int16) byte {
	const bias, clip = 0x84, 32635
	x, sign := int(s), 0
	if x < 0 {
		x, sign = -x, 0x80
	}
	x = min(x, clip) + bias
	exp := 7
	for mask := 0x4000; x&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (x >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}
