package audiofile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/thesyncim/gopus"
)

// opusPeaks reads an Ogg Opus stream of two channels ("OggS" already
// read) and returns its waveform, decoded at the rate its OpusHead names
// (the recording's: 8 or 16 kHz), its pre-skip dropped and its length
// the last page's granule position.
func opusPeaks(br *bufio.Reader, buckets int) (*Waveform, error) {
	og := &oggReader{r: br, started: true}
	head, err := og.packet()
	if err != nil {
		return nil, fmt.Errorf("peaks: opus head: %w", err)
	}
	if len(head) < 19 || string(head[:8]) != "OpusHead" {
		return nil, errors.New("peaks: ogg stream without OpusHead")
	}
	chans, preSkip, rate, family := int(head[9]), int(binary.LittleEndian.Uint16(head[10:])), int(binary.LittleEndian.Uint32(head[12:])), head[18]
	if chans != 2 {
		return nil, fmt.Errorf("peaks: opus of %d channels (want 2)", chans)
	}
	streams, coupled, mapping := 1, 1, []byte{0, 1}
	if family != 0 {
		if len(head) < 21+chans {
			return nil, errors.New("peaks: opus head cut short")
		}
		streams, coupled, mapping = int(head[19]), int(head[20]), head[21:21+chans]
	}
	dec, err := gopus.NewMultistreamDecoder(rate, chans, streams, coupled, mapping)
	if err != nil {
		return nil, fmt.Errorf("peaks: opus decoder at %d Hz: %w", rate, err)
	}
	if _, err := og.packet(); err != nil { // OpusTags
		return nil, fmt.Errorf("peaks: opus tags: %w", err)
	}
	ps := newPeakset(rate)
	skip := int64(preSkip) * int64(rate) / 48000
	pcm := make([]int16, 5760*chans) // 120 ms at 48 kHz, the longest packet
	for {
		pkt, err := og.packet()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break // the end, or a stream cut short: the waveform of what there is
		}
		if err != nil {
			return nil, fmt.Errorf("peaks: opus: %w", err)
		}
		n, err := dec.DecodeInt16(pkt, pcm)
		if err != nil {
			return nil, fmt.Errorf("peaks: opus packet: %w", err)
		}
		for i := range n {
			if skip > 0 {
				skip--
				continue
			}
			ps.add(pcm[2*i], pcm[2*i+1])
		}
	}
	frames := int64(-1)
	if og.granule >= uint64(preSkip) {
		frames = int64(og.granule-uint64(preSkip)) * int64(rate) / 48000
	}
	return ps.waveform(frames, buckets), nil
}

// oggReader returns the packets of one logical Ogg stream (RFC 3533),
// page by page; granule is the last page's granule position.
type oggReader struct {
	r       *bufio.Reader
	started bool // the first page's "OggS" is already read
	segs    []byte
	granule uint64
	eos     bool
}

func (o *oggReader) page() error {
	if o.eos {
		return io.EOF
	}
	var h [27]byte
	off := 0
	if o.started {
		copy(h[:], "OggS")
		off, o.started = 4, false
	}
	if n, err := io.ReadFull(o.r, h[off:]); err != nil {
		if n == 0 && off == 0 && errors.Is(err, io.EOF) {
			return io.EOF
		}
		return io.ErrUnexpectedEOF
	}
	if string(h[:4]) != "OggS" {
		return errors.New("no ogg page capture pattern")
	}
	if g := binary.LittleEndian.Uint64(h[6:]); g != ^uint64(0) {
		o.granule = g
	}
	o.eos = h[5]&0x04 != 0
	o.segs = make([]byte, h[26])
	if _, err := io.ReadFull(o.r, o.segs); err != nil {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// packet returns the next packet, which may span pages.
func (o *oggReader) packet() ([]byte, error) {
	var pkt []byte
	for {
		for len(o.segs) == 0 {
			if err := o.page(); err != nil {
				if pkt != nil && errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return nil, err
			}
		}
		n := o.segs[0]
		o.segs = o.segs[1:]
		start := len(pkt)
		pkt = append(pkt, make([]byte, n)...)
		if _, err := io.ReadFull(o.r, pkt[start:]); err != nil {
			return nil, io.ErrUnexpectedEOF
		}
		if n < 255 {
			return pkt, nil
		}
		if len(pkt) > 1<<20 {
			return nil, errors.New("ogg packet over 1 MiB")
		}
	}
}
