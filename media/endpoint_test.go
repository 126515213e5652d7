package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// waitLimit only keeps a broken test from hanging; no assertion depends on
// how long anything takes.
const waitLimit = 5 * time.Second

var loopback = netip.MustParseAddr("127.0.0.1")

// waitFor polls cond until it holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// freeRange finds `pairs` RTP/RTCP pairs on 127.0.0.1 that nothing holds,
// below the kernel's ephemeral range and away from the ranges the sip and
// kirokud tests use (31000-35999).
func freeRange(t testing.TB, pairs int) (lo, hi int) {
	t.Helper()
	for range 100 {
		lo = 10000 + 2*rand.IntN((19999-10000-2*pairs)/2)
		hi = lo + 2*pairs - 1
		var held []*net.UDPConn
		free := true
		for p := lo; p <= hi; p++ {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: loopback.AsSlice(), Port: p})
			if err != nil {
				free = false
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if free {
			return lo, hi
		}
	}
	t.Fatalf("no %d free port pairs on %v", pairs, loopback)
	return 0, 0
}

func testPorts(t testing.TB, pairs int) *Ports {
	t.Helper()
	lo, hi := freeRange(t, pairs)
	p, err := NewPorts(loopback, lo, hi)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func openEP(t testing.TB, p *Ports) *Endpoint {
	t.Helper()
	e, err := p.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// udpPeer is the far end of a leg: a plain socket that records what it gets.
type udpPeer struct {
	conn *net.UDPConn
	pkts chan []byte
	done chan struct{}
}

func newPeer(t testing.TB) *udpPeer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: loopback.AsSlice()})
	if err != nil {
		t.Fatal(err)
	}
	p := &udpPeer{conn: c, pkts: make(chan []byte, 4096), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		buf := make([]byte, 1500)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			p.pkts <- bytes.Clone(buf[:n])
		}
	}()
	t.Cleanup(func() {
		c.Close()
		<-p.done
	})
	return p
}

func (p *udpPeer) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (p *udpPeer) send(t testing.TB, to netip.AddrPort, b []byte) {
	t.Helper()
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		t.Fatal(err)
	}
}

// next returns the next packet the peer got.
func (p *udpPeer) next(t testing.TB) []byte {
	t.Helper()
	select {
	case b := <-p.pkts:
		return b
	case <-time.After(waitLimit):
		t.Fatal("gave up waiting for a packet")
		return nil
	}
}

// nextRTP returns the next packet, parsed.
func (p *udpPeer) nextRTP(t testing.TB) (rtpHeader, []byte) {
	t.Helper()
	b := p.next(t)
	h, ok := parseRTP(b)
	if !ok {
		t.Fatalf("got non-RTP packet % x", b)
	}
	return h, b
}

// sentSettled returns e's Sent count once it has reached at least n: the
// counter goes up just after the datagram is on its way, so a peer may see
// the packet a moment before the count does.
func sentSettled(t testing.TB, e *Endpoint, n uint64) uint64 {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d packets counted as sent", n), func() bool { return e.Stats().Sent >= n })
	return e.Stats().Sent
}

// stream is a test sender's RTP state: one SSRC, one sequence space for
// audio and events, as RFC 4733 §2.1 requires.
type stream struct {
	ssrc uint32
	seq  uint16
	ts   uint32
}

func (s *stream) audio(pt uint8, fill byte) []byte {
	s.seq++
	s.ts += 160
	return pkt{pt: pt, seq: s.seq, ts: s.ts, ssrc: s.ssrc, extLen: -1, payload: payloadOf(160, fill)}.build()
}

// press returns the packets of one RFC 4733 key press: a start packet
// with duration 0 (as SIPp's stock pcaps have it), an update and the end
// packet three times, all with the timestamp of the press.
func (s *stream) press(pt uint8, code uint8) [][]byte {
	s.ts += 160
	var out [][]byte
	for i, dur := range []uint16{0, 400, 800, 800, 800} {
		s.seq++
		vol := byte(10)
		if i >= 2 {
			vol |= 0x80
		}
		out = append(out, pkt{marker: i == 0, pt: pt, seq: s.seq, ts: s.ts, ssrc: s.ssrc, extLen: -1,
			payload: []byte{code, vol, byte(dur >> 8), byte(dur)}}.build())
	}
	return out
}

