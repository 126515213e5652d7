package media

import "encoding/binary"

// rtpHeader is the part of an RTP fixed header the relay reads and rewrites
// in place; parsing allocates nothing.
type rtpHeader struct {
	marker  bool
	pt      uint8
	seq     uint16
	ts      uint32
	ssrc    uint32
	payload int // offset of the payload
	end     int // end of the payload (before padding)
}

// parseRTP checks version, CSRC count, extension and padding, and reports
// false for anything that is not a well-formed RTP packet.
func parseRTP(b []byte) (h rtpHeader, ok bool) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return h, false
	}
	off := 12 + int(b[0]&0x0f)*4
	if b[0]&0x10 != 0 { // header extension
		if len(b) < off+4 {
			return h, false
		}
		off += 4 + int(binary.BigEndian.Uint16(b[off+2:]))*4
	}
	end := len(b)
	if b[0]&0x20 != 0 { // padding
		pad := int(b[len(b)-1])
		end -= pad
	}
	if off > end {
		return h, false
	}
	h.marker = b[1]&0x80 != 0
	h.pt = b[1] & 0x7f
	h.seq = binary.BigEndian.Uint16(b[2:])
	h.ts = binary.BigEndian.Uint32(b[4:])
	h.ssrc = binary.BigEndian.Uint32(b[8:])
	h.payload = off
	h.end = end
	return h, true
}

// putRTP writes a 12-byte header without CSRCs or extension.
func putRTP(b []byte, marker bool, pt uint8, seq uint16, ts, ssrc uint32) {
	b[0] = 0x80
	b[1] = pt & 0x7f
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
}

// event is one RFC 4733 telephone-event payload.
type event struct {
	code     uint8
	end      bool
	volume   uint8
	duration uint16
}

func parseEvent(p []byte) (event, bool) {
	if len(p) < 4 {
		return event{}, false
	}
	return event{code: p[0], end: p[1]&0x80 != 0, volume: p[1] & 0x3f, duration: binary.BigEndian.Uint16(p[2:])}, true
}

// Digit maps an RFC 4733 event code to its key, or 0 for non-DTMF events.
func Digit(code uint8) rune {
	switch {
	case code <= 9:
		return rune('0' + code)
	case code == 10:
		return '*'
	case code == 11:
		return '#'
	case code >= 12 && code <= 15:
		return rune('A' + code - 12)
	}
	return 0
}

// EventCode maps a key to its RFC 4733 event code.
func EventCode(d rune) (uint8, bool) {
	switch {
	case d >= '0' && d <= '9':
		return uint8(d - '0'), true
	case d == '*':
		return 10, true
	case d == '#':
		return 11, true
	case d >= 'A' && d <= 'D':
		return uint8(d-'A') + 12, true
	case d >= 'a' && d <= 'd':
		return uint8(d-'a') + 12, true
	}
	return 0, false
}
