package media

import "testing"

// foreignReports collects what OnForeign reports.
func foreignReports(e *Endpoint) chan Foreign {
	ch := make(chan Foreign, 4)
	e.OnForeign(func(f Foreign) { ch <- f })
	return ch
}

// quiet fails if p got a packet: checked after the packets that had to
// arrive did, on a socket nothing else sends to.
func quiet(t *testing.T, what string, p *udpPeer) {
	t.Helper()
	select {
	case b := <-p.pkts:
		t.Errorf("%s got a packet (% x), want none", what, b[:min(len(b), 12)])
	default:
	}
}

// TestLatching sends the caller's stream from an address other than the
// SDP's (a NAT), after junk from a third address: strict mode drops it,
// learn mode ignores the junk, pins to the NAT and answers there; both
// report the foreign source once with both addresses.
func TestLatching(t *testing.T) {
	for _, c := range []struct {
		name         string
		learn        bool
		wantReceived uint64
		wantTaken    bool
	}{
		{"strict drops the NAT's packets", false, 0, false},
		{"learn pins to the NAT", true, foreignAfter + 2, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := openEP(t, testPorts(t, 1))
			sdp, nat, junk := newPeer(t), newPeer(t), newPeer(t)
			reports := foreignReports(e)
			e.SetLearning(c.learn)
			e.SetPeer(Peer{Addr: sdp.addr(), Audio: pcmu, DTMF: telEv101, Direction: SendRecv})
			e.Echo(nil)

			j := stream{ssrc: 7}
			junk.send(t, e.Addr(), []byte("not rtp at all"))
			junk.send(t, e.Addr(), j.audio(96, 1)) // RTP, but no payload type of the peer's
			junk.send(t, e.Addr(), j.audio(8, 1))
			waitFor(t, "the junk counted", func() bool { return e.Stats().Rejected == 3 })
			if got := e.Source().Latched; got.IsValid() {
				t.Fatalf("got latched to %v by junk, want no source yet", got)
			}

			s := stream{ssrc: 1}
			n := foreignAfter + 2
			for i := range n {
				nat.send(t, e.Addr(), s.audio(0, byte(i)))
				if c.learn {
					nat.nextRTP(t) // the echo comes back to the NAT
				}
			}
			waitFor(t, "the stream counted", func() bool { st := e.Stats(); return st.Received+st.Rejected == uint64(3+n) })
			junk.send(t, e.Addr(), j.audio(0, 2)) // after pinning, another source is refused
			waitFor(t, "the late junk counted", func() bool { st := e.Stats(); return st.Received+st.Rejected == uint64(4+n) })

			if got := e.Stats().Received; got != c.wantReceived {
				t.Errorf("got %d received, want %d", got, c.wantReceived)
			}
			var f Foreign
			select {
			case f = <-reports:
			default:
				t.Fatal("got no foreign source report")
			}
			if want := (Foreign{SDP: sdp.addr(), From: nat.addr(), Taken: c.wantTaken}); f != want {
				t.Errorf("got report %+v, want %+v", f, want)
			}
			if len(reports) != 0 {
				t.Errorf("got %d more reports, want one in all", len(reports))
			}
			src := e.Source()
			want := Source{Learn: c.learn, SDP: sdp.addr(), Foreign: nat.addr(), ForeignPackets: uint64(n + 1)}
			if c.learn {
				want.Latched = nat.addr()
			}
			if src != want {
				t.Errorf("got source %+v, want %+v", src, want)
			}
			quiet(t, "the SDP address", sdp)
			quiet(t, "the junk's address", junk)
		})
	}
}

