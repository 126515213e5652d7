package media

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Peer is what the far end of a leg negotiated: where it takes RTP, the
// audio format both sides use, its telephone-event number and direction.
type Peer struct {
	Addr      netip.AddrPort // invalid while on hold by c=0.0.0.0
	Audio     Audio
	DTMF      Format // empty Name: the peer takes no RFC 4733 events
	Direction string
}

// clockRate is the RTP clock of the peer's stream: its codec's, or for a
// peer negotiated for events only, the events'.
func (p *Peer) clockRate() int {
	if p.Audio.Codec != nil {
		return p.Audio.Codec.ClockRate()
	}
	return TelephoneEvent.Rate
}

// frameTicks is one 20 ms packet of the peer's stream, in RTP timestamp
// units.
func (p *Peer) frameTicks() uint32 {
	if p.Audio.Codec != nil {
		return uint32(frameTicks(p.Audio.Codec))
	}
	return uint32(TelephoneEvent.Rate * ptime / 1000)
}

// handler receives every RTP packet accepted on an endpoint, on the
// endpoint's reader goroutine. pkt is only valid during the call.
type handler interface {
	handleRTP(src *Endpoint, pkt []byte, h rtpHeader)
}

type handlerBox struct{ h handler }

// Stats counts what an endpoint saw and sent.
type Stats struct {
	Received uint64 // packets accepted from the peer
	Rejected uint64 // packets dropped: wrong source address or not RTP
	Sent     uint64
	Events   uint64 // RFC 4733 packets received
	// Unauthenticated counts SRTP packets that failed authentication or
	// replay checks (also counted in Rejected).
	Unauthenticated uint64
}

// Endpoint is our RTP socket facing one leg of a call. One goroutine reads
// it for its whole life and hands packets to the current handler, so phases
// (notice, bridge, echo) switch without read deadlines or channel hops.
type Endpoint struct {
	ports *Ports
	conn  *net.UDPConn
	rtcp  *net.UDPConn
	port  int

	peer    atomic.Pointer[Peer]
	handler atomic.Pointer[handlerBox]
	lastRx  atomic.Int64 // unix nanoseconds of the last accepted packet

	received, rejected, sent, events, panics, unauth atomic.Uint64

	// Source latching (latch.go): the mode, the learned source, and the
	// foreign source seen; fcand and fcount belong to the reader.
	learn       atomic.Bool
	latched     atomic.Pointer[latch]
	foreign     atomic.Pointer[netip.AddrPort]
	onForeign   atomic.Pointer[func(Foreign)]
	foreignPkts atomic.Uint64
	held        atomic.Uint64
	fcand       netip.AddrPort
	fcount      int

	// SRTP (nil for plain RTP): decrypted on the reader goroutine,
	// encrypted by whichever goroutine sends.
	srtp atomic.Pointer[srtpPair]

	// Outgoing stream: one SSRC for everything we send on this leg, with
	// sequence and timestamp carried across sources (notice, relay, echo).
	wmu      sync.Mutex
	ssrc     uint32
	seq      uint16
	ts       uint32
	wrote    bool
	src      *Endpoint // source of the relayed stream
	srcSSRC  uint32
	seqOff   uint16
	tsOff    uint32
	lastOut  time.Time
	wbuf     [1500]byte
	readDone chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// Open binds a new endpoint on the pool's address and starts its reader.
func (p *Ports) Open() (*Endpoint, error) {
	rtpConn, rtcpConn, err := p.listen()
	if err != nil {
		return nil, err
	}
	e := &Endpoint{
		ports:    p,
		conn:     rtpConn,
		rtcp:     rtcpConn,
		port:     rtpConn.LocalAddr().(*net.UDPAddr).Port,
		ssrc:     rand.Uint32(),
		seq:      uint16(rand.Uint32()),
		ts:       rand.Uint32(),
		readDone: make(chan struct{}),
	}
	go e.readLoop()
	return e, nil
}

// Port is the local RTP port.
func (e *Endpoint) Port() int { return e.port }

// Advertised is the address our SDP names for this endpoint.
func (e *Endpoint) Advertised() netip.Addr { return e.ports.Advertised() }

// Addr is the local RTP address.
func (e *Endpoint) Addr() netip.AddrPort {
	return netip.AddrPortFrom(e.ports.ip, uint16(e.port))
}

// SetPeer records the far end's negotiated parameters; RTP is accepted
// only from p.Addr from now on, or in learn mode from the source learned
// for it (a changed address is learned afresh).
func (e *Endpoint) SetPeer(p Peer) {
	if old := e.peer.Swap(&p); old == nil || old.Addr != p.Addr {
		e.latched.Store(nil)
	}
}

// Peer returns the far end's parameters, nil before SetPeer.
func (e *Endpoint) Peer() *Peer { return e.peer.Load() }

// Stats returns the endpoint's counters.
func (e *Endpoint) Stats() Stats {
	return Stats{Received: e.received.Load(), Rejected: e.rejected.Load(), Sent: e.sent.Load(), Events: e.events.Load(),
		Unauthenticated: e.unauth.Load()}
}

// SetSRTP makes the leg SRTP: what the peer sends is decrypted with
// remote's key (and dropped when it fails authentication), what we send
// is encrypted with local's. Calling it again with the same keys keeps the
// streams' rollover and replay state; a changed key (a re-INVITE that
// re-keys) starts that direction afresh.
func (e *Endpoint) SetSRTP(local, remote Crypto) error {
	old := e.srtp.Load()
	if old != nil && sameCrypto(old.local, local) && sameCrypto(old.remote, remote) {
		return nil
	}
	p, err := newSRTPPair(local, remote)
	if err != nil {
		return err
	}
	if old != nil && sameCrypto(old.local, local) {
		p.out = old.out
	}
	if old != nil && sameCrypto(old.remote, remote) {
		p.in = old.in
	}
	e.srtp.Store(p)
	return nil
}

// ClearSRTP makes the leg plain RTP again: a downstream whose early media
// was SRTP failed, and the next one is tried on the same endpoint.
func (e *Endpoint) ClearSRTP() { e.srtp.Store(nil) }

// SRTP returns the leg's keys, ok false for plain RTP.
func (e *Endpoint) SRTP() (local, remote Crypto, ok bool) {
	p := e.srtp.Load()
	if p == nil {
		return Crypto{}, Crypto{}, false
	}
	return p.local, p.remote, true
}

// decrypt authenticates and decrypts one SRTP packet into the pair's
// buffer (valid until the next call, on the reader goroutine); a panic in
// the library on hostile input loses the packet, not the daemon.
func decrypt(p *srtpPair, pkt []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("srtp: %v", r)
		}
	}()
	return p.in.ctx.DecryptRTP(p.in.buf[:0], pkt, &p.in.hdr)
}

