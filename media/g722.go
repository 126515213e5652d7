package media

// G.722 (ITU-T G.722, 64 kbit/s mode): sub-band ADPCM of 16 kHz audio.
// A quadrature mirror filter splits each pair of input samples into a
// low band (coded in 6 bits) and a high band (2 bits), so every sample
// pair becomes one byte. The arithmetic follows the standard's fixed-point
// blocks exactly (named in the comments as the standard names them), so
// the bytes interoperate with every other implementation; the test checks
// them against spandsp's coder, the one baresip and FreeSWITCH use.
//
// The RTP clock of G.722 is 8000 Hz although it codes 16 kHz audio
// (RFC 3551 section 4.5.2): ClockRate and SampleRate differ.

var (
	// qmfCoeffs are the QMF's 24 taps, folded: the even and odd taps of
	// the filter are these 12 read forwards and backwards.
	qmfCoeffs = [12]int32{3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11}

	// Quantiser and scale factor tables of the standard.
	g722qm2  = [4]int32{-7408, -1616, 7408, 1616}
	g722qm4  = [16]int32{0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0}
	g722qm6  = [64]int32{-136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136}
	g722q6   = [32]int32{0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0}
	g722ilb  = [32]int32{2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008}
	g722iln  = [32]uint8{0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 0}
	g722ilp  = [32]uint8{0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 0}
	g722ihn  = [3]uint8{0, 1, 0}
	g722ihp  = [3]uint8{0, 3, 2}
	g722wl   = [8]int32{-60, -30, 58, 172, 334, 538, 1198, 3042}
	g722rl42 = [16]int32{0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0}
	g722wh   = [3]int32{0, -214, 798}
	g722rh2  = [4]int32{2, 1, 2, 1}
)

// G722 is ITU-T G.722 at 64 kbit/s (RFC 3551 static payload type 9).
var G722 Codec = g722Codec{}

type g722Codec struct{}

func (g722Codec) Name() string        { return "G722" }
func (g722Codec) ClockRate() int      { return 8000 }
func (g722Codec) SampleRate() int     { return 16000 }
func (g722Codec) FrameSamples() int   { return 16000 * ptime / 1000 }
func (g722Codec) NewDecoder() Decoder { return newG722Decoder() }
func (g722Codec) NewEncoder() Encoder { return newG722Encoder() }

// g722Band is the adaptive predictor and scale factor of one sub-band.
type g722Band struct {
	s   int32    // predicted signal
	sz  int32    // zero section of the prediction
	r   int32    // previous reconstructed signal
	a   [2]int32 // pole coefficients
	p   [2]int32 // previous partially reconstructed signals
	d   [7]int32 // difference signals, d[0] the newest
	b   [6]int32 // zero coefficients
	nb  int32    // log scale factor
	det int32    // scale factor
}

func sat16(v int32) int32 { return min(max(v, -32768), 32767) }
func sat15(v int32) int32 { return min(max(v, -16384), 16383) }

// signDiffers reports whether two 16-bit values have different signs.
func signDiffers(x, y int32) bool { return (x^y)&0x8000 != 0 }

// scale is blocks 3L/3H SCALEL and SCALEH: the scale factor from the log
// scale factor, with shift 8 for the low band and 10 for the high band.
func (b *g722Band) scale(shift int32) {
	wd1 := (b.nb >> 6) & 31
	wd2 := shift - (b.nb >> 11)
	var wd3 int32
	if wd2 < 0 {
		wd3 = g722ilb[wd1] << -wd2
	} else {
		wd3 = g722ilb[wd1] >> wd2
	}
	b.det = int32(int16(wd3 << 2))
}

