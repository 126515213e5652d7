package media

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// BenchmarkBridgeRelay measures the relay hot path: a PCMU packet in on
// leg A's socket, parsed, rewritten and sent out of leg B's socket. One op
// is one packet sent; ns/op is the cost per packet relayed end to end over
// loopback, and allocs/op counts every goroutine involved (sender, both
// readers, receiver), so 0 means the relay allocates nothing per packet.
//
// SRTP-both-legs decrypts on leg A and encrypts on leg B (the sender
// seals each packet too, inside the timed loop).
func BenchmarkBridgeRelay(b *testing.B) {
	b.Run("PCMU", func(b *testing.B) { benchRelay(b, pcmu, false) })
	b.Run("PCMU-to-PCMA", func(b *testing.B) { benchRelay(b, pcma, false) })
	b.Run("SRTP-both-legs", func(b *testing.B) { benchRelay(b, pcmu, true) })
}

func benchRelay(b *testing.B, far Audio, secure bool) {
	ports := testPorts(b, 2)
	a, z := openEP(b, ports), openEP(b, ports)
	sender, recv := listenLoopback(b), listenLoopback(b)
	a.SetPeer(Peer{Addr: sender.LocalAddr().(*net.UDPAddr).AddrPort(), Audio: pcmu, DTMF: TelephoneEvent})
	z.SetPeer(Peer{Addr: recv.LocalAddr().(*net.UDPAddr).AddrPort(), Audio: far, DTMF: TelephoneEvent})
	want := 172 // bytes of a relayed packet
	var seal func([]byte) []byte
	if secure {
		keys := make([]Crypto, 4)
		for i := range keys {
			var err error
			if keys[i], err = NewCrypto(1, DefaultSuite); err != nil {
				b.Fatal(err)
			}
		}
		if err := a.SetSRTP(keys[0], keys[1]); err != nil {
			b.Fatal(err)
		}
		if err := z.SetSRTP(keys[2], keys[3]); err != nil {
			b.Fatal(err)
		}
		enc, err := newContext(keys[1])
		if err != nil {
			b.Fatal(err)
		}
		var buf [1500]byte
		var hdr rtp.Header
		seal = func(p []byte) []byte {
			out, err := enc.EncryptRTP(buf[:0], p, &hdr)
			if err != nil {
				b.Fatal(err)
			}
			return out
		}
		want += 10 // the HMAC-SHA1-80 tag
	}
	br := NewBridge(a, z, BridgeOptions{})
	defer br.Stop()

	var got atomic.Int64
	progress := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var buf [1500]byte
		for {
			n, _, err := recv.ReadFromUDPAddrPort(buf[:])
			if err != nil {
				return
			}
			if n == want {
				got.Add(1)
			}
			select {
			case progress <- struct{}{}:
			default:
			}
		}
	}()
	defer func() {
		recv.Close()
		<-done
	}()

	// Small batches inside a bounded window keep the socket buffers from
	// overflowing; a stall (packets lost) gives up on what is in flight
	// rather than waiting for it forever.
	const batch, window, stall = 16, 64, 50 * time.Millisecond
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var given int64 // packets given up on as lost
	waitUntil := func(target int64) bool {
		for got.Load()+given < target {
			timer.Reset(stall)
			select {
			case <-progress:
				timer.Stop()
			case <-timer.C:
				return false
			}
		}
		return true
	}

	p := pkt{pt: 0, ssrc: 0x0badcafe, extLen: -1, payload: payloadOf(160, 0xff)}.build()
	dst := a.Addr()
	var seq uint16
	var ts uint32
	b.ReportAllocs()
	b.ResetTimer()
	for sent := 0; sent < b.N; {
		for n := min(batch, b.N-sent); n > 0; n-- {
			seq++
			ts += 160
			putRTP(p, false, 0, seq, ts, 0x0badcafe)
			out := p
			if seal != nil {
				out = seal(p)
			}
			if _, err := sender.WriteToUDPAddrPort(out, dst); err != nil {
				b.Fatal(err)
			}
			sent++
		}
		if !waitUntil(int64(sent - window)) {
			given = int64(sent) - got.Load()
		}
	}
	if !waitUntil(int64(b.N)) {
		given = int64(b.N) - got.Load()
	}
	b.StopTimer()
	lost := b.N - int(got.Load())
	b.ReportMetric(float64(lost)/float64(b.N)*100, "loss%")
}

func listenLoopback(tb testing.TB) *net.UDPConn {
	tb.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: loopback.AsSlice()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}
