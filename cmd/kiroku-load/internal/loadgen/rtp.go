package loadgen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/ipv4"
)

// Pacing of the senders: every stream sends one frame each 20 ms; the
// streams are spread over slots so that a side sends a small batch every
// 2 ms rather than one burst of every call at once.
const (
	framePeriod = 20 * time.Millisecond
	slots       = 10
	batchSize   = 64 // messages per sendmmsg (recvmmsg: twice as many)
	pktSize     = 12 + frameSamples
	// stampAt is where a packet carries its send time (Unix ns): the last
	// 8 bytes of the payload. The rest of the payload is the side's tone.
	stampAt = pktSize - 8
)

// rtpSide is the one UDP socket carrying the RTP of every call on one side
// (all callers, or all agents). Every call's SDP on this side names the
// socket's port; packets from kirokud are told apart by their source port,
// which is the kirokud leg's own.
type rtpSide struct {
	name     string
	conn     *net.UDPConn
	pc       *ipv4.PacketConn
	port     int
	tone     [frameSamples]byte // what this side sends
	peerTone [frameSamples]byte // what the other side sends, relayed by kirokud
	rcvBuf   int                // effective SO_RCVBUF
	sndBuf   int

	byPort [65536]atomic.Pointer[stream] // kirokud source port -> stream

	mu    sync.Mutex
	slot  [slots][]*stream
	nextS int

	stray, sendErrs, truncated atomic.Uint64
	phase                      *atomic.Int32     // the run's phase, for the histograms
	late                       [phases]histogram // sender goroutine only: how late each 2 ms tick ran
	transit                    [phases]histogram // receiver goroutine only: send to kernel receive, through kirokud
	lost                       [phases]uint64    // receiver goroutine only: packets missing, by when the gap showed
	stamped                    bool              // the kernel timestamps packets it receives

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// stream is one call's RTP on one side: what we send to kirokud's leg and
// what comes back from it.
type stream struct {
	side   *rtpSide
	remote netip.AddrPort
	dst    *net.UDPAddr
	pkt    [pktSize]byte
	bufs   [][]byte
	seq    uint16
	ts     uint32
	slot   int
	index  int // in side.slot[slot]; -1 when not sending

	sent     atomic.Uint64 // sender goroutine only writes
	received atomic.Uint64 // every packet from kirokud's leg
	relayed  atomic.Uint64 // packets carrying the other side's audio
	rx       seqTracker    // receiver goroutine only; read after close
}

// listenRTPSide binds 127.0.0.1:0 with large socket buffers. bufBytes is
// asked for with SO_RCVBUFFORCE/SO_SNDBUFFORCE (root may exceed
// net.core.rmem_max), falling back to the capped SO_RCVBUF/SO_SNDBUF.
func listenRTPSide(name string, tone, peerTone [frameSamples]byte, bufBytes int, phase *atomic.Int32) (*rtpSide, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("listen %s rtp: %w", name, err)
	}
	s := &rtpSide{name: name, conn: conn, pc: ipv4.NewPacketConn(conn), port: conn.LocalAddr().(*net.UDPAddr).Port,
		tone: tone, peerTone: peerTone, stop: make(chan struct{}), phase: phase}
	s.rcvBuf, s.sndBuf, err = setBuffers(conn, bufBytes)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("%s rtp socket buffers: %w", name, err)
	}
	s.stamped = setTimestamps(conn) == nil
	return s, nil
}

// setTimestamps asks the kernel to stamp every received packet
// (SO_TIMESTAMPNS), so that a transit is measured up to the packet's
// arrival, not up to when our reader got round to it.
func setTimestamps(conn *net.UDPConn) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	})
	return errors.Join(err, serr)
}

// kernelStamp finds the SCM_TIMESTAMPNS control message in oob and returns
// its time in Unix ns, or 0.
func kernelStamp(oob []byte) int64 {
	for len(oob) >= syscall.SizeofCmsghdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < syscall.SizeofCmsghdr || l > len(oob) {
			return 0
		}
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS && l >= syscall.SizeofCmsghdr+16 {
			ts := (*syscall.Timespec)(unsafe.Pointer(&oob[syscall.SizeofCmsghdr]))
			return ts.Nano()
		}
		oob = oob[min(len(oob), (l+7)&^7):]
	}
	return 0
}

func setBuffers(conn *net.UDPConn, n int) (rcv, snd int, err error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	cerr := raw.Control(func(fd uintptr) {
		for _, o := range []struct{ force, plain int }{{syscall.SO_RCVBUFFORCE, syscall.SO_RCVBUF}, {syscall.SO_SNDBUFFORCE, syscall.SO_SNDBUF}} {
			if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, o.force, n) != nil {
				_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, o.plain, n)
			}
		}
		rcv, err = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		if err == nil {
			snd, err = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
		}
	})
	return rcv, snd, errors.Join(cerr, err)
}

// Port is the side's RTP port, the one every SDP of this side names.
func (s *rtpSide) Port() int { return s.port }

// start runs the side's loop until close.
func (s *rtpSide) start() {
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.loop() }()
}

// close stops the loop and releases the socket; it is idempotent.
// Streams' receive counts are final once it returns.
func (s *rtpSide) close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		s.wg.Wait()
		err = s.conn.Close()
	})
	return err
}

