package audiofile

import (
	"crypto/md5"
	"io"
	"math/bits"
)

// The FLAC encoder (https://www.rfc-editor.org/rfc/rfc9639) is the
// project's own: fixed blocks of flacBlock frames, each channel coded as
// a constant, a fixed predictor of order 0–4 with partitioned Rice
// residuals, or verbatim, whichever is smallest, and the stereo pair as
// left/right, left/side, right/side or mid/side. No LPC: at 8 kHz speech
// it would save a few per cent for several times the CPU. It is
// deterministic: the same samples give the same bytes.
const (
	flacBlock   = 4096
	flacMaxPart = 6  // partition orders tried: 0 … flacMaxPart
	flacMaxRice = 14 // 4-bit Rice parameters (15 is the escape code)
)

// flacEncoder holds one stream's scratch space.
type flacEncoder struct {
	rateCode        uint64 // the frame header's sample rate code (RFC 9639 §9.1.2)
	w               bitWriter
	l, r, mid, side []int32
	res             []int32
	sums            []uint64
}

// encodeFLAC writes s as a FLAC stream.
func encodeFLAC(dst io.Writer, s *source) error {
	var start int64 = -1
	if ws, ok := dst.(io.WriteSeeker); ok {
		if off, err := ws.Seek(0, io.SeekCurrent); err == nil {
			start = off
		}
	}
	if _, err := dst.Write(flacHeader(s.frames, [16]byte{}, s.rate)); err != nil {
		return err
	}
	e := &flacEncoder{rateCode: flacRateCode(s.rate),
		l: make([]int32, flacBlock), r: make([]int32, flacBlock), mid: make([]int32, flacBlock),
		side: make([]int32, flacBlock), res: make([]int32, flacBlock), sums: make([]uint64, 1<<flacMaxPart),
	}
	sum := md5.New()
	buf, raw := make([]int16, flacBlock*channels), make([]byte, flacBlock*frameLen)
	for num := uint64(0); ; num++ {
		n, err := s.read(buf, raw)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		sum.Write(raw[:n*frameLen]) // FLAC's MD5 is of the samples as little-endian interleaved: the WAV's bytes
		if _, err := dst.Write(e.frame(buf[:n*channels], num)); err != nil {
			return err
		}
	}
	if start < 0 {
		return nil
	}
	var md [16]byte
	copy(md[:], sum.Sum(nil))
	ws := dst.(io.WriteSeeker)
	end, err := ws.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := ws.Seek(start, io.SeekStart); err != nil {
		return err
	}
	if _, err := ws.Write(flacHeader(s.frames, md, s.rate)); err != nil {
		return err
	}
	_, err = ws.Seek(end, io.SeekStart)
	return err
}

// flacRateCode is the frame header's code of rate: 4 for 8 kHz, 5 for
// 16 kHz, the only two a recording has.
func flacRateCode(rate uint32) uint64 {
	if rate == wideband {
		return 5
	}
	return 4
}

// flacHeader returns "fLaC" and the STREAMINFO block of a stream of
// frames stereo frames with the samples' MD5.
func flacHeader(frames int64, md [16]byte, rate uint32) []byte {
	var w bitWriter
	w.bytes([]byte("fLaC"))
	w.bits(0x80, 8) // last metadata block, STREAMINFO
	w.bits(34, 24)
	w.bits(flacBlock, 16)
	w.bits(flacBlock, 16)
	w.bits(0, 24) // frame sizes unknown
	w.bits(0, 24)
	w.bits(uint64(rate), 20)
	w.bits(channels-1, 3)
	w.bits(16-1, 5)
	w.bits(uint64(frames), 36)
	w.bytes(md[:])
	return w.buf
}

// Channel assignments of a FLAC frame.
const (
	chIndependent = 1
	chLeftSide    = 8
	chRightSide   = 9
	chMidSide     = 10
)

