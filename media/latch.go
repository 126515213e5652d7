package media

import "net/netip"

// Where a leg's RTP may come from. In strict mode (the default) only the
// address and port of the peer's SDP are taken: anything else could be
// injected audio (RTP bleed). In learn mode the endpoint pins to the
// source of the first packet that is the peer's stream — RTP carrying a
// negotiated payload type (its audio or telephone-event), and with SRTP
// only a packet that authenticates — and sends there from then on, as
// rtpengine and SBCs do for callers behind NAT or load balancers. A new
// SDP address (a re-INVITE) is learned afresh.
//
// Until it has learned a source, a learning endpoint sends nothing (the
// packets are counted as held) unless the peer said it will not send
// (recvonly): the SDP address of a peer behind NAT is a private address
// that is not the peer's, and may be someone else's.

// foreignAfter is how many RTP packets from one address other than the
// SDP's make it a source that keeps sending rather than a stray packet.
const foreignAfter = 10

// latch is a learned source, for the SDP address it was learned under.
type latch struct {
	sdp, from netip.AddrPort
}

// Foreign is an address other than the SDP's that kept sending the
// peer's stream.
type Foreign struct {
	SDP, From netip.AddrPort
	Taken     bool // learn mode: its packets are the leg's audio
}

// Source says where a leg's RTP came from, for the manifest.
type Source struct {
	Learn   bool
	SDP     netip.AddrPort // the peer's SDP address (invalid on hold or before SetPeer)
	Latched netip.AddrPort // learn mode: the source pinned to; invalid until one is
	// Foreign is the first address other than the SDP's that kept
	// sending (invalid if none); ForeignPackets counts the RTP packets
	// with a negotiated payload type from any address other than the
	// SDP's, taken or not.
	Foreign        netip.AddrPort
	ForeignPackets uint64
	Held           uint64 // packets not sent: learn mode, no source learned yet
}

// SetLearning puts the endpoint in learn mode (on) or strict mode.
func (e *Endpoint) SetLearning(on bool) { e.learn.Store(on) }

// OnForeign calls f, once per endpoint, on the reader goroutine when RTP
// keeps arriving from an address other than the peer's SDP address. f
// must not block.
func (e *Endpoint) OnForeign(f func(Foreign)) { e.onForeign.Store(&f) }

// Source reports where the leg's RTP came from.
func (e *Endpoint) Source() Source {
	s := Source{Learn: e.learn.Load(), ForeignPackets: e.foreignPkts.Load(), Held: e.held.Load()}
	if p := e.peer.Load(); p != nil {
		s.SDP = p.Addr
		if l := e.latchFor(p); l != nil {
			s.Latched = l.from
		}
	}
	if f := e.foreign.Load(); f != nil {
		s.Foreign = *f
	}
	return s
}

// latchFor is the source learned for p's SDP address, nil if none.
func (e *Endpoint) latchFor(p *Peer) *latch {
	if l := e.latched.Load(); l != nil && l.sdp == p.Addr {
		return l
	}
	return nil
}

// negotiated reports whether pt is one of the peer's payload types.
func (p *Peer) negotiated(pt uint8) bool {
	return (p.Audio.Codec != nil && pt == p.Audio.PT) || (p.DTMF.Name != "" && pt == p.DTMF.PT)
}

// dest is where to send to p, ok false when nothing is to be sent: on
// hold, or learning with no source learned yet from a peer that sends.
func (e *Endpoint) dest(p *Peer) (to netip.AddrPort, ok bool) {
	if p == nil || !p.Addr.IsValid() {
		return to, false
	}
	if !e.learn.Load() {
		return p.Addr, true
	}
	if l := e.latchFor(p); l != nil {
		return l.from, true
	}
	if p.Direction == RecvOnly || p.Direction == Inactive {
		return p.Addr, true // it will never send: nothing to learn from
	}
	e.held.Add(1)
	return to, false
}

// noteForeign counts a packet of the peer's stream (by its RTP header:
// a rejected SRTP packet is not decrypted for it) from an address other than
// the SDP's, and reports the first such address that keeps sending.
// It runs on the reader goroutine only.
func (e *Endpoint) noteForeign(p *Peer, from netip.AddrPort, pkt []byte, taken bool) {
	h, ok := parseRTP(pkt)
	if !ok || !p.negotiated(h.pt) {
		return
	}
	e.foreignPkts.Add(1)
	if e.foreign.Load() != nil {
		return
	}
	if from != e.fcand {
		e.fcand, e.fcount = from, 0
	}
	e.fcount++
	if e.fcount < foreignAfter {
		return
	}
	e.foreign.Store(&from)
	if f := e.onForeign.Load(); f != nil {
		(*f)(Foreign{SDP: p.Addr, From: from, Taken: taken})
	}
}
