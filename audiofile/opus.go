package audiofile

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/thesyncim/gopus"
)

// Opus is stored as Ogg Opus (RFC 7845) of two mono streams, caller and
// agent, under channel mapping family 1: two uncoupled streams keep the
// channels apart (a coupled stereo stream codes mid and side, and at
// speech bitrates leaks one party into the other's channel, which
// caller-only listening must not hear).
const (
	opusFrameMs    = 20  // a packet of 20 ms, per channel
	opusPreSkip    = 312 // the encoder's lookahead at 48 kHz (6.5 ms), RFC 7845 §4.2
	opusPerPage    = 50  // packets per Ogg page: one second
	oggSerial      = 0x4b524b55
	opusComplexity = 3
	DefaultBitrate = 24000 // bits a second for both channels
)

// encodeOpus writes s as Ogg Opus at bitrate bits a second (both
// channels together; DefaultBitrate when 0).
func encodeOpus(dst io.Writer, s *source, bitrate int) error {
	if bitrate == 0 {
		bitrate = DefaultBitrate
	}
	rate := int(s.rate)
	opusFrame := rate * opusFrameMs / 1000
	per48 := uint64(48000 / rate) // granule positions count 48 kHz samples
	enc, err := gopus.NewMultistreamEncoder(rate, channels, 2, 0, []byte{0, 1}, gopus.ApplicationVoIP)
	if err != nil {
		return fmt.Errorf("opus encoder: %w", err)
	}
	if err := enc.SetComplexity(opusComplexity); err != nil {
		return fmt.Errorf("opus complexity: %w", err)
	}
	if err := enc.SetBitrate(bitrate); err != nil {
		return fmt.Errorf("opus bitrate %d: %w", bitrate, err)
	}
	og := &oggWriter{w: dst}
	head := []byte("OpusHead")
	head = append(head, 1, channels)
	head = binary.LittleEndian.AppendUint16(head, opusPreSkip)
	head = binary.LittleEndian.AppendUint32(head, uint32(rate))
	head = binary.LittleEndian.AppendUint16(head, 0) // output gain
	head = append(head, 1, 2, 0, 0, 1)               // family 1, 2 streams, 0 coupled, mapping
	if err := og.page([][]byte{head}, 0, 0x02); err != nil {
		return err
	}
	tags := []byte("OpusTags")
	tags = binary.LittleEndian.AppendUint32(tags, 6)
	tags = append(tags, "kiroku"...)
	tags = binary.LittleEndian.AppendUint32(tags, 0)
	if err := og.page([][]byte{tags}, 0, 0); err != nil {
		return err
	}
	buf, raw := make([]int16, opusFrame*channels), make([]byte, opusFrame*frameLen)
	var (
		pkts    [][]byte
		granule = uint64(opusPreSkip)
		end     = uint64(opusPreSkip) + uint64(s.frames)*per48 // 48 kHz samples: the last frame's padding is trimmed
	)
	for {
		n, err := s.read(buf, raw)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		clear(buf[n*channels:])
		out := make([]byte, 1500)
		m, err := enc.EncodeInt16(buf, out)
		if err != nil {
			return fmt.Errorf("opus encode: %w", err)
		}
		pkts = append(pkts, out[:m])
		granule += uint64(opusFrame) * per48
		if len(pkts) == opusPerPage && s.left > 0 {
			if err := og.page(pkts, granule, 0); err != nil {
				return err
			}
			pkts = pkts[:0]
		}
	}
	return og.page(pkts, end, 0x04)
}

// oggWriter writes the pages of one logical Ogg stream.
type oggWriter struct {
	w   io.Writer
	seq uint32
}

// page writes packets as one page ending at granule, with the header
// type flags (0x02 first page, 0x04 last).
func (o *oggWriter) page(packets [][]byte, granule uint64, flags byte) error {
	var lacing []byte
	size := 0
	for _, p := range packets {
		for n := len(p); ; n -= 255 {
			if n < 255 {
				lacing = append(lacing, byte(n))
				break
			}
			lacing = append(lacing, 255)
		}
		size += len(p)
	}
	if len(lacing) > 255 {
		return fmt.Errorf("ogg page of %d segments", len(lacing))
	}
	h := make([]byte, 27, 27+len(lacing)+size)
	copy(h, "OggS")
	h[5] = flags
	binary.LittleEndian.PutUint64(h[6:], granule)
	binary.LittleEndian.PutUint32(h[14:], oggSerial)
	binary.LittleEndian.PutUint32(h[18:], o.seq)
	h[26] = byte(len(lacing))
	h = append(h, lacing...)
	for _, p := range packets {
		h = append(h, p...)
	}
	binary.LittleEndian.PutUint32(h[22:], oggCRC(h))
	o.seq++
	_, err := o.w.Write(h)
	return err
}

var oggTable = func() (t [256]uint32) {
	for i := range t {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04c11db7
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

func oggCRC(b []byte) uint32 {
	var c uint32
	for _, v := range b {
		c = c<<8 ^ oggTable[byte(c>>24)^v]
	}
	return c
}