// frame returns the FLAC frame num of the interleaved stereo samples pcm.
func (e *flacEncoder) frame(pcm []int16, num uint64) []byte {
	n := len(pcm) / channels
	l, r, mid, side := e.l[:n], e.r[:n], e.mid[:n], e.side[:n]
	for i := range n {
		a, b := int32(pcm[2*i]), int32(pcm[2*i+1])
		l[i], r[i], mid[i], side[i] = a, b, (a+b)>>1, a-b
	}
	pl, pr, pm, ps := e.plan(l, 16), e.plan(r, 16), e.plan(mid, 16), e.plan(side, 17)
	assign, c0, c1, s0, s1 := chIndependent, pl, pr, l, r
	best := pl.cost + pr.cost
	if c := pl.cost + ps.cost; c < best {
		best, assign, c0, c1, s0, s1 = c, chLeftSide, pl, ps, l, side
	}
	if c := ps.cost + pr.cost; c < best {
		best, assign, c0, c1, s0, s1 = c, chRightSide, ps, pr, side, r
	}
	if c := pm.cost + ps.cost; c < best {
		assign, c0, c1, s0, s1 = chMidSide, pm, ps, mid, side
	}

	w := &e.w
	w.reset()
	w.bits(0xfff8, 16) // sync, fixed block size
	bs := uint64(7)    // block size n-1 in 16 bits after the frame number
	if n == flacBlock {
		bs = 12 // 256 << 4
	}
	w.bits(bs, 4)
	w.bits(e.rateCode, 4)
	w.bits(uint64(assign), 4)
	w.bits(4, 3) // 16 bits a sample
	w.bits(0, 1)
	w.utf8(num)
	if bs == 7 {
		w.bits(uint64(n-1), 16)
	}
	w.bits(uint64(crc8(w.buf)), 8)
	e.subframe(s0, c0)
	e.subframe(s1, c1)
	w.align()
	crc := crc16(w.buf)
	w.bits(uint64(crc), 16)
	return w.buf
}

// plan is how a subframe is coded, and its size in bits.
type plan struct {
	kind  int // 0 constant, 1 verbatim, 2 fixed
	order int
	part  int // partition order
	bps   uint
	cost  int
}

// plan chooses the coding of x, whose samples have bps bits.
func (e *flacEncoder) plan(x []int32, bps uint) plan {
	n := len(x)
	verbatim := plan{kind: 1, bps: bps, cost: 8 + n*int(bps)}
	if n == 0 {
		return verbatim
	}
	constant := true
	for _, v := range x[1:] {
		if v != x[0] {
			constant = false
			break
		}
	}
	if constant {
		return plan{kind: 0, bps: bps, cost: 8 + int(bps)}
	}
	if n < 16 {
		return verbatim
	}
	// The order whose residual is smallest in sum, as libFLAC's fixed
	// predictor search: the Rice cost follows it closely.
	var total [5]uint64
	for i := 4; i < n; i++ {
		e0 := x[i]
		e1 := e0 - x[i-1]
		e2 := e1 - (x[i-1] - x[i-2])
		e3 := e2 - (x[i-1] - 2*x[i-2] + x[i-3])
		e4 := e3 - (x[i-1] - 3*x[i-2] + 3*x[i-3] - x[i-4])
		total[0] += abs(e0)
		total[1] += abs(e1)
		total[2] += abs(e2)
		total[3] += abs(e3)
		total[4] += abs(e4)
	}
	order := 0
	for o := 1; o < 5; o++ {
		if total[o] < total[order] {
			order = o
		}
	}
	res := e.residual(x, order)
	part, rice := e.partition(res, n, order)
	p := plan{kind: 2, order: order, part: part, bps: bps, cost: 8 + order*int(bps) + 6 + rice}
	if p.cost >= verbatim.cost {
		return verbatim
	}
	return p
}

func abs(v int32) uint64 {
	if v < 0 {
		return uint64(-int64(v))
	}
	return uint64(v)
}

// residual writes x's residual under the fixed predictor of order into
// e.res (from sample order on) and returns it.
func (e *flacEncoder) residual(x []int32, order int) []int32 {
	res := e.res[:len(x)-order]
	for i := order; i < len(x); i++ {
		var p int32
		switch order {
		case 1:
			p = x[i-1]
		case 2:
			p = 2*x[i-1] - x[i-2]
		case 3:
			p = 3*x[i-1] - 3*x[i-2] + x[i-3]
		case 4:
			p = 4*x[i-1] - 6*x[i-2] + 4*x[i-3] - x[i-4]
		}
		res[i-order] = x[i] - p
	}
	return res
}

// fold maps a signed residual to the unsigned value Rice codes.
func fold(v int32) uint32 { return uint32(v<<1) ^ uint32(v>>31) }

// riceParam returns the Rice parameter for count values summing to sum,
// and the bits they then take (estimated: the unary parts' total is
// taken as sum>>k).
func riceParam(sum uint64, count int) (uint, int) {
	if count == 0 {
		return 0, 0
	}
	k := uint(0)
	if mean := sum / uint64(count); mean > 0 {
		k = uint(bits.Len64(mean)) - 1
	}
	k = min(k, flacMaxRice)
	return k, count*int(k+1) + int(sum>>k)
}