func TestNewPorts(t *testing.T) {
	for _, c := range []struct {
		name     string
		min, max int
		wantErr  bool
		wantMin  int
	}{
		{"even range", 10000, 10001, false, 10000},
		{"odd min moves up", 10001, 10003, false, 10002},
		{"odd min leaves no pair", 10001, 10002, true, 0},
		{"single port", 10000, 10000, true, 0},
		{"inverted", 10010, 10000, true, 0},
		{"port 0", 0, 10, true, 0},
		{"above 65535", 65534, 65536, true, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := NewPorts(loopback, c.min, c.max)
			if c.wantErr {
				if err == nil {
					t.Fatalf("got pool %d-%d, want an error", p.min, p.max)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if p.min != c.wantMin || p.IP() != loopback {
				t.Errorf("got %v min %d, want %v min %d", p.IP(), p.min, loopback, c.wantMin)
			}
		})
	}
}

func TestPorts(t *testing.T) {
	t.Run("even ports until exhausted", func(t *testing.T) {
		const pairs = 4
		p := testPorts(t, pairs)
		seen := map[int]bool{}
		for range pairs {
			e := openEP(t, p)
			if e.Port()%2 != 0 || e.Port() < p.min || e.Port()+1 > p.max || seen[e.Port()] {
				t.Errorf("got port %d, want a new even port with its pair in %d-%d", e.Port(), p.min, p.max)
			}
			seen[e.Port()] = true
			if e.Addr() != netip.AddrPortFrom(loopback, uint16(e.Port())) {
				t.Errorf("got addr %v, want %v:%d", e.Addr(), loopback, e.Port())
			}
		}
		if got := p.InUse(); got != pairs {
			t.Errorf("got %d in use, want %d", got, pairs)
		}
		if e, err := p.Open(); !errors.Is(err, ErrNoPorts) {
			if e != nil {
				e.Close()
			}
			t.Errorf("got %v, want ErrNoPorts", err)
		}
	})
	t.Run("reused after Close", func(t *testing.T) {
		p := testPorts(t, 2)
		a, b := openEP(t, p), openEP(t, p)
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if got := p.InUse(); got != 1 {
			t.Errorf("got %d in use after Close, want 1", got)
		}
		c := openEP(t, p)
		if c.Port() != a.Port() {
			t.Errorf("got port %d, want %d again (%d is still held)", c.Port(), a.Port(), b.Port())
		}
	})
	t.Run("ports other programs hold are skipped", func(t *testing.T) {
		p := testPorts(t, 2)
		for _, c := range []struct {
			name string
			held []int // offsets from p.min
			want int   // offset of the port handed out; -1: ErrNoPorts
		}{
			{"RTP port held", []int{0}, 2},
			{"RTCP port held", []int{1}, 2},
			{"one port of each pair held", []int{0, 3}, -1},
		} {
			t.Run(c.name, func(t *testing.T) {
				for _, off := range c.held {
					conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: loopback.AsSlice(), Port: p.min + off})
					if err != nil {
						t.Fatal(err)
					}
					defer conn.Close()
				}
				e, err := p.Open()
				if e != nil {
					defer e.Close()
				}
				switch {
				case c.want < 0 && !errors.Is(err, ErrNoPorts):
					t.Errorf("got %v, want ErrNoPorts", err)
				case c.want >= 0 && err != nil:
					t.Errorf("got %v, want port %d", err, p.min+c.want)
				case c.want >= 0 && e.Port() != p.min+c.want:
					t.Errorf("got port %d, want %d", e.Port(), p.min+c.want)
				}
			})
		}
	})
}

