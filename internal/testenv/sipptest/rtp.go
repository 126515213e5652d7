package sipptest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// rtpHeaderLen is the length of an RTP header without CSRCs or extension.
const rtpHeaderLen = 12

// RTPPacket returns an RTP version 2 packet, without CSRCs or header
// extension, carrying payload.
func RTPPacket(pt uint8, seq uint16, ts uint32, ssrc uint32, marker bool, payload []byte) []byte {
	b := make([]byte, rtpHeaderLen+len(payload))
	b[0] = 2 << 6
	b[1] = pt & 0x7f
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	copy(b[rtpHeaderLen:], payload)
	return b
}

// RTPStream returns payloads as consecutive RTP packets of one source:
// sequence numbers from seq, timestamps from ts advancing by each
// payload's length (one byte a sample, as in G.711), the marker on the
// first.
func RTPStream(pt uint8, seq uint16, ts uint32, ssrc uint32, payloads [][]byte) [][]byte {
	out := make([][]byte, len(payloads))
	for i, p := range payloads {
		out[i] = RTPPacket(pt, seq, ts, ssrc, i == 0, p)
		seq++
		ts += uint32(len(p))
	}
	return out
}

// RTPHeader is the fixed part of an RTP header.
type RTPHeader struct {
	Marker      bool
	PayloadType uint8
	Seq         uint16
	Timestamp   uint32
	SSRC        uint32
}

// ParseRTP splits an RTP packet into its header and payload, skipping
// CSRCs, a header extension and padding.
func ParseRTP(b []byte) (RTPHeader, []byte, error) {
	if len(b) < rtpHeaderLen {
		return RTPHeader{}, nil, fmt.Errorf("rtp: %d bytes, shorter than a header", len(b))
	}
	if v := b[0] >> 6; v != 2 {
		return RTPHeader{}, nil, fmt.Errorf("rtp: version %d", v)
	}
	h := RTPHeader{
		Marker:      b[1]&0x80 != 0,
		PayloadType: b[1] & 0x7f,
		Seq:         binary.BigEndian.Uint16(b[2:]),
		Timestamp:   binary.BigEndian.Uint32(b[4:]),
		SSRC:        binary.BigEndian.Uint32(b[8:]),
	}
	n := rtpHeaderLen + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 {
		if len(b) < n+4 {
			return h, nil, errors.New("rtp: truncated header extension")
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(b[n+2:]))
	}
	end := len(b)
	if b[0]&0x20 != 0 && end > 0 {
		end -= int(b[end-1])
	}
	if n > end {
		return h, nil, errors.New("rtp: header longer than the packet")
	}
	return h, b[n:end], nil
}

// DTMFOptions shapes the packets of one RFC 4733 telephone event.
type DTMFOptions struct {
	// Seq is the sequence number of the first packet; each next one
	// adds 1.
	Seq uint16
	// Timestamp is the RTP timestamp of the event's start, which every
	// packet of the event carries.
	Timestamp uint32
	// SSRC is the source of the packets.
	SSRC uint32
	// Duration is how long the key is held, in steps of 20 ms (rounded
	// up); 0 means 100 ms.
	Duration time.Duration
	// Volume is the power level, 0 (loudest) to 63, in -dBm0.
	Volume uint8
	// ZeroFirst gives the first packet a duration of 0, as the first
	// packet of SIPp's dtmf_2833_*.pcap captures has.
	ZeroFirst bool
}

// eventCode is the RFC 4733 event of a DTMF digit (section 3.2), the
// harness's own table rather than the daemon's.
func eventCode(d rune) (uint8, bool) {
	i := strings.IndexRune("0123456789*#ABCD", unicode.ToUpper(d))
	return uint8(i), i >= 0
}

// dtmfStep is the update interval of an event: 20 ms at 8 kHz.
const dtmfStep = 160

// DTMFEvent returns the RTP packets (payload type pt) of one RFC 4733
// event for digit (0-9, *, #, A-D): one every 20 ms with a growing
// duration, the first with the marker bit, and the final one, with the
// E bit, sent three times as RFC 4733 asks, each with a sequence number
// of its own.
func DTMFEvent(digit rune, pt uint8, opts DTMFOptions) ([][]byte, error) {
	event, ok := eventCode(digit)
	if !ok {
		return nil, fmt.Errorf("dtmf: %q is not a DTMF digit", digit)
	}
	if opts.Volume > 63 {
		return nil, fmt.Errorf("dtmf: volume %d above 63", opts.Volume)
	}
	dur := opts.Duration
	if dur == 0 {
		dur = 100 * time.Millisecond
	}
	steps := int((dur + 20*time.Millisecond - 1) / (20 * time.Millisecond))
	total := steps * dtmfStep
	if total > 0xffff {
		return nil, fmt.Errorf("dtmf: duration %v longer than one event segment", dur)
	}

	// Durations of the packets before the end: 0 or 160 upward, below
	// the total.
	var durations []int
	first := dtmfStep
	if opts.ZeroFirst {
		first = 0
	}
	for d := first; d < total; d += dtmfStep {
		durations = append(durations, d)
	}

	var out [][]byte
	seq := opts.Seq
	add := func(d int, end bool) {
		payload := []byte{event, opts.Volume, byte(d >> 8), byte(d)}
		if end {
			payload[1] |= 0x80
		}
		out = append(out, RTPPacket(pt, seq, opts.Timestamp, opts.SSRC, len(out) == 0, payload))
		seq++
	}
	for _, d := range durations {
		add(d, false)
	}
	for range 3 {
		add(total, true)
	}
	return out, nil
}