// adapt is block 4: reconstruction, pole and zero coefficient updates
// and the next prediction, from the quantised difference dx.
func (b *g722Band) adapt(dx int32) {
	// RECONS and PARREC
	r := sat16(b.s + dx)
	p := sat16(b.sz + dx)

	// UPPOL2
	wd1 := sat16(b.a[0] << 2)
	wd32 := -wd1
	if signDiffers(p, b.p[0]) {
		wd32 = wd1
	}
	wd32 = min(wd32, 32767)
	wd3 := int32(128)
	if signDiffers(p, b.p[1]) {
		wd3 = -128
	}
	wd3 = int32(int16(wd3 + wd32>>7 + (b.a[1]*32512)>>15))
	wd3 = min(max(wd3, -12288), 12288)
	ap1 := wd3

	// UPPOL1
	wd1 = 192
	if signDiffers(p, b.p[0]) {
		wd1 = -192
	}
	wd2 := int32(int16((b.a[0] * 32640) >> 15))
	ap0 := sat16(wd1 + wd2)
	wd3 = sat16(15360 - ap1)
	ap0 = min(max(ap0, -wd3), wd3)

	// FILTEP
	wd1 = int32(int16((ap0 * sat16(r+r)) >> 15))
	wd2 = int32(int16((ap1 * sat16(b.r+b.r)) >> 15))
	sp := sat16(wd1 + wd2)
	b.r = r
	b.a[1], b.a[0] = ap1, ap0
	b.p[1], b.p[0] = b.p[0], p

	// UPZERO, DELAYA and FILTEZ
	wd1 = 128
	if dx == 0 {
		wd1 = 0
	}
	b.d[0] = dx
	var sz int32
	for i := 5; i >= 0; i-- {
		wd2 = wd1
		if signDiffers(b.d[i+1], dx) {
			wd2 = -wd1
		}
		wd3 = int32(int16((b.b[i] * 32640) >> 15))
		b.b[i] = sat16(wd2 + wd3)
		sz += (b.b[i] * sat16(b.d[i]+b.d[i])) >> 15
		b.d[i+1] = b.d[i]
	}
	b.sz = sat16(sz)

	// PREDIC
	b.s = sat16(sp + b.sz)
}

// g722Encoder is one stream's encoder state.
type g722Encoder struct {
	band [2]g722Band
	x, y qmfHistory // QMF history of the even and odd input samples
}

func newG722Encoder() *g722Encoder {
	e := &g722Encoder{x: qmfHistory{pos: 11}, y: qmfHistory{pos: 11}}
	e.band[0].det, e.band[1].det = 32, 8
	return e
}

// qmfHistory is a QMF's last 12 samples of one polyphase branch, kept
// twice over so the window from the oldest to the newest is contiguous.
type qmfHistory struct {
	h   [24]int32
	pos int // where the newest sample went
}

// push stores v as the newest sample and returns the window, oldest first.
func (q *qmfHistory) push(v int32) *[12]int32 {
	q.pos++
	if q.pos == 12 {
		q.pos = 0
	}
	q.h[q.pos], q.h[q.pos+12] = v, v
	return (*[12]int32)(q.h[q.pos+1 : q.pos+13])
}

// qmfDot is the window's dot product with the taps forwards, and with
// them reversed.
func qmfDot(w *[12]int32) (fwd, rev int32) {
	for i := range 12 {
		fwd += w[i] * qmfCoeffs[i]
		rev += w[i] * qmfCoeffs[11-i]
	}
	return fwd, rev
}

