package storm

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
)

// rtpPeer is one side's media for every call at once: a single UDP socket
// that the SIPp scenario's SDP names for all its calls. Each kirokud port
// that sends to it is a stream; the peer sends it PCMU every 20 ms until
// that port has been quiet for streamIdle. One socket, read and written in
// batches, keeps this process's cost per packet far below kirokud's.
type rtpPeer struct {
	conn *net.UDPConn
	pc   *ipv4.PacketConn

	mu      sync.Mutex
	streams map[netip.AddrPort]*stream

	sent, recv atomic.Uint64
}

type stream struct {
	seq  uint16
	ts   uint32
	ssrc uint32
	last time.Time
}

// streamIdle ends a stream kirokud stopped sending on: its call ended.
// It is long because a phone goes on sending while it hears nothing: a
// caller's stream must outlast the silence between the notice and the
// agent's answer (seconds in a storm), else the call records silence
// that is the benchmark's, not kirokud's. kirokud's ports go round the
// range (about 3,000 calls with two legs each), so a stream left running
// after its call cannot reach the next call on that port in a storm.
const streamIdle = 15 * time.Second

func newRTPPeer() (*rtpPeer, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("rtp peer: %w", err)
	}
	_ = c.SetReadBuffer(4 << 20)
	_ = c.SetWriteBuffer(4 << 20)
	return &rtpPeer{conn: c, pc: ipv4.NewPacketConn(c), streams: map[netip.AddrPort]*stream{}}, nil
}

func (p *rtpPeer) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

// run reads and sends until ctx ends, then closes the socket.
func (p *rtpPeer) run(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() { p.conn.Close() })
	defer stop()
	go p.send(ctx)
	msgs := make([]ipv4.Message, 64)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, 1500)}
	}
	var nextSSRC uint32 = 0x1000
	for {
		n, err := p.pc.ReadBatch(msgs, 0)
		if err != nil {
			return
		}
		now := time.Now()
		p.recv.Add(uint64(n))
		p.mu.Lock()
		for _, m := range msgs[:n] {
			ua, ok := m.Addr.(*net.UDPAddr)
			if !ok {
				continue
			}
			ap := ua.AddrPort()
			s := p.streams[ap]
			if s == nil {
				nextSSRC++
				s = &stream{ssrc: nextSSRC, seq: uint16(nextSSRC), ts: nextSSRC * 160}
				p.streams[ap] = s
			}
			s.last = now
		}
		p.mu.Unlock()
	}
}

// send sends one 20 ms PCMU frame to each live stream every 20 ms.
func (p *rtpPeer) send(ctx context.Context) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = byte(0x80 | (i*7)&0x3f) // a loud, not silent, PCMU pattern
	}
	var msgs []ipv4.Message
	var bufs [][]byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		msgs = msgs[:0]
		p.mu.Lock()
		for ap, s := range p.streams {
			if now.Sub(s.last) > streamIdle {
				delete(p.streams, ap)
				continue
			}
			i := len(msgs)
			if i == len(bufs) {
				bufs = append(bufs, make([]byte, 12+len(payload)))
			}
			b := bufs[i]
			b[0], b[1] = 0x80, 0
			b[2], b[3] = byte(s.seq>>8), byte(s.seq)
			b[4], b[5], b[6], b[7] = byte(s.ts>>24), byte(s.ts>>16), byte(s.ts>>8), byte(s.ts)
			b[8], b[9], b[10], b[11] = byte(s.ssrc>>24), byte(s.ssrc>>16), byte(s.ssrc>>8), byte(s.ssrc)
			copy(b[12:], payload)
			s.seq++
			s.ts += 160
			msgs = append(msgs, ipv4.Message{Buffers: [][]byte{b}, Addr: net.UDPAddrFromAddrPort(ap)})
		}
		p.mu.Unlock()
		for out := msgs; len(out) > 0; {
			n, err := p.pc.WriteBatch(out, 0)
			if err != nil {
				break
			}
			p.sent.Add(uint64(n))
			out = out[n:]
		}
	}
}
