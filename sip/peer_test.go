package sip

import (
	"encoding/binary"
	"math"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/media"
)

// rtpPeer is the media side of a test caller or agent: SIPp does the SIP,
// this socket (whose port SIPp puts in its SDP) sends and records RTP.
type rtpPeer struct {
	t    testing.TB
	conn *net.UDPConn
	ssrc uint32
	seq  uint16
	ts   uint32

	mu   sync.Mutex
	got  []rxPacket
	done chan struct{}
}

type rxPacket struct {
	at      time.Time
	pt      uint8
	seq     uint16
	ts      uint32
	ssrc    uint32
	marker  bool
	payload []byte
}

// newRTPPeer binds an even port on 127.0.0.1 (with the odd one free).
func newRTPPeer(t testing.TB) *rtpPeer {
	t.Helper()
	return newRTPPeerOn(t, net.IPv4(127, 0, 0, 1))
}

// newRTPPeerOn binds an even port on ip (127.0.0.1 or ::1).
func newRTPPeerOn(t testing.TB, ip net.IP) *rtpPeer {
	t.Helper()
	for range 50 {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			t.Fatal(err)
		}
		if c.LocalAddr().(*net.UDPAddr).Port%2 != 0 {
			c.Close()
			continue
		}
		p := &rtpPeer{t: t, conn: c, ssrc: 0x1234abcd, seq: 100, ts: 5000, done: make(chan struct{})}
		go p.read()
		t.Cleanup(p.close)
		return p
	}
	t.Fatal("no even UDP port")
	return nil
}

func (p *rtpPeer) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

func (p *rtpPeer) close() {
	p.conn.Close()
	<-p.done
}

func (p *rtpPeer) read() {
	defer close(p.done)
	buf := make([]byte, 1500)
	for {
		n, err := p.conn.Read(buf)
		if err != nil {
			return
		}
		if n < 12 {
			continue
		}
		b := buf[:n]
		rx := rxPacket{at: time.Now(), marker: b[1]&0x80 != 0, pt: b[1] & 0x7f, seq: binary.BigEndian.Uint16(b[2:]),
			ts: binary.BigEndian.Uint32(b[4:]), ssrc: binary.BigEndian.Uint32(b[8:]), payload: append([]byte(nil), b[12:]...)}
		p.mu.Lock()
		p.got = append(p.got, rx)
		p.mu.Unlock()
	}
}

func (p *rtpPeer) packets() []rxPacket {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]rxPacket(nil), p.got...)
}

func (p *rtpPeer) reset() {
	p.mu.Lock()
	p.got = nil
	p.mu.Unlock()
}

func (p *rtpPeer) send(to netip.AddrPort, pt uint8, marker bool, ts uint32, payload []byte) {
	b := make([]byte, 12+len(payload))
	b[0] = 0x80
	b[1] = pt
	if marker {
		b[1] |= 0x80
	}
	p.seq++
	binary.BigEndian.PutUint16(b[2:], p.seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], p.ssrc)
	copy(b[12:], payload)
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Logf("rtp send: %v", err)
	}
}

// sendTone sends frames of a PCMU tone every 20 ms for dur; each payload
// starts with a two-byte frame counter tag so receivers can match frames.
func (p *rtpPeer) sendTone(to netip.AddrPort, freq float64, dur time.Duration, stop <-chan struct{}) int {
	return p.sendToneOpts(to, freq, dur, stop, toneOpts{})
}

// toneOpts shape a test stream: its payload type, frames it skips (loss)
// and the frame at which it changes SSRC (and sequence and timestamp base).
type toneOpts struct {
	pt         uint8
	drop       func(i int) bool
	ssrcChange int
}

func (p *rtpPeer) sendToneOpts(to netip.AddrPort, freq float64, dur time.Duration, stop <-chan struct{}, o toneOpts) int {
	start := time.Now()
	n := 0
	for i := 0; time.Duration(i)*20*time.Millisecond < dur; i++ {
		select {
		case <-stop:
			return n
		default:
		}
		time.Sleep(time.Until(start.Add(time.Duration(i) * 20 * time.Millisecond)))
		if o.ssrcChange > 0 && i == o.ssrcChange {
			p.ssrc, p.seq, p.ts = p.ssrc^0x5a5a5a5a, p.seq+30000, p.ts+123456789
		}
		pl := toneFrame(freq, i)
		if o.pt == 8 {
			for k, b := range pl {
				pl[k] = media.EncodeALaw(media.DecodeULaw(b))
			}
		}
		if o.drop != nil && o.drop(i) {
			p.seq++ // the packet is lost on the way: its number is used
		} else {
			p.send(to, o.pt, i == 0, p.ts, pl)
			n++
		}
		p.ts += 160
	}
	return n
}

func toneFrame(freq float64, i int) []byte {
	pl := make([]byte, 160)
	for k := range pl {
		s := float64(i*160+k) / 8000
		pl[k] = media.EncodeULaw(int16(8000 * math.Sin(2*math.Pi*freq*s)))
	}
	return pl
}

// sendKey sends an RFC 4733 event for d: start packet, two updates, three
// end packets, as a phone does.
func (p *rtpPeer) sendKey(to netip.AddrPort, pt uint8, d rune, firstDurZero bool) {
	code, _ := media.EventCode(d)
	ts := p.ts
	durs := []uint16{400, 800, 1200}
	if firstDurZero {
		durs = []uint16{0, 400, 800}
	}
	for i, du := range durs {
		p.send(to, pt, i == 0, ts, []byte{code, 10, byte(du >> 8), byte(du)})
		time.Sleep(20 * time.Millisecond)
	}
	for range 3 {
		p.send(to, pt, false, ts, []byte{code, 0x80 | 10, byte(1280 >> 8), byte(1280 & 0xff)})
	}
	p.ts += 1280
}