// Encode appends one byte per pair of 16 kHz samples; an odd last sample
// is coded with a silent partner.
func (e *g722Encoder) Encode(dst []byte, pcm []int16) []byte {
	for j := 0; j < len(pcm); j += 2 {
		var second int16
		if j+1 < len(pcm) {
			second = pcm[j+1]
		}
		// Transmit QMF.
		sumodd, _ := qmfDot(e.x.push(int32(pcm[j])))
		_, sumeven := qmfDot(e.y.push(int32(second)))
		xlow := int32(int16((sumeven + sumodd) >> 14))
		xhigh := int32(int16((sumeven - sumodd) >> 14))

		// Low band. Block 1L, SUBTRA and QUANTL.
		lo := &e.band[0]
		el := sat16(xlow - lo.s)
		wd := el
		if el < 0 {
			wd = ^el
		}
		// The first level above wd (the levels rise with i: a binary
		// search finds the one the standard's linear search does).
		i, hi30 := 1, 30
		for i < hi30 {
			m := (i + hi30) / 2
			if wd < (g722q6[m]*lo.det)>>12 {
				hi30 = m
			} else {
				i = m + 1
			}
		}
		var ilow uint8
		if el < 0 {
			ilow = g722iln[i]
		} else {
			ilow = g722ilp[i]
		}
		// Block 2L, INVQAL.
		ril := ilow >> 2
		dlow := int32(int16((lo.det * g722qm4[ril]) >> 15))
		// Block 3L, LOGSCL.
		lo.nb = int32(int16(((lo.nb * 127) >> 7) + g722wl[g722rl42[ril]]))
		lo.nb = min(max(lo.nb, 0), 18432)
		lo.scale(8)
		lo.adapt(dlow)

		// High band. Block 1H, SUBTRA and QUANTH.
		hi := &e.band[1]
		eh := sat16(xhigh - hi.s)
		wd = eh
		if eh < 0 {
			wd = ^eh
		}
		mih := 1
		if wd >= (564*hi.det)>>12 {
			mih = 2
		}
		var ihigh uint8
		if eh < 0 {
			ihigh = g722ihn[mih]
		} else {
			ihigh = g722ihp[mih]
		}
		// Block 2H, INVQAH.
		dhigh := int32(int16((hi.det * g722qm2[ihigh]) >> 15))
		// Block 3H, LOGSCH.
		hi.nb = int32(int16(((hi.nb * 127) >> 7) + g722wh[g722rh2[ihigh]]))
		hi.nb = min(max(hi.nb, 0), 22528)
		hi.scale(10)
		hi.adapt(dhigh)

		dst = append(dst, ihigh<<6|ilow)
	}
	return dst
}

// g722Decoder is one stream's decoder state.
type g722Decoder struct {
	band [2]g722Band
	x, y qmfHistory // receive QMF history of the sum and difference signals
}

func newG722Decoder() *g722Decoder {
	d := &g722Decoder{x: qmfHistory{pos: 11}, y: qmfHistory{pos: 11}}
	d.band[0].det, d.band[1].det = 32, 8
	return d
}

// Decode appends two 16 kHz samples per byte of payload.
func (d *g722Decoder) Decode(dst []int16, payload []byte) []int16 {
	dst = grow(dst, 2*len(payload))
	out := dst[len(dst)-2*len(payload):]
	for k, code := range payload {
		// Low band. Block 5L, INVQBL, RECONS and LIMIT.
		lo := &d.band[0]
		ilow := int32(code & 0x3f)
		rlow := sat15(lo.s + (lo.det*g722qm6[ilow])>>15)
		ril := ilow >> 2
		// Block 2L, INVQAL.
		dlow := int32(int16((lo.det * g722qm4[ril]) >> 15))
		// Block 3L, LOGSCL and SCALEL.
		lo.nb = min(max(((lo.nb*127)>>7)+g722wl[g722rl42[ril]], 0), 18432)
		lo.scale(8)
		lo.adapt(dlow)

		// High band. Block 2H, INVQAH; 5H, RECONS; 6H, LIMIT.
		hi := &d.band[1]
		ihigh := int32(code >> 6)
		dhigh := int32(int16((hi.det * g722qm2[ihigh]) >> 15))
		rhigh := sat15(dhigh + hi.s)
		// Block 3H, LOGSCH and SCALEH.
		hi.nb = min(max(((hi.nb*127)>>7)+g722wh[g722rh2[ihigh]], 0), 22528)
		hi.scale(10)
		hi.adapt(dhigh)

		// Receive QMF.
		_, xout1 := qmfDot(d.y.push(int32(int16(rlow - rhigh))))
		xout2, _ := qmfDot(d.x.push(int32(int16(rlow + rhigh))))
		out[2*k] = int16(sat16(xout1 >> 11))
		out[2*k+1] = int16(sat16(xout2 >> 11))
	}
	return dst
}
