package audiofile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// flacPeaks reads a FLAC stream of two 16-bit channels (the "fLaC"
// marker already read) and returns its waveform. It decodes every
// subframe kind RFC 9639 defines (the project's encoder writes constant,
// verbatim and fixed ones) and refuses any other layout with an error
// naming it; frames' CRCs are not checked (the object's SHA-256 is, when
// it is read through recording).
func flacPeaks(br *bufio.Reader, buckets int) (*Waveform, error) {
	var rate uint32
	var total int64
	for last := false; !last; {
		var hdr [4]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return nil, fmt.Errorf("peaks: flac metadata: %w", err)
		}
		last = hdr[0]&0x80 != 0
		size := int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3])
		if hdr[0]&0x7f != 0 { // not STREAMINFO
			if _, err := io.CopyN(io.Discard, br, int64(size)); err != nil {
				return nil, fmt.Errorf("peaks: flac metadata: %w", err)
			}
			continue
		}
		if size != 34 {
			return nil, fmt.Errorf("peaks: flac STREAMINFO of %d bytes", size)
		}
		var si [34]byte
		if _, err := io.ReadFull(br, si[:]); err != nil {
			return nil, fmt.Errorf("peaks: flac STREAMINFO: %w", err)
		}
		v := binary.BigEndian.Uint64(si[10:18])
		rate = uint32(v >> 44)
		chans, bits := int(v>>41&7)+1, int(v>>36&31)+1
		total = int64(v & (1<<36 - 1))
		if chans != 2 || bits != 16 || rate == 0 {
			return nil, fmt.Errorf("peaks: flac of %d channels, %d bits at %d Hz (want 2, 16)", chans, bits, rate)
		}
	}
	if rate == 0 {
		return nil, errors.New("peaks: flac without STREAMINFO")
	}
	ps := newPeakset(int(rate))
	d := &flacDecoder{r: bitReader{r: br, none: true}}
	for {
		n, err := d.frame()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				break // a stream cut short: the waveform of what there is
			}
			return nil, fmt.Errorf("peaks: flac frame %d: %w", d.num, err)
		}
		for i := range n {
			ps.add(int16(d.ch[0][i]), int16(d.ch[1][i]))
		}
		d.num++
	}
	if total == 0 {
		total = -1 // STREAMINFO leaves it unknown
	}
	return ps.waveform(total, buckets), nil
}

type flacDecoder struct {
	r   bitReader
	num int
	ch  [2][]int32
}

// frame decodes the next frame into d.ch and returns its block size;
// io.EOF when the stream ends between frames.
func (d *flacDecoder) frame() (int, error) {
	r := &d.r
	sync, err := r.bits(15)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) && r.none {
			return 0, io.EOF
		}
		return 0, err
	}
	if sync != 0x7ffc {
		return 0, fmt.Errorf("no frame sync (got %#x)", sync)
	}
	if _, err := r.bits(1); err != nil { // blocking strategy
		return 0, err
	}
	h, err := r.bits(16)
	if err != nil {
		return 0, err
	}
	bsCode, rateCode, assign, sizeCode := h>>12, h>>8&15, int(h>>4&15), h>>1&7
	if sizeCode != 4 && sizeCode != 0 {
		return 0, fmt.Errorf("sample size code %d (want 16 bits)", sizeCode)
	}
	if err := r.skipUTF8(); err != nil {
		return 0, err
	}
	var n int
	switch {
	case bsCode == 1:
		n = 192
	case bsCode >= 2 && bsCode <= 5:
		n = 576 << (bsCode - 2)
	case bsCode == 6:
		v, err := r.bits(8)
		n = int(v) + 1
		if err != nil {
			return 0, err
		}
	case bsCode == 7:
		v, err := r.bits(16)
		n = int(v) + 1
		if err != nil {
			return 0, err
		}
	case bsCode >= 8:
		n = 256 << (bsCode - 8)
	default:
		return 0, errors.New("reserved block size code")
	}
	switch rateCode {
	case 12:
		_, err = r.bits(8)
	case 13, 14:
		_, err = r.bits(16)
	case 15:
		err = errors.New("invalid sample rate code")
	}
	if err != nil {
		return 0, err
	}
	if _, err := r.bits(8); err != nil { // CRC-8
		return 0, err
	}
	if assign > chMidSide || (assign != chIndependent && assign < chLeftSide) {
		return 0, fmt.Errorf("channel assignment %d (want two channels)", assign)
	}
	for c := range 2 {
		bps := uint(16)
		if (assign == chLeftSide || assign == chMidSide) && c == 1 || assign == chRightSide && c == 0 {
			bps = 17 // the side channel
		}
		if cap(d.ch[c]) < n {
			d.ch[c] = make([]int32, n)
		}
		d.ch[c] = d.ch[c][:n]
		if err := d.subframe(d.ch[c], bps); err != nil {
			return 0, fmt.Errorf("channel %d: %w", c, err)
		}
	}
	a, b := d.ch[0], d.ch[1]
	switch assign {
	case chLeftSide:
		for i := range n {
			b[i] = a[i] - b[i]
		}
	case chRightSide:
		for i := range n {
			a[i] += b[i]
		}
	case chMidSide:
		for i := range n {
			side := b[i]
			mid := a[i]<<1 | side&1
			a[i], b[i] = (mid+side)>>1, (mid-side)>>1
		}
	}
	r.align()
	if _, err := r.bits(16); err != nil { // CRC-16
		return 0, err
	}
	return n, nil
}