// TestLearnRelearns keeps the learned source across a SetPeer with the
// same address (a re-INVITE that changes only the direction) and learns
// again when the address changes.
func TestLearnRelearns(t *testing.T) {
	e := openEP(t, testPorts(t, 1))
	sdp, first, second := newPeer(t), newPeer(t), newPeer(t)
	e.SetLearning(true)
	e.SetPeer(Peer{Addr: sdp.addr(), Audio: pcmu, Direction: SendRecv})
	e.Echo(nil)
	s := stream{ssrc: 1}
	first.send(t, e.Addr(), s.audio(0, 1))
	first.nextRTP(t)

	e.SetPeer(Peer{Addr: sdp.addr(), Audio: pcmu, Direction: SendRecv})
	second.send(t, e.Addr(), s.audio(0, 2))
	waitFor(t, "the second source refused", func() bool { return e.Stats().Rejected == 1 })
	if got := e.Source().Latched; got != first.addr() {
		t.Fatalf("after a SetPeer with the same address: got latched %v, want %v", got, first.addr())
	}

	moved := newPeer(t)
	e.SetPeer(Peer{Addr: moved.addr(), Audio: pcmu, Direction: SendRecv})
	if got := e.Source().Latched; got.IsValid() {
		t.Fatalf("after a new address: got latched %v, want none until a packet comes", got)
	}
	second.send(t, e.Addr(), s.audio(0, 3))
	second.nextRTP(t)
	first.send(t, e.Addr(), s.audio(0, 4))
	waitFor(t, "the old source refused", func() bool { return e.Stats().Rejected == 2 })
	if got := e.Source().Latched; got != second.addr() {
		t.Errorf("got latched %v, want %v", got, second.addr())
	}
	quiet(t, "the first SDP address", sdp)
	quiet(t, "the second SDP address", moved)
	quiet(t, "the old source", first)
}

// TestLearnHolds sends nothing to the SDP address of a learning leg
// until a source is learned, unless the peer said it will not send.
func TestLearnHolds(t *testing.T) {
	pcm := make([]int16, 3*160)
	for _, c := range []struct {
		name     string
		dir      string
		wantSent uint64
		wantHeld uint64
	}{
		{"sendrecv peer: held", SendRecv, 0, 3},
		{"recvonly peer: sent to its SDP address", RecvOnly, 3, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := openEP(t, testPorts(t, 1))
			sdp := newPeer(t)
			e.SetLearning(true)
			e.SetPeer(Peer{Addr: sdp.addr(), Audio: pcmu, Direction: c.dir})
			if err := e.Play(t.Context(), pcm); err != nil {
				t.Fatal(err)
			}
			for range c.wantSent {
				sdp.nextRTP(t)
			}
			st, src := e.Stats(), e.Source()
			if st.Sent != c.wantSent || src.Held != c.wantHeld {
				t.Errorf("got %d sent and %d held, want %d and %d", st.Sent, src.Held, c.wantSent, c.wantHeld)
			}
			quiet(t, "the SDP address", sdp)
		})
	}
}

// TestLearnSRTP pins an SRTP leg only to a source whose packets
// authenticate: a stranger's plain or forged packets with the right
// payload type do not move it.
func TestLearnSRTP(t *testing.T) {
	e := openEP(t, testPorts(t, 1))
	sdp, stranger, nat := newPeer(t), newPeer(t), newPeer(t)
	ours, err := NewCrypto(1, DefaultSuite)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := NewCrypto(1, DefaultSuite)
	if err != nil {
		t.Fatal(err)
	}
	e.SetLearning(true)
	e.SetPeer(Peer{Addr: sdp.addr(), Audio: pcmu, Direction: SendRecv})
	if err := e.SetSRTP(ours, theirs); err != nil {
		t.Fatal(err)
	}
	e.Echo(nil)
	other, err := NewCrypto(1, DefaultSuite)
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := newContext(other)
	if err != nil {
		t.Fatal(err)
	}
	s := stream{ssrc: 9}
	forged, err := wrong.EncryptRTP(nil, s.audio(0, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	stranger.send(t, e.Addr(), s.audio(0, 1))
	stranger.send(t, e.Addr(), forged)
	waitFor(t, "the stranger's packets refused", func() bool { return e.Stats().Unauthenticated == 2 })
	if got := e.Source().Latched; got.IsValid() {
		t.Fatalf("got latched to %v by unauthenticated packets, want none", got)
	}
	enc, err := newContext(theirs)
	if err != nil {
		t.Fatal(err)
	}
	good, err := enc.EncryptRTP(nil, s.audio(0, 2), nil)
	if err != nil {
		t.Fatal(err)
	}
	nat.send(t, e.Addr(), good)
	nat.next(t)
	if got, want := e.Source().Latched, nat.addr(); got != want {
		t.Errorf("got latched %v, want %v", got, want)
	}
	quiet(t, "the SDP address", sdp)
	quiet(t, "the stranger", stranger)
}

// TestSourceBeforePeer reports nothing for an endpoint without a peer.
func TestSourceBeforePeer(t *testing.T) {
	e := openEP(t, testPorts(t, 1))
	if got, want := e.Source(), (Source{}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