func sameCrypto(a, b Crypto) bool {
	return a.Suite == b.Suite && string(a.Key) == string(b.Key)
}

// send writes one RTP packet to the peer, encrypted when the leg is SRTP.
func (e *Endpoint) send(b []byte, to netip.AddrPort) error {
	if p := e.srtp.Load(); p != nil {
		s := p.out
		s.mu.Lock()
		defer s.mu.Unlock()
		enc, err := s.ctx.EncryptRTP(s.buf[:0], b, &s.hdr)
		if err != nil {
			return err
		}
		b = enc
	}
	_, err := e.conn.WriteToUDPAddrPort(b, to)
	return err
}

// LastReceived is when the last RTP packet was accepted (zero if never).
func (e *Endpoint) LastReceived() time.Time {
	n := e.lastRx.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func (e *Endpoint) setHandler(h handler) {
	if h == nil {
		e.handler.Store(nil)
		return
	}
	e.handler.Store(&handlerBox{h: h})
}

func (e *Endpoint) readLoop() {
	defer close(e.readDone)
	var buf [1500]byte
	for {
		n, from, err := e.conn.ReadFromUDPAddrPort(buf[:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP port unreachable surfaced on Linux
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		p := e.peer.Load()
		if p == nil || !p.Addr.IsValid() {
			e.rejected.Add(1)
			continue
		}
		pkt := buf[:n]
		// RTP is taken only from the address and port the peer put in its
		// SDP, or in learn mode from the source learned (latch.go): a
		// packet from anywhere else could be injected audio.
		var l *latch
		if e.learn.Load() {
			l = e.latchFor(p)
		}
		learning := e.learn.Load() && l == nil
		if !learning && from != p.Addr && (l == nil || from != l.from) {
			e.noteForeign(p, from, pkt, false)
			e.rejected.Add(1)
			continue
		}
		if sp := e.srtp.Load(); sp != nil {
			dec, err := decrypt(sp, pkt)
			if err != nil {
				// Wrong key, forged, replayed or not SRTP at all.
				e.rejected.Add(1)
				e.unauth.Add(1)
				continue
			}
			pkt = dec
		}
		h, ok := parseRTP(pkt)
		if !ok {
			e.rejected.Add(1)
			continue
		}
		if learning {
			if !p.negotiated(h.pt) {
				if from != p.Addr { // junk is no reason to pin to its source
					e.rejected.Add(1)
					continue
				}
			} else {
				e.latched.Store(&latch{sdp: p.Addr, from: from})
			}
		}
		if from != p.Addr {
			e.noteForeign(p, from, pkt, true)
		}
		e.received.Add(1)
		e.lastRx.Store(time.Now().UnixNano())
		if p.DTMF.Name != "" && h.pt == p.DTMF.PT {
			e.events.Add(1)
		}
		if b := e.handler.Load(); b != nil {
			e.handle(b.h, pkt, h)
		}
	}
}

// handle runs a handler on one packet; a panic there loses the packet,
// not the daemon.
func (e *Endpoint) handle(h handler, pkt []byte, hdr rtpHeader) {
	defer func() {
		if r := recover(); r != nil {
			e.panics.Add(1)
		}
	}()
	h.handleRTP(e, pkt, hdr)
}

// Panics counts packets whose handling panicked (a bug, never expected).
func (e *Endpoint) Panics() uint64 { return e.panics.Load() }

// writeFrame sends a payload we generate (notice audio, our own events).
func (e *Endpoint) writeFrame(marker bool, pt uint8, ts uint32, payload []byte) error {
	p := e.peer.Load()
	to, ok := e.dest(p)
	if !ok {
		return nil // on hold the old way, or no source learned yet
	}
	e.wmu.Lock()
	defer e.wmu.Unlock()
	e.seq++
	e.src = nil
	e.wrote = true
	e.lastOut = time.Now()
	putRTP(e.wbuf[:], marker, pt, e.seq, ts, e.ssrc)
	n := copy(e.wbuf[12:], payload)
	err := e.send(e.wbuf[:12+n], to)
	if err == nil {
		e.sent.Add(1)
	}
	return err
}

// nextTS advances our timestamp by the wall time since the last packet we
// sent (at least one frame), so a silence between phases keeps its length.
func (e *Endpoint) nextTS(p *Peer, samples uint32) uint32 {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	if e.wrote {
		el := uint32(time.Since(e.lastOut) / (time.Second / time.Duration(p.clockRate())))
		e.ts += max(samples, el/samples*samples)
	}
	return e.ts
}

// relay forwards a packet received on src to this endpoint's peer,
// rewriting SSRC, sequence number, timestamp and payload type in place.
func (e *Endpoint) relay(src *Endpoint, pkt []byte, h rtpHeader, pt uint8) {
	p := e.peer.Load()
	to, ok := e.dest(p)
	if !ok {
		return
	}
	e.wmu.Lock()
	marker := h.marker
	if e.src != src || e.srcSSRC != h.ssrc {
		// A new source (or an SSRC change within it): continue our own
		// sequence and timestamp from where we stopped.
		gap := p.frameTicks()
		if e.wrote {
			el := uint32(time.Since(e.lastOut) / (time.Second / time.Duration(p.clockRate())))
			gap = max(gap, el)
		}
		e.seqOff = e.seq + 1 - h.seq
		e.tsOff = e.ts + gap - h.ts
		e.src, e.srcSSRC = src, h.ssrc
		marker = true
	}
	seq, ts := h.seq+e.seqOff, h.ts+e.tsOff
	if int16(seq-e.seq) > 0 {
		e.seq = seq
	}
	if int32(ts-e.ts) > 0 {
		e.ts = ts
	}
	e.wrote = true
	e.lastOut = time.Now()
	putRTP(pkt, marker, pt, seq, ts, e.ssrc)
	pkt[0] &^= 0x0f | 0x10 // our header carries no CSRC and no extension
	e.wmu.Unlock()
	body := pkt[:h.end]
	if h.payload > 12 { // drop CSRCs/extension by moving the header up
		body = pkt[h.payload-12 : h.end]
		copy(body[:12], pkt[:12])
	}
	if err := e.send(body, to); err == nil {
		e.sent.Add(1)
	}
}

// Close releases the sockets and the port pair; it is idempotent and waits
// for the reader goroutine to end.
func (e *Endpoint) Close() error {
	e.closeOnce.Do(func() {
		e.setHandler(nil)
		e.closeErr = errors.Join(e.conn.Close(), e.rtcp.Close())
		<-e.readDone
		e.ports.release(e.port)
	})
	return e.closeErr
}

// waitCtx sleeps until t or until ctx ends.
func waitCtx(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}
