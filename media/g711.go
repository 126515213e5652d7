package media

// G.711 tables, built once. Decoding is a table lookup; encoding uses the
// segment search of ITU-T G.711 on a 14/13-bit magnitude.

var (
	ulawToLinear [256]int16
	alawToLinear [256]int16
	// ulawToALaw and alawToULaw transcode a byte between the two laws, for
	// legs that negotiated different ones.
	ulawToALaw [256]byte
	alawToULaw [256]byte
)

func init() {
	for i := range 256 {
		ulawToLinear[i] = decodeULaw(byte(i))
		alawToLinear[i] = decodeALaw(byte(i))
	}
	for i := range 256 {
		ulawToALaw[i] = EncodeALaw(ulawToLinear[i])
		alawToULaw[i] = EncodeULaw(alawToLinear[i])
	}
}

// g711 is one law of G.711: 8 kHz, one byte a sample, decoded by table.
type g711 struct {
	name string
	dec  *[256]int16
	enc  func(int16) byte
}

func (g *g711) Name() string      { return g.name }
func (g *g711) ClockRate() int    { return 8000 }
func (g *g711) SampleRate() int   { return 8000 }
func (g *g711) FrameSamples() int { return 8000 * ptime / 1000 }

// A law keeps no state between samples: its stream coder is the law.
func (g *g711) NewDecoder() Decoder { return g }
func (g *g711) NewEncoder() Encoder { return g }

func (g *g711) Decode(dst []int16, payload []byte) []int16 {
	dst = grow(dst, len(payload))
	out := dst[len(dst)-len(payload):]
	for i, b := range payload {
		out[i] = g.dec[b]
	}
	return dst
}

func (g *g711) Encode(dst []byte, pcm []int16) []byte {
	for _, s := range pcm {
		dst = append(dst, g.enc(s))
	}
	return dst
}

// grow extends s by n elements, reallocating only when its capacity is short.
func grow(s []int16, n int) []int16 {
	if len(s)+n <= cap(s) {
		return s[:len(s)+n]
	}
	return append(s, make([]int16, n)...)
}

// transcode rewrites a payload from one law to the other in place, byte
// for byte; from and to the same law it leaves the payload as it is.
func transcode(from, to *g711, payload []byte) bool {
	var t *[256]byte
	switch {
	case from == to:
		return true
	case from.dec == &ulawToLinear && to.dec == &alawToLinear:
		t = &ulawToALaw
	case from.dec == &alawToLinear && to.dec == &ulawToLinear:
		t = &alawToULaw
	default:
		return false
	}
	for i, b := range payload {
		payload[i] = t[b]
	}
	return true
}

// DecodeULaw returns the linear 16-bit sample of a μ-law byte.
func DecodeULaw(b byte) int16 { return ulawToLinear[b] }

// DecodeALaw returns the linear 16-bit sample of an A-law byte.
func DecodeALaw(b byte) int16 { return alawToLinear[b] }

func decodeULaw(u byte) int16 {
	u = ^u
	t := (int(u&0x0f) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

func decodeALaw(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0f) << 4
	seg := (a & 0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 != 0 {
		return int16(t)
	}
	return int16(-t)
}

// EncodeULaw returns the μ-law byte of a linear 16-bit sample, as the
// ITU-T G.191 reference coder does: 14 significant bits, negative samples
// taking their one's complement before the segment search.
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

// EncodeALaw returns the A-law byte of a linear 16-bit sample.
func EncodeALaw(s int16) byte {
	v := int(s)
	sign := 0x80
	if v < 0 {
		v = -v - 1
		sign = 0
	}
	if v > 32767 {
		v = 32767
	}
	var out int
	if v < 256 {
		out = v >> 4
	} else {
		exp := 1
		for t := v >> 8; t > 1; t >>= 1 {
			exp++
		}
		out = exp<<4 | (v>>(exp+3))&0x0f
	}
	return byte(out|sign) ^ 0x55
}