// partition chooses the partition order of res (the residual of a block
// of n samples under a predictor of order) and returns it with the
// residual's estimated size in bits, parameters included.
func (e *flacEncoder) partition(res []int32, n, order int) (int, int) {
	maxP := 0
	for p := 1; p <= flacMaxPart; p++ {
		if n%(1<<p) != 0 || n>>p <= order {
			break
		}
		maxP = p
	}
	sums := e.sums[:1<<maxP]
	clear(sums)
	size := n >> maxP
	for i, v := range res {
		sums[(i+order)/size] += uint64(fold(v))
	}
	bestP, best := 0, -1
	for p := maxP; p >= 0; p-- {
		parts := 1 << p
		cost := 0
		for j := range parts {
			c := n >> p
			if j == 0 {
				c -= order
			}
			_, b := riceParam(sums[j], c)
			cost += 4 + b
		}
		if best < 0 || cost <= best {
			bestP, best = p, cost
		}
		if p > 0 { // merge pairs for the next order down
			for j := range parts / 2 {
				sums[j] = sums[2*j] + sums[2*j+1]
			}
		}
	}
	return bestP, best
}

// subframe writes x as p says.
func (e *flacEncoder) subframe(x []int32, p plan) {
	w := &e.w
	mask := uint64(1)<<p.bps - 1
	switch p.kind {
	case 0:
		w.bits(0, 8) // pad, CONSTANT, no wasted bits
		w.bits(uint64(x[0])&mask, p.bps)
		return
	case 1:
		w.bits(1<<1, 8) // VERBATIM
		for _, v := range x {
			w.bits(uint64(v)&mask, p.bps)
		}
		return
	}
	n := len(x)
	w.bits(uint64(8|p.order)<<1, 8) // FIXED of order
	for _, v := range x[:p.order] {
		w.bits(uint64(v)&mask, p.bps)
	}
	res := e.residual(x, p.order)
	w.bits(0, 2) // Rice, 4-bit parameters
	w.bits(uint64(p.part), 4)
	i := 0
	for j := range 1 << p.part {
		c := n >> p.part
		if j == 0 {
			c -= p.order
		}
		var sum uint64
		for _, v := range res[i : i+c] {
			sum += uint64(fold(v))
		}
		k, _ := riceParam(sum, c)
		w.bits(uint64(k), 4)
		for _, v := range res[i : i+c] {
			w.rice(fold(v), k)
		}
		i += c
	}
}

// bitWriter appends bits to a byte slice, most significant first.
type bitWriter struct {
	buf []byte
	acc uint64
	n   uint // bits in acc not yet in buf
}

func (w *bitWriter) reset() { w.buf, w.acc, w.n = w.buf[:0], 0, 0 }

// bits writes the low n bits of v (n ≤ 56).
func (w *bitWriter) bits(v uint64, n uint) {
	if n > 32 {
		w.bits(v>>32, n-32)
		n = 32
	}
	w.acc = w.acc<<n | v&(1<<n-1)
	w.n += n
	for w.n >= 8 {
		w.n -= 8
		w.buf = append(w.buf, byte(w.acc>>w.n))
	}
}

func (w *bitWriter) bytes(b []byte) {
	for _, c := range b {
		w.bits(uint64(c), 8)
	}
}

// rice writes u Rice-coded with parameter k: u>>k in unary (zeros, then
// a one), then u's low k bits.
func (w *bitWriter) rice(u uint32, k uint) {
	q := uint(u >> k)
	low := uint64(u) & (1<<k - 1)
	if q+1+k <= 32 {
		w.bits(1<<k|low, q+1+k)
		return
	}
	for ; q >= 32; q -= 32 {
		w.bits(0, 32)
	}
	w.bits(1, q+1)
	w.bits(low, k)
}

// align pads to a byte with zeros.
func (w *bitWriter) align() {
	if w.n > 0 {
		w.bits(0, 8-w.n)
	}
}

// utf8 writes v in FLAC's extended UTF-8 coding of frame numbers.
func (w *bitWriter) utf8(v uint64) {
	if v < 0x80 {
		w.bits(v, 8)
		return
	}
	n := 2
	for v >= 1<<(5*n+1) { // n bytes carry 5n+1 bits
		n++
	}
	w.bits(uint64(0xff<<(8-n))&0xff|v>>(6*(n-1)), 8)
	for i := n - 2; i >= 0; i-- {
		w.bits(0x80|(v>>(6*i))&0x3f, 8)
	}
}

var crc8Table, crc16Table = func() ([256]uint8, [256]uint16) {
	var t8 [256]uint8
	var t16 [256]uint16
	for i := range 256 {
		c8 := uint8(i)
		c16 := uint16(i) << 8
		for range 8 {
			if c8&0x80 != 0 {
				c8 = c8<<1 ^ 0x07
			} else {
				c8 <<= 1
			}
			if c16&0x8000 != 0 {
				c16 = c16<<1 ^ 0x8005
			} else {
				c16 <<= 1
			}
		}
		t8[i], t16[i] = c8, c16
	}
	return t8, t16
}()

func crc8(b []byte) uint8 {
	var c uint8
	for _, v := range b {
		c = crc8Table[c^v]
	}
	return c
}

func crc16(b []byte) uint16 {
	var c uint16
	for _, v := range b {
		c = c<<8 ^ crc16Table[byte(c>>8)^v]
	}
	return c
}
