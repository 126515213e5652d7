package media

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// pkt describes an RTP packet for tests; build lays it out on the wire.
type pkt struct {
	marker  bool
	pt      uint8
	seq     uint16
	ts      uint32
	ssrc    uint32
	csrcs   int // number of CSRC entries
	extLen  int // extension words; -1 for no extension
	pad     int // padding bytes (0: none)
	payload []byte
}

func (p pkt) build() []byte {
	b := make([]byte, 12, 12+4*p.csrcs+4+4*max(p.extLen, 0)+len(p.payload)+p.pad)
	putRTP(b, p.marker, p.pt, p.seq, p.ts, p.ssrc)
	b[0] |= byte(p.csrcs)
	for i := range p.csrcs {
		b = binary.BigEndian.AppendUint32(b, 0xc5c50000+uint32(i))
	}
	if p.extLen >= 0 {
		b[0] |= 0x10
		b = binary.BigEndian.AppendUint16(b, 0xbede)
		b = binary.BigEndian.AppendUint16(b, uint16(p.extLen))
		for range p.extLen {
			b = append(b, 0xee, 0xee, 0xee, 0xee)
		}
	}
	b = append(b, p.payload...)
	if p.pad > 0 {
		b[0] |= 0x20
		for range p.pad - 1 {
			b = append(b, 0)
		}
		b = append(b, byte(p.pad))
	}
	return b
}

func payloadOf(n int, fill byte) []byte { return bytes.Repeat([]byte{fill}, n) }

func TestParseRTP(t *testing.T) {
	audio := payloadOf(160, 0xd5)
	for _, c := range []struct {
		name        string
		p           pkt
		wantPayload int // offset
	}{
		{"header only", pkt{pt: 0, seq: 1, ts: 2, ssrc: 3, extLen: -1}, 12},
		{"PCMU frame", pkt{pt: 0, seq: 65535, ts: 0xffffffff, ssrc: 0xdeadbeef, extLen: -1, payload: audio}, 12},
		{"marker and event PT", pkt{marker: true, pt: 101, seq: 7, ts: 8, ssrc: 9, extLen: -1, payload: []byte{5, 10, 0, 0}}, 12},
		{"two CSRCs", pkt{pt: 8, seq: 1, ts: 2, ssrc: 3, csrcs: 2, extLen: -1, payload: audio}, 20},
		{"fifteen CSRCs", pkt{pt: 8, seq: 1, ts: 2, ssrc: 3, csrcs: 15, extLen: -1, payload: audio}, 72},
		{"empty extension", pkt{pt: 0, seq: 1, ts: 2, ssrc: 3, extLen: 0, payload: audio}, 16},
		{"extension of two words", pkt{pt: 0, seq: 1, ts: 2, ssrc: 3, extLen: 2, payload: audio}, 24},
		{"padding", pkt{pt: 0, seq: 1, ts: 2, ssrc: 3, extLen: -1, pad: 4, payload: audio}, 12},
		{"padding only, no payload", pkt{pt: 0, seq: 1, ts: 2, ssrc: 3, extLen: -1, pad: 3}, 12},
		{"CSRCs, extension and padding", pkt{marker: true, pt: 0, seq: 1, ts: 2, ssrc: 3, csrcs: 2, extLen: 1, pad: 4, payload: audio}, 28},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := c.p.build()
			h, ok := parseRTP(b)
			if !ok {
				t.Fatalf("got ok=false for % x", b)
			}
			want := rtpHeader{marker: c.p.marker, pt: c.p.pt, seq: c.p.seq, ts: c.p.ts, ssrc: c.p.ssrc,
				payload: c.wantPayload, end: c.wantPayload + len(c.p.payload)}
			if h != want {
				t.Errorf("got %+v, want %+v", h, want)
			}
			if got := b[h.payload:h.end]; !bytes.Equal(got, c.p.payload) {
				t.Errorf("got payload % x, want % x", got, c.p.payload)
			}
		})
	}
}

func TestParseRTPRejects(t *testing.T) {
	valid := pkt{pt: 0, seq: 1, ts: 2, ssrc: 3, extLen: -1, payload: payloadOf(20, 1)}.build()
	with := func(b []byte, f func([]byte) []byte) []byte { return f(bytes.Clone(b)) }
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"11 bytes", valid[:11]},
		{"version 0", with(valid, func(b []byte) []byte { b[0] &^= 0xc0; return b })},
		{"version 1", with(valid, func(b []byte) []byte { b[0] = b[0]&^0xc0 | 0x40; return b })},
		{"version 3", with(valid, func(b []byte) []byte { b[0] |= 0xc0; return b })},
		{"STUN binding request", []byte{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{"CSRC count beyond the packet", with(valid[:16], func(b []byte) []byte { b[0] |= 0x0f; return b })},
		{"extension header truncated", with(valid[:14], func(b []byte) []byte { b[0] |= 0x10; return b })},
		{"extension header at the very end", with(valid[:12], func(b []byte) []byte { b[0] |= 0x10; return b })},
		{"extension length beyond the packet", with(valid, func(b []byte) []byte {
			b[0] |= 0x10
			binary.BigEndian.PutUint16(b[14:], 0xffff)
			return b
		})},
		{"extension after CSRCs beyond the packet", with(valid, func(b []byte) []byte { b[0] |= 0x10 | 0x03; return b })},
		{"padding longer than the packet", with(valid, func(b []byte) []byte { b[0] |= 0x20; b[len(b)-1] = 0xff; return b })},
		{"padding eating into the header", with(valid, func(b []byte) []byte { b[0] |= 0x20; b[len(b)-1] = 21; return b })},
		{"padding on a bare header", with(valid[:12], func(b []byte) []byte { b[0] |= 0x20; return b })},
	} {
		t.Run(c.name, func(t *testing.T) {
			if h, ok := parseRTP(c.b); ok {
				t.Errorf("got ok=true, %+v for % x, want false", h, c.b)
			}
		})
	}
}