// subframe decodes one channel's subframe of bps bits a sample into x.
func (d *flacDecoder) subframe(x []int32, bps uint) error {
	r := &d.r
	h, err := r.bits(8)
	if err != nil {
		return err
	}
	kind := int(h >> 1 & 63)
	var wasted uint
	if h&1 != 0 {
		for {
			b, err := r.bits(1)
			if err != nil {
				return err
			}
			wasted++
			if b == 1 {
				break
			}
		}
		if wasted >= bps {
			return fmt.Errorf("%d wasted bits of %d", wasted, bps)
		}
		bps -= wasted
	}
	switch {
	case kind == 0:
		v, err := r.signed(bps)
		if err != nil {
			return err
		}
		for i := range x {
			x[i] = v
		}
	case kind == 1:
		for i := range x {
			if x[i], err = r.signed(bps); err != nil {
				return err
			}
		}
	case kind >= 8 && kind <= 12:
		order := kind - 8
		if order > len(x) {
			return fmt.Errorf("fixed order %d over a block of %d", order, len(x))
		}
		for i := range order {
			if x[i], err = r.signed(bps); err != nil {
				return err
			}
		}
		if err := d.residual(x, order); err != nil {
			return err
		}
		for i := order; i < len(x); i++ {
			switch order {
			case 1:
				x[i] += x[i-1]
			case 2:
				x[i] += 2*x[i-1] - x[i-2]
			case 3:
				x[i] += 3*x[i-1] - 3*x[i-2] + x[i-3]
			case 4:
				x[i] += 4*x[i-1] - 6*x[i-2] + 4*x[i-3] - x[i-4]
			}
		}
	case kind >= 32:
		order := kind - 31
		if order > len(x) {
			return fmt.Errorf("lpc order %d over a block of %d", order, len(x))
		}
		for i := range order {
			if x[i], err = r.signed(bps); err != nil {
				return err
			}
		}
		p, err := r.bits(4)
		if err != nil || p == 15 {
			return fmt.Errorf("lpc precision: %v", err)
		}
		shift, err := r.signed(5)
		if err != nil || shift < 0 {
			return fmt.Errorf("lpc shift %d: %v", shift, err)
		}
		coef := make([]int32, order)
		for i := range coef {
			if coef[i], err = r.signed(uint(p) + 1); err != nil {
				return err
			}
		}
		if err := d.residual(x, order); err != nil {
			return err
		}
		for i := order; i < len(x); i++ {
			var sum int64
			for j, c := range coef {
				sum += int64(c) * int64(x[i-1-j])
			}
			x[i] += int32(sum >> shift)
		}
	default:
		return fmt.Errorf("reserved subframe type %d", kind)
	}
	if wasted > 0 {
		for i := range x {
			x[i] <<= wasted
		}
	}
	return nil
}

// residual decodes the Rice-coded residual of x after its order warm-up
// samples into x[order:].
func (d *flacDecoder) residual(x []int32, order int) error {
	r := &d.r
	method, err := r.bits(2)
	if err != nil {
		return err
	}
	if method > 1 {
		return fmt.Errorf("reserved residual coding %d", method)
	}
	pbits, escape := uint(4), uint64(15)
	if method == 1 {
		pbits, escape = 5, 31
	}
	po, err := r.bits(4)
	if err != nil {
		return err
	}
	parts := 1 << po
	if len(x)%parts != 0 || len(x)/parts < order {
		return fmt.Errorf("partition order %d over a block of %d", po, len(x))
	}
	i := order
	for j := range parts {
		c := len(x) / parts
		if j == 0 {
			c -= order
		}
		k, err := r.bits(pbits)
		if err != nil {
			return err
		}
		if k == escape {
			nb, err := r.bits(5)
			if err != nil {
				return err
			}
			for range c {
				if x[i], err = r.signed(uint(nb)); err != nil {
					return err
				}
				i++
			}
			continue
		}
		for range c {
			q, err := r.unary()
			if err != nil {
				return err
			}
			low, err := r.bits(uint(k))
			if err != nil {
				return err
			}
			u := uint32(q)<<k | uint32(low)
			x[i] = int32(u>>1) ^ -int32(u&1)
			i++
		}
	}
	return nil
}

// bitReader reads bits most significant first.
type bitReader struct {
	r    *bufio.Reader
	acc  uint64
	n    uint
	none bool // nothing read since the last align: an end there is clean
}

func (b *bitReader) bits(n uint) (uint64, error) {
	if n == 0 {
		return 0, nil
	}
	for b.n < n {
		c, err := b.r.ReadByte()
		if err != nil {
			return 0, io.ErrUnexpectedEOF
		}
		b.none = false
		b.acc, b.n = b.acc<<8|uint64(c), b.n+8
	}
	b.n -= n
	return b.acc >> b.n & (1<<n - 1), nil
}

func (b *bitReader) signed(n uint) (int32, error) {
	v, err := b.bits(n)
	if n == 0 || err != nil {
		return 0, err
	}
	return int32(int64(v<<(64-n)) >> (64 - n)), nil
}

// unary counts zero bits up to a one; a run past any sample's size is
// damage, not audio.
func (b *bitReader) unary() (int, error) {
	for q := 0; q < 1<<20; q++ {
		v, err := b.bits(1)
		if err != nil {
			return 0, err
		}
		if v == 1 {
			return q, nil
		}
	}
	return 0, errors.New("rice quotient over a million")
}

func (b *bitReader) skipUTF8() error {
	c, err := b.bits(8)
	if err != nil {
		return err
	}
	extra := 0
	for m := uint64(0x80); m > 1 && c&m != 0; m >>= 1 {
		extra++
	}
	if extra == 1 || extra > 7 {
		return fmt.Errorf("frame number starts %#x", c)
	}
	for range max(0, extra-1) {
		if _, err := b.bits(8); err != nil {
			return err
		}
	}
	return nil
}

func (b *bitReader) align() {
	b.n -= b.n % 8
	b.none = b.n == 0
}
