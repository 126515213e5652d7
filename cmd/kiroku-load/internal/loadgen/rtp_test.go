package loadgen

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeLeg stands in for one kirokud RTP endpoint: it relays what its peer
// side sends to the other leg's peer, from the other leg's socket, with
// sequence numbers moved by a constant (as kirokud's relay does).
type fakeLeg struct {
	conn *net.UDPConn
	peer netip.AddrPort // the generator side this leg faces
}

type fakeRelay struct {
	t    *testing.T
	legs [2]*fakeLeg
	drop func(dir int, seq uint16) bool

	mu        sync.Mutex
	forwarded [2][]uint16 // rewritten sequence numbers sent on, per direction
	dropped   [2][]uint16
	wg        sync.WaitGroup
}

func newFakeRelay(t *testing.T, caller, agent *rtpSide, drop func(int, uint16) bool) *fakeRelay {
	t.Helper()
	r := &fakeRelay{t: t, drop: drop}
	for i, side := range []*rtpSide{caller, agent} {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		r.legs[i] = &fakeLeg{conn: c, peer: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(side.Port()))}
	}
	for dir := range 2 {
		r.wg.Add(1)
		go r.run(dir)
	}
	t.Cleanup(func() {
		for _, l := range r.legs {
			l.conn.Close()
		}
		r.wg.Wait()
	})
	return r
}

func (r *fakeRelay) addr(leg int) netip.AddrPort {
	return r.legs[leg].conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// run relays direction dir: 0 reads leg 0 (from callers) and sends from
// leg 1 to the agents' side; 1 the other way.
func (r *fakeRelay) run(dir int) {
	defer r.wg.Done()
	in, out := r.legs[dir], r.legs[1-dir]
	buf := make([]byte, 1500)
	for {
		n, _, err := in.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		seq := binary.BigEndian.Uint16(buf[2:]) + 1000
		binary.BigEndian.PutUint16(buf[2:], seq)
		r.mu.Lock()
		if r.drop(dir, seq) {
			r.dropped[dir] = append(r.dropped[dir], seq)
			r.mu.Unlock()
			continue
		}
		r.forwarded[dir] = append(r.forwarded[dir], seq)
		r.mu.Unlock()
		out.conn.WriteToUDPAddrPort(buf[:n], out.peer)
	}
}

func (r *fakeRelay) count(dir int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.forwarded[dir])
}

// lostBetween counts the dropped sequence numbers inside the span of the
// forwarded ones: what a receiver can tell was lost.
func (r *fakeRelay) lostBetween(dir int) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.forwarded[dir]
	if len(f) == 0 {
		return 0
	}
	var n uint64
	for _, s := range r.dropped[dir] {
		if int16(s-f[0]) > 0 && int16(f[len(f)-1]-s) > 0 {
			n++
		}
	}
	return n
}

func waitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRTPSidesCountThroughRelay: two generator sides talk through a relay
// that drops every 7th packet one way; each side counts what was relayed
// and what was lost exactly, tells the relay's own packets (a notice) from
// relayed audio, and measures transits.
func TestRTPSidesCountThroughRelay(t *testing.T) {
	var phase atomic.Int32
	caller, err := listenRTPSide("caller", toneFrame(callerHz), toneFrame(agentHz), 1<<20, &phase)
	if err != nil {
		t.Fatal(err)
	}
	agent, err := listenRTPSide("agent", toneFrame(agentHz), toneFrame(callerHz), 1<<20, &phase)
	if err != nil {
		t.Fatal(err)
	}
	relay := newFakeRelay(t, caller, agent, func(dir int, seq uint16) bool { return dir == 0 && seq%7 == 0 })
	caller.start()
	agent.start()
	defer caller.close()
	defer agent.close()

	cs := caller.open(relay.addr(0)) // the caller's kirokud leg
	as := agent.open(relay.addr(1))
	// Kirokud's own audio towards the caller (the notice) counts as
	// received, not as relayed.
	notice := make([]byte, pktSize)
	putHeader(notice, true, 0, 1, 1, 0xabcdef)
	for range 5 {
		relay.legs[0].conn.WriteToUDPAddrPort(notice, relay.legs[0].peer)
	}
	waitCond(t, "the notice at the caller", func() bool { return cs.received.Load() == 5 })
	caller.send(cs)
	agent.send(as)
	waitCond(t, "40 packets relayed each way", func() bool { return relay.count(0) >= 40 && relay.count(1) >= 40 })
	caller.silence(cs)
	agent.silence(as)
	waitCond(t, "every relayed packet to arrive", func() bool {
		return as.relayed.Load() == uint64(relay.count(0)) && cs.relayed.Load() == uint64(relay.count(1))
	})
	caller.close()
	agent.close()

	if got, want := as.rx.lost(), relay.lostBetween(0); got != want || want == 0 {
		t.Errorf("caller to agent: got %d lost, want %d (the relay's drops, more than 0)", got, want)
	}
	if got := cs.rx.lost(); got != 0 {
		t.Errorf("agent to caller: got %d lost, want 0", got)
	}
	if got, want := cs.received.Load(), cs.relayed.Load()+5; got != want {
		t.Errorf("caller side: got %d received, want %d (relayed + 5 notice packets)", got, want)
	}
	if got := cs.sent.Load(); got < 40 {
		t.Errorf("caller side: got %d sent, want at least 40", got)
	}
	var samples uint64
	for _, n := range agent.transit[phaseRamp].n {
		samples += n
	}
	if samples != as.relayed.Load() {
		t.Errorf("got %d transit samples, want one per relayed packet (%d)", samples, as.relayed.Load())
	}
	if !caller.stamped {
		t.Log("kernel receive timestamps unavailable: transits measured at read time")
	}
	if n := caller.stray.Load() + agent.stray.Load(); n != 0 {
		t.Errorf("got %d stray packets, want 0", n)
	}
}

// TestSilenceKeepsOthersSending: taking one stream out of a slot leaves the
// others in it sending.
func TestSilenceKeepsOthersSending(t *testing.T) {
	var phase atomic.Int32
	s, err := listenRTPSide("caller", toneFrame(callerHz), toneFrame(agentHz), 1<<20, &phase)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	var sts []*stream
	for range 2 * slots {
		st := s.open(sink.LocalAddr().(*net.UDPAddr).AddrPort())
		s.send(st)
		sts = append(sts, st)
	}
	s.silence(sts[3])
	s.silence(sts[3]) // twice is harmless
	s.start()
	waitCond(t, "every other stream to send", func() bool {
		for i, st := range sts {
			if i != 3 && st.sent.Load() < 3 {
				return false
			}
		}
		return true
	})
	if n := sts[3].sent.Load(); n != 0 {
		t.Errorf("got %d packets from a silenced stream, want 0", n)
	}
}