// open makes the stream for a call whose kirokud leg is at remote: packets
// from there are counted from now on. It does not send yet.
func (s *rtpSide) open(remote netip.AddrPort) *stream {
	st := &stream{side: s, remote: remote, dst: net.UDPAddrFromAddrPort(remote), index: -1,
		seq: uint16(rand.Uint32()), ts: rand.Uint32()}
	putHeader(st.pkt[:], false, 0, st.seq, st.ts, rand.Uint32())
	copy(st.pkt[12:], s.tone[:])
	st.bufs = [][]byte{st.pkt[:]}
	s.byPort[remote.Port()].Store(st)
	return st
}

// send starts the stream's 20 ms frames.
func (s *rtpSide) send(st *stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.index >= 0 {
		return
	}
	st.slot = s.nextS
	s.nextS = (s.nextS + 1) % slots
	st.index = len(s.slot[st.slot])
	s.slot[st.slot] = append(s.slot[st.slot], st)
}

// silence stops the stream's frames; packets from kirokud still count.
func (s *rtpSide) silence(st *stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.index < 0 {
		return
	}
	list := s.slot[st.slot]
	last := list[len(list)-1]
	list[st.index], last.index = last, st.index
	s.slot[st.slot] = list[:len(list)-1]
	st.index = -1
}

// loop is the side's one goroutine. Every 2 ms, on an absolute schedule
// (a late wake-up is caught up rather than drifting), it sends one slot's
// streams in a batch and then reads whatever has arrived, without waiting:
// one wake-up for both directions, and reads of many packets each. The
// kernel's receive stamps keep the transits exact however late the read.
func (s *rtpSide) loop() {
	period := framePeriod / slots
	start := time.Now()
	timer := time.NewTimer(period)
	defer timer.Stop()
	var (
		batch = make([]*stream, 0, 1024)
		out   = make([]ipv4.Message, batchSize)
		in    = make([]ipv4.Message, 2*batchSize)
	)
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, 1500)}
		in[i].OOB = make([]byte, 128)
	}
	for tick := 0; ; tick++ {
		due := start.Add(time.Duration(tick) * period)
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-s.stop:
				return
			case <-timer.C:
			}
		}
		s.late[s.phase.Load()].add(time.Since(due))
		s.mu.Lock()
		batch = append(batch[:0], s.slot[tick%slots]...)
		s.mu.Unlock()
		for len(batch) > 0 {
			n := min(len(batch), batchSize)
			now := uint64(time.Now().UnixNano())
			for i, st := range batch[:n] {
				st.seq++
				st.ts += frameSamples
				binary.BigEndian.PutUint16(st.pkt[2:], st.seq)
				binary.BigEndian.PutUint32(st.pkt[4:], st.ts)
				binary.BigEndian.PutUint64(st.pkt[stampAt:], now)
				out[i] = ipv4.Message{Buffers: st.bufs, Addr: st.dst}
			}
			s.writeAll(out[:n], batch[:n])
			batch = batch[n:]
		}
		if !s.drain(in) {
			return
		}
	}
}

func (s *rtpSide) writeAll(msgs []ipv4.Message, sts []*stream) {
	for len(msgs) > 0 {
		n, err := s.pc.WriteBatch(msgs, 0)
		for _, st := range sts[:max(n, 0)] {
			st.sent.Add(1)
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// One bad destination (e.g. an ICMP error surfacing) must not
			// drop the rest of the batch: skip that message.
			s.sendErrs.Add(1)
			n = max(n, 0) + 1
		}
		msgs, sts = msgs[min(n, len(msgs)):], sts[min(n, len(sts)):]
	}
}

// drain reads every packet waiting on the socket and counts it against
// the stream of its source port. It reports false once the socket is
// closed.
func (s *rtpSide) drain(msgs []ipv4.Message) bool {
	for {
		n, err := s.pc.ReadBatch(msgs, syscall.MSG_DONTWAIT)
		if err != nil {
			return !errors.Is(err, net.ErrClosed) // EAGAIN: nothing more for now
		}
		now := time.Now().UnixNano()
		for i := range msgs[:n] {
			m := &msgs[i]
			ua, ok := m.Addr.(*net.UDPAddr)
			if !ok {
				s.stray.Add(1)
				continue
			}
			if m.Flags&syscall.MSG_TRUNC != 0 {
				s.truncated.Add(1)
			}
			st := s.byPort[ua.Port].Load()
			if st == nil {
				s.stray.Add(1)
				continue
			}
			at := kernelStamp(m.OOB[:m.NN])
			if at == 0 {
				at = now
			}
			s.count(st, m.Buffers[0][:m.N], at)
		}
		if n < len(msgs) {
			return true
		}
	}
}

// count takes one packet from st's kirokud leg. Only packets carrying the
// other side's tone are relayed audio; the rest (the notice, ringback) are
// kirokud's own.
func (s *rtpSide) count(st *stream, b []byte, at int64) {
	st.received.Add(1)
	if len(b) != pktSize || b[0]>>6 != 2 || b[0]&0x3f != 0 || b[1]&0x7f != 0 {
		return
	}
	if !bytes.Equal(b[12:stampAt], s.peerTone[:stampAt-12]) {
		return
	}
	st.relayed.Add(1)
	ph := s.phase.Load()
	s.lost[ph] += st.rx.add(binary.BigEndian.Uint16(b[2:]))
	s.transit[ph].add(time.Duration(at - int64(binary.BigEndian.Uint64(b[stampAt:]))))
}

// putHeader writes a 12-byte RTP header.
func putHeader(b []byte, marker bool, pt uint8, seq uint16, ts, ssrc uint32) {
	b[0] = 0x80
	b[1] = pt & 0x7f
	if marker {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
}
