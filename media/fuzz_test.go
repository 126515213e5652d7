package media

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// FuzzDetector feeds sequences of RFC 4733 packets to the key detector.
// Each 9 bytes of input are one packet: a stream selector (two SSRCs), a
// 4-byte RTP timestamp and a 4-byte telephone-event payload (a shorter
// tail is a truncated payload). Whatever the order, repeats and
// stragglers, a key reported is a DTMF key, and a packet that repeats the
// one before it (a retransmitted end packet) is never reported again.
func FuzzDetector(f *testing.F) {
	f.Fuzz(func(t *testing.T, stream []byte) {
		var d detector
		var prev []byte
		for len(stream) > 0 {
			n := min(9, len(stream))
			p := stream[:n]
			stream = stream[n:]
			if n < 5 {
				continue
			}
			h := rtpHeader{pt: 101, ssrc: 0x1000 + uint32(p[0]&1), ts: binary.BigEndian.Uint32(p[1:5]), payload: 12, end: 12 + n - 5}
			key, ok := d.feed(h, p[5:])
			if ok && !strings.ContainsRune("0123456789*#ABCD", key) {
				t.Fatalf("got key %q from %x", key, p)
			}
			if ok && prev != nil && p[0]&1 == prev[0]&1 && string(p[1:5]) == string(prev[1:5]) {
				t.Fatalf("packet %x repeats %x and was reported again", p, prev)
			}
			prev = p
		}
	})
}

// FuzzSRTPDecrypt feeds arbitrary datagrams to an SRTP leg's decryption:
// anything but a packet sealed with the peer's key must be refused (a
// panic inside the library would show as a refusal: decrypt recovers it,
// as the reader goroutine must).
func FuzzSRTPDecrypt(f *testing.F) {
	key := Crypto{Tag: 1, Suite: DefaultSuite, Key: bytes.Repeat([]byte{0x5a}, 30)}
	enc, err := newContext(key)
	if err != nil {
		f.Fatal(err)
	}
	s := stream{ssrc: 0xdecaf}
	good, err := enc.EncryptRTP(nil, s.audio(0, 1), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:20])
	f.Add(s.audio(0, 2))
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		p, err := newSRTPPair(key, key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decrypt(p, pkt); err == nil && !bytes.Equal(pkt, good) {
			// A forgery would need the key: only the sealed seed passes.
			t.Fatalf("forged packet % x accepted", pkt)
		}
	})
}

// FuzzToneDetector feeds arbitrary μ-law audio to the in-band key
// detector, in 20 ms packets and in packets of another size (the first
// byte, 1 to 255 samples): keys reported are keypad keys, and the same
// audio gives the same keys however it is cut into packets.
func FuzzToneDetector(f *testing.F) {
	var key []byte
	for _, p := range ulawFrames(synth(tone{dur: 30 * ms}, tone{key: '9', dur: 80 * ms}, tone{dur: 60 * ms})) {
		key = append(key, p...)
	}
	f.Add(append([]byte{37}, key...))
	f.Add(append([]byte{160}, key...))
	f.Add([]byte{1, 0xff, 0x7f, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 1 {
			return
		}
		size := max(1, int(in[0]))
		pcm := PCMU.NewDecoder().Decode(nil, in[1:])
		a, b := detect(pcm, 160), detect(pcm, size)
		if strings.Trim(a, "0123456789*#ABCD") != "" {
			t.Fatalf("got keys %q, want keypad keys only", a)
		}
		if a != b {
			t.Fatalf("got keys %q in 20 ms packets and %q in packets of %d samples", a, b, size)
		}
	})
}