func TestPutRTP(t *testing.T) {
	for _, c := range []struct {
		name   string
		marker bool
		pt     uint8
		seq    uint16
		ts     uint32
		ssrc   uint32
	}{
		{"zero", false, 0, 0, 0, 0},
		{"marker", true, 8, 1, 160, 1},
		{"max values", true, 127, 0xffff, 0xffffffff, 0xffffffff},
		{"PT high bit masked", false, 0xff, 42, 42, 42},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := bytes.Repeat([]byte{0xff}, 12) // stale CSRC/extension/padding bits must go
			putRTP(b, c.marker, c.pt, c.seq, c.ts, c.ssrc)
			if b[0] != 0x80 {
				t.Errorf("got first byte %#x, want 0x80", b[0])
			}
			h, ok := parseRTP(b)
			if !ok {
				t.Fatalf("got ok=false for % x", b)
			}
			want := rtpHeader{marker: c.marker, pt: c.pt & 0x7f, seq: c.seq, ts: c.ts, ssrc: c.ssrc, payload: 12, end: 12}
			if h != want {
				t.Errorf("got %+v, want %+v", h, want)
			}
		})
	}
}

func TestParseEvent(t *testing.T) {
	for _, c := range []struct {
		name   string
		p      []byte
		want   event
		wantOK bool
	}{
		{"start of 5", []byte{5, 10, 0, 0}, event{code: 5, volume: 10}, true},
		{"end of # at 1600", []byte{11, 0x80 | 10, 0x06, 0x40}, event{code: 11, end: true, volume: 10, duration: 1600}, true},
		{"reserved bit ignored", []byte{1, 0x40 | 63, 0xff, 0xff}, event{code: 1, volume: 63, duration: 0xffff}, true},
		{"longer payload (redundancy) reads the first", []byte{2, 0, 0, 160, 9, 9, 9, 9}, event{code: 2, duration: 160}, true},
		{"three bytes", []byte{5, 10, 0}, event{}, false},
		{"empty", nil, event{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := parseEvent(c.p)
			if got != c.want || ok != c.wantOK {
				t.Errorf("got %+v, %v, want %+v, %v", got, ok, c.want, c.wantOK)
			}
		})
	}
}

func TestDigitEventCodeRoundTrip(t *testing.T) {
	keys := "0123456789*#ABCD"
	for code := range 256 {
		d := Digit(uint8(code))
		if code >= len(keys) {
			if d != 0 {
				t.Errorf("code %d: got digit %q, want none", code, d)
			}
			continue
		}
		if want := rune(keys[code]); d != want {
			t.Errorf("code %d: got digit %q, want %q", code, d, want)
		}
		got, ok := EventCode(d)
		if !ok || got != uint8(code) {
			t.Errorf("key %q: got code %d, %v, want %d, true", d, got, ok, code)
		}
	}
}

func TestEventCode(t *testing.T) {
	for _, c := range []struct {
		key    rune
		want   uint8
		wantOK bool
	}{
		{'0', 0, true}, {'9', 9, true}, {'*', 10, true}, {'#', 11, true},
		{'A', 12, true}, {'D', 15, true}, {'a', 12, true}, {'d', 15, true},
		{'E', 0, false}, {'e', 0, false}, {'/', 0, false}, {':', 0, false},
		{' ', 0, false}, {0, 0, false}, {'０', 0, false}, // full-width zero
	} {
		t.Run(string(c.key), func(t *testing.T) {
			got, ok := EventCode(c.key)
			if got != c.want || ok != c.wantOK {
				t.Errorf("got %d, %v, want %d, %v", got, ok, c.want, c.wantOK)
			}
		})
	}
}

func FuzzParseRTP(f *testing.F) {
	for _, p := range []pkt{
		{pt: 0, seq: 1, ts: 2, ssrc: 3, extLen: -1, payload: payloadOf(160, 0xff)},
		{marker: true, pt: 101, seq: 1, ts: 2, ssrc: 3, extLen: -1, payload: []byte{1, 0x8a, 3, 0x20}},
		{pt: 0, seq: 1, ts: 2, ssrc: 3, csrcs: 2, extLen: 1, pad: 4, payload: payloadOf(20, 1)},
		{pt: 0, seq: 1, ts: 2, ssrc: 3, csrcs: 15, extLen: 0, pad: 255},
	} {
		f.Add(p.build())
	}
	f.Add([]byte{0x80})
	f.Add([]byte{0xbf, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := parseRTP(b)
		if !ok {
			return
		}
		if h.payload < 12 || h.payload > h.end || h.end > len(b) {
			t.Fatalf("got payload %d..%d of %d bytes", h.payload, h.end, len(b))
		}
		if h.pt > 127 {
			t.Fatalf("got PT %d", h.pt)
		}
		var d detector
		d.feed(h, b[h.payload:h.end])
	})
}