func TestEndpointAcceptsOnlyPeer(t *testing.T) {
	e := openEP(t, testPorts(t, 1))
	peer, stranger := newPeer(t), newPeer(t)
	s := stream{ssrc: 1}
	total := func() uint64 { st := e.Stats(); return st.Received + st.Rejected }

	peer.send(t, e.Addr(), s.audio(0, 1)) // before SetPeer: nobody is the peer
	waitFor(t, "the packet before SetPeer", func() bool { return total() == 1 })

	e.SetPeer(Peer{Addr: peer.addr(), Audio: pcmu})
	for range 2 {
		stranger.send(t, e.Addr(), s.audio(0, 2))
	}
	for range 3 {
		peer.send(t, e.Addr(), s.audio(0, 3))
	}
	peer.send(t, e.Addr(), []byte("not rtp at all"))
	waitFor(t, "all packets counted", func() bool { return total() == 7 })

	e.SetPeer(Peer{Audio: pcmu}) // on hold by c=0.0.0.0
	peer.send(t, e.Addr(), s.audio(0, 4))
	waitFor(t, "the packet on hold", func() bool { return total() == 8 })

	got := e.Stats()
	if want := (Stats{Received: 3, Rejected: 5}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if e.LastReceived().IsZero() {
		t.Error("got zero LastReceived, want the time of the last accepted packet")
	}
}

func TestListenKeys(t *testing.T) {
	e := openEP(t, testPorts(t, 1))
	peer := newPeer(t)
	e.SetPeer(Peer{Addr: peer.addr(), Audio: pcmu, DTMF: telEv101})
	keys := make(chan DTMF, 10)
	e.ListenKeys(func(d DTMF) { keys <- d })

	s := stream{ssrc: 7}
	var sent [][]byte
	sent = append(sent, s.audio(0, 1))
	sent = append(sent, s.press(101, 5)...)
	sent = append(sent, s.press(101, 5)...)
	sent = append(sent, s.press(96, 9)...) // not the negotiated event PT
	sent = append(sent, s.audio(0, 1))
	for _, b := range sent {
		peer.send(t, e.Addr(), b)
	}
	waitFor(t, "all packets", func() bool { return e.Stats().Received == uint64(len(sent)) })

	var got []rune
	for len(keys) > 0 {
		d := <-keys
		if d.Via != "rfc4733" || d.At.IsZero() {
			t.Errorf("got %+v, want Via rfc4733 and a time", d)
		}
		got = append(got, d.Digit)
	}
	if string(got) != "55" {
		t.Errorf("got keys %q, want %q", string(got), "55")
	}
	if st := e.Stats(); st.Events != 10 || st.Sent != 0 {
		t.Errorf("got %+v, want 10 events and nothing sent (audio is dropped during the notice)", st)
	}
}

// legs is a bridged call: caller peer ↔ endpoint a ↔ endpoint b ↔ agent peer.
type legs struct {
	a, b            *Endpoint
	caller, agent   *udpPeer
	keys            chan sideKey
	callerS, agentS stream
}

type sideKey struct {
	side  int
	digit rune
}

// agentPCMU is PCMU under a dynamic number, so a relay that forgets to
// rewrite the payload type shows.
var agentPCMU = Audio{PT: 98, Codec: PCMU}

func newLegs(t *testing.T, callerDTMF, agentDTMF Format) *legs {
	t.Helper()
	return newTapLegs(t, callerDTMF, agentDTMF, nil)
}

func newTapLegs(t *testing.T, callerDTMF, agentDTMF Format, tap Tap) *legs {
	t.Helper()
	p := testPorts(t, 2)
	l := &legs{a: openEP(t, p), b: openEP(t, p), caller: newPeer(t), agent: newPeer(t),
		keys: make(chan sideKey, 64), callerS: stream{ssrc: 0x11111111, seq: 1000, ts: 8000},
		agentS: stream{ssrc: 0x22222222, seq: 50000, ts: 0xfffff000}}
	l.a.SetPeer(Peer{Addr: l.caller.addr(), Audio: pcmu, DTMF: callerDTMF, Direction: SendRecv})
	l.b.SetPeer(Peer{Addr: l.agent.addr(), Audio: agentPCMU, DTMF: agentDTMF, Direction: SendRecv})
	br := NewBridge(l.a, l.b, BridgeOptions{Tap: tap, OnKey: func(side int, d DTMF) { l.keys <- sideKey{side, d.Digit} }})
	t.Cleanup(br.Stop)
	return l
}

func (l *legs) gotKeys() []sideKey {
	var out []sideKey
	for len(l.keys) > 0 {
		out = append(out, <-l.keys)
	}
	return out
}

func TestBridgeAudio(t *testing.T) {
	l := newLegs(t, telEv101, telEv96)

	t.Run("caller to agent across an SSRC change", func(t *testing.T) {
		for i := range 10 {
			if i == 5 { // the caller's PBX switches streams mid-call
				l.callerS = stream{ssrc: 0x33333333, seq: 7, ts: 123456}
			}
			l.caller.send(t, l.a.Addr(), l.callerS.audio(0, byte(i)))
		}
		var prev rtpHeader
		for i := range 10 {
			h, b := l.agent.nextRTP(t)
			if h.ssrc != l.b.ssrc {
				t.Errorf("packet %d: got SSRC %#x, want endpoint b's %#x", i, h.ssrc, l.b.ssrc)
			}
			if h.pt != agentPCMU.PT {
				t.Errorf("packet %d: got PT %d, want %d", i, h.pt, agentPCMU.PT)
			}
			if want := payloadOf(160, byte(i)); !bytes.Equal(b[h.payload:h.end], want) {
				t.Errorf("packet %d: got payload % x…, want %#x", i, b[h.payload:h.payload+4], byte(i))
			}
			if wantMarker := i == 0 || i == 5; h.marker != wantMarker {
				t.Errorf("packet %d: got marker %v, want %v", i, h.marker, wantMarker)
			}
			if i > 0 {
				if h.seq != prev.seq+1 {
					t.Errorf("packet %d: got seq %d after %d, want +1", i, h.seq, prev.seq)
				}
				if d := int32(h.ts - prev.ts); d < 160 || (i != 5 && d != 160) {
					t.Errorf("packet %d: got ts step %d, want 160 (at least 160 at the SSRC change)", i, d)
				}
			}
			prev = h
		}
	})

	t.Run("agent to caller", func(t *testing.T) {
		for i := range 3 {
			l.agent.send(t, l.b.Addr(), l.agentS.audio(agentPCMU.PT, byte(0x40+i)))
		}
		var prev rtpHeader
		for i := range 3 {
			h, b := l.caller.nextRTP(t)
			if h.ssrc != l.a.ssrc || h.pt != pcmu.PT {
				t.Errorf("packet %d: got SSRC %#x PT %d, want %#x PT %d", i, h.ssrc, h.pt, l.a.ssrc, pcmu.PT)
			}
			if i > 0 && (h.seq != prev.seq+1 || h.ts != prev.ts+160) {
				t.Errorf("packet %d: got seq %d ts %d after %d %d, want +1 and +160", i, h.seq, h.ts, prev.seq, prev.ts)
			}
			if want := payloadOf(160, byte(0x40+i)); !bytes.Equal(b[h.payload:h.end], want) {
				t.Errorf("packet %d: payload not relayed unchanged", i)
			}
			prev = h
		}
	})

	t.Run("other payload types not relayed", func(t *testing.T) {
		before := l.b.Stats().Sent
		l.caller.send(t, l.a.Addr(), l.callerS.audio(13, 0)) // comfort noise
		l.caller.send(t, l.a.Addr(), l.callerS.audio(8, 0))  // PCMA: not negotiated
		l.caller.send(t, l.a.Addr(), l.callerS.audio(0, 0x99))
		h, _ := l.agent.nextRTP(t)
		if h.pt != agentPCMU.PT {
			t.Errorf("got PT %d first, want only the PCMU sentinel (%d)", h.pt, agentPCMU.PT)
		}
		if got := sentSettled(t, l.b, before+1) - before; got != 1 {
			t.Errorf("got %d packets sent to the agent, want 1", got)
		}
	})
}

// TestBridgeTranscodes: legs that chose different laws each hear their own.
func TestBridgeTranscodes(t *testing.T) {
	p := testPorts(t, 2)
	a, b := openEP(t, p), openEP(t, p)
	caller, agent := newPeer(t), newPeer(t)
	a.SetPeer(Peer{Addr: caller.addr(), Audio: pcmu})
	b.SetPeer(Peer{Addr: agent.addr(), Audio: pcma})
	br := NewBridge(a, b, BridgeOptions{})
	defer br.Stop()

	for _, c := range []struct {
		name     string
		from, to *udpPeer
		via      *Endpoint
		inPT     uint8
		enc      func(int16) byte
		outPT    uint8
		dec      func(byte) int16
	}{
		{"PCMU caller to PCMA agent", caller, agent, a, pcmu.PT, EncodeULaw, pcma.PT, DecodeALaw},
		{"PCMA agent to PCMU caller", agent, caller, b, pcma.PT, EncodeALaw, pcmu.PT, DecodeULaw},
	} {
		t.Run(c.name, func(t *testing.T) {
			samples := []int16{0, 1000, -1000, 12000, -32768, 32767}
			s := stream{ssrc: 0x7777}
			for _, v := range samples {
				c.from.send(t, c.via.Addr(), s.audio(c.inPT, c.enc(v)))
			}
			for _, v := range samples {
				h, pk := c.to.nextRTP(t)
				if h.pt != c.outPT {
					t.Fatalf("got PT %d, want %d", h.pt, c.outPT)
				}
				// Two quantisations stay within G.711's few per cent.
				got, tol := int(c.dec(pk[h.payload])), max(40, abs(int(v))/14)
				if abs(got-int(v)) > tol {
					t.Errorf("sample %d: got %d after transcoding, want within %d", v, got, tol)
				}
			}
		})
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func TestBridgeEvents(t *testing.T) {
	for _, c := range []struct {
		name                  string
		callerDTMF, agentDTMF Format
		fromAgent             bool
		wantPT                uint8 // PT the events arrive with; 0: dropped
	}{
		{"caller 101 reaches agent as 96", telEv101, telEv96, false, 96},
		{"agent 96 reaches caller as 101", telEv101, telEv96, true, 101},
		{"same number both sides", telEv101, telEv101, false, 101},
		{"dropped when the agent takes no events", telEv101, Format{}, false, 0},
		{"dropped when the caller takes no events", Format{}, telEv96, true, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLegs(t, c.callerDTMF, c.agentDTMF)
			from, to := l.caller, l.agent
			src, dst := l.a, l.b
			s, srcDTMF, dstAudio, side := &l.callerS, c.callerDTMF, agentPCMU.PT, 0
			if c.fromAgent {
				from, to = l.agent, l.caller
				src, dst = l.b, l.a
				s, srcDTMF, dstAudio, side = &l.agentS, c.agentDTMF, pcmu.PT, 1
			}
			srcAudio := src.Peer().Audio.PT

			press := s.press(srcDTMF.PT, 11)
			for _, b := range press {
				from.send(t, src.Addr(), b)
			}
			from.send(t, src.Addr(), s.audio(srcAudio, 0x55)) // sentinel

			var evTS []uint32
			if c.wantPT != 0 {
				for i, want := range press {
					h, b := to.nextRTP(t)
					if h.pt != c.wantPT {
						t.Fatalf("packet %d: got PT %d, want event PT %d", i, h.pt, c.wantPT)
					}
					wh, _ := parseRTP(want)
					if !bytes.Equal(b[h.payload:h.end], want[wh.payload:wh.end]) {
						t.Errorf("packet %d: got event % x, want % x", i, b[h.payload:h.end], want[wh.payload:wh.end])
					}
					evTS = append(evTS, h.ts)
				}
			}
			h, _ := to.nextRTP(t)
			if h.pt != dstAudio {
				t.Fatalf("got PT %d, want the audio sentinel (PT %d): events must not become audio", h.pt, dstAudio)
			}
			for i, ts := range evTS {
				if ts != evTS[0] {
					t.Errorf("event packet %d: got ts %d, want the press's %d", i, ts, evTS[0])
				}
			}
			if got, want := sentSettled(t, dst, uint64(len(evTS)+1)), uint64(len(evTS)+1); got != want {
				t.Errorf("got %d packets sent to the other leg, want %d", got, want)
			}
			// The sentinel came after the events on src's reader goroutine,
			// so an echo would already be counted.
			if got := src.Stats().Sent; got != 0 {
				t.Errorf("got %d packets sent back to the pressing leg, want 0", got)
			}
			if got, want := l.gotKeys(), []sideKey{{side, '#'}}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("got keys %v, want %v", got, want)
			}
		})
	}
}

func TestBridgeSwallow(t *testing.T) {
	p := testPorts(t, 2)
	a, b := openEP(t, p), openEP(t, p)
	caller, agent := newPeer(t), newPeer(t)
	a.SetPeer(Peer{Addr: caller.addr(), Audio: pcmu, DTMF: telEv101})
	b.SetPeer(Peer{Addr: agent.addr(), Audio: pcmu, DTMF: telEv101})
	br := NewBridge(a, b, BridgeOptions{Swallow: func(side int, d rune) bool { return side == 1 && d == '*' }})
	defer br.Stop()

	s := stream{ssrc: 9}
	for _, code := range []uint8{10, 1} { // '*' swallowed, '1' crosses
		for _, pk := range s.press(101, code) {
			agent.send(t, b.Addr(), pk)
		}
	}
	for i := range 5 {
		h, pk := caller.nextRTP(t)
		if got := pk[h.payload]; got != 1 {
			t.Fatalf("packet %d: got event %d, want only key 1 (event 1)", i, got)
		}
	}
}

// chanTap hands each tapped frame to the test.
type chanTap chan tapped

type tapped struct {
	side     int
	codec    Codec
	seq      uint16
	ts, ssrc uint32
	payload  []byte
}

func (c chanTap) Audio(side int, codec Codec, seq uint16, ts uint32, ssrc uint32, payload []byte) {
	c <- tapped{side, codec, seq, ts, ssrc, bytes.Clone(payload)}
}

func TestBridgeStripsHeaderExtras(t *testing.T) {
	audio := payloadOf(160, 0x7e)
	for _, c := range []struct {
		name string
		p    pkt
	}{
		{"plain", pkt{extLen: -1}},
		{"CSRCs", pkt{csrcs: 3, extLen: -1}},
		{"extension", pkt{extLen: 2}},
		{"padding", pkt{extLen: -1, pad: 4}},
		{"CSRCs, extension and padding", pkt{csrcs: 2, extLen: 1, pad: 4}},
		{"extension and padding", pkt{extLen: 0, pad: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tap := make(chanTap, 4)
			l := newTapLegs(t, telEv101, telEv96, tap)
			in := c.p
			in.seq, in.ts, in.ssrc, in.payload = 1, 160, 0xabcdef, audio
			l.caller.send(t, l.a.Addr(), in.build())
			got := l.agent.next(t)
			if len(got) != 12+len(audio) {
				t.Errorf("got %d bytes, want a 12-byte header and %d bytes of payload", len(got), len(audio))
			}
			if got[0] != 0x80 {
				t.Errorf("got first byte %#x, want 0x80 (no padding, extension or CSRCs)", got[0])
			}
			if len(got) >= 12 && !bytes.Equal(got[12:], audio) {
				t.Errorf("got payload of %d bytes ending % x, want %d bytes of %#x", len(got)-12, got[len(got)-4:], len(audio), audio[0])
			}
			// The tap runs after the relay moved the header: it must still
			// get the caller's own header values and the bare payload.
			select {
			case tp := <-tap:
				want := tapped{0, PCMU, in.seq, in.ts, in.ssrc, audio}
				if fmt.Sprint(tp) != fmt.Sprint(want) {
					t.Errorf("got tapped %v, want %v", tp, want)
				}
			case <-time.After(waitLimit):
				t.Fatal("gave up waiting for the tap")
			}
		})
	}
}

func TestEcho(t *testing.T) {
	e := openEP(t, testPorts(t, 1))
	peer := newPeer(t)
	e.SetPeer(Peer{Addr: peer.addr(), Audio: pcmu, DTMF: telEv101})
	e.Echo(nil)

	s := stream{ssrc: 0x5555}
	sent := [][]byte{s.audio(0, 1), s.audio(0, 2), s.audio(13, 3), s.press(101, 4)[0], s.audio(0, 5)}
	wantPT := []uint8{0, 0, 101, 0} // comfort noise is not echoed
	for _, b := range sent {
		peer.send(t, e.Addr(), b)
	}
	var prev rtpHeader
	for i, pt := range wantPT {
		h, _ := peer.nextRTP(t)
		if h.pt != pt || h.ssrc != e.ssrc {
			t.Errorf("packet %d: got PT %d SSRC %#x, want PT %d SSRC %#x", i, h.pt, h.ssrc, pt, e.ssrc)
		}
		if i > 0 && int16(h.seq-prev.seq) <= 0 {
			t.Errorf("packet %d: got seq %d after %d, want it to increase", i, h.seq, prev.seq)
		}
		prev = h
	}
	if got := sentSettled(t, e, uint64(len(wantPT))); got != uint64(len(wantPT)) {
		t.Errorf("got %d packets echoed, want %d", got, len(wantPT))
	}
}

func TestEndpointClose(t *testing.T) {
	p := testPorts(t, 1)
	e, err := p.Open()
	if err != nil {
		t.Fatal(err)
	}
	peer := newPeer(t)
	e.SetPeer(Peer{Addr: peer.addr(), Audio: pcmu})
	e.Echo(nil)

	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs { // concurrent and repeated Close
		wg.Go(func() { errs[i] = e.Close() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Close %d: got %v, want nil", i, err)
		}
	}
	if err := e.Close(); err != nil {
		t.Errorf("Close again: got %v, want nil", err)
	}
	select {
	case <-e.readDone:
	default:
		t.Error("reader goroutine still running after Close")
	}
	if got := p.InUse(); got != 0 {
		t.Errorf("got %d ports in use, want 0", got)
	}
	if err := e.writeFrame(false, 0, 0, make([]byte, 160)); err == nil {
		t.Error("got no error writing on a closed endpoint")
	}
	e2 := openEP(t, p)
	if e2.Port() != e.Port() {
		t.Errorf("got port %d, want the released %d", e2.Port(), e.Port())
	}
}

func TestPlay(t *testing.T) {
	const sample = 1000
	for _, c := range []struct {
		name    string
		codec   Audio
		samples int
		encode  func(int16) byte
	}{
		{"PCMU 0.2 s", pcmu, 1600, EncodeULaw},
		{"PCMA 0.2 s", pcma, 1600, EncodeALaw},
		{"last frame padded with silence", pcmu, 1600 + 40, EncodeULaw},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := openEP(t, testPorts(t, 1))
			peer := newPeer(t)
			e.SetPeer(Peer{Addr: peer.addr(), Audio: c.codec})
			pcm := make([]int16, c.samples)
			for i := range pcm {
				pcm[i] = sample
			}
			if err := e.Play(t.Context(), pcm); err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			frames := (c.samples + 159) / 160
			if got := e.Stats().Sent; got != uint64(frames) {
				t.Fatalf("got %d frames sent, want %d", got, frames)
			}
			var first rtpHeader
			for i := range frames {
				h, b := peer.nextRTP(t)
				if i == 0 {
					first = h
				}
				want := rtpHeader{marker: i == 0, pt: c.codec.PT, seq: first.seq + uint16(i),
					ts: first.ts + uint32(160*i), ssrc: e.ssrc, payload: 12, end: 172}
				if h != want {
					t.Errorf("frame %d: got %+v, want %+v", i, h, want)
					continue
				}
				for j, v := range b[12:] {
					wantB := c.encode(sample)
					if 160*i+j >= c.samples {
						wantB = c.encode(0)
					}
					if v != wantB {
						t.Errorf("frame %d byte %d: got %#x, want %#x", i, j, v, wantB)
						break
					}
				}
			}
		})
	}
}

func TestPlayContinuesStream(t *testing.T) {
	e := openEP(t, testPorts(t, 1))
	peer := newPeer(t)
	e.SetPeer(Peer{Addr: peer.addr(), Audio: pcmu})
	pcm := make([]int16, 320)
	var hs []rtpHeader
	for range 2 {
		if err := e.Play(t.Context(), pcm); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			h, _ := peer.nextRTP(t)
			hs = append(hs, h)
		}
	}
	if hs[2].seq != hs[1].seq+1 || hs[2].ssrc != hs[1].ssrc {
		t.Errorf("second prompt: got seq %d SSRC %#x, want %d %#x", hs[2].seq, hs[2].ssrc, hs[1].seq+1, hs[1].ssrc)
	}
	if d := int32(hs[2].ts - hs[1].ts); d < 160 {
		t.Errorf("second prompt: got ts step %d, want at least 160", d)
	}
	if !hs[2].marker {
		t.Error("second prompt: got no marker on its first frame")
	}
}

func TestPlayShortCircuits(t *testing.T) {
	t.Run("no peer", func(t *testing.T) {
		e := openEP(t, testPorts(t, 1))
		if err := e.Play(t.Context(), make([]int16, 1600)); err != nil {
			t.Errorf("got %v, want nil", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		e := openEP(t, testPorts(t, 1))
		e.SetPeer(Peer{Addr: newPeer(t).addr(), Audio: pcmu})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := e.Play(ctx, make([]int16, 1600)); !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		if got := e.Stats().Sent; got != 0 {
			t.Errorf("got %d frames sent, want 0", got)
		}
	})
}

// TestSendKeyStopsWithContext: a long key press being sent ends when its
// context does, rather than sleeping out its duration (up to 8 s).
func TestSendKeyStopsWithContext(t *testing.T) {
	e := openEP(t, testPorts(t, 1))
	peer := newPeer(t)
	e.SetPeer(Peer{Addr: peer.addr(), Audio: pcmu, DTMF: telEv101})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.SendKey(ctx, '5', 8*time.Second) }()
	if h, ok := parseRTP(peer.next(t)); !ok || h.pt != telEv101.PT {
		t.Fatalf("got %+v, want a telephone-event packet first", h)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("SendKey went on after its context ended")
	}
}
