package media

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// ErrNoPorts is returned when every RTP port of the range is in use.
var ErrNoPorts = errors.New("no free RTP port")

// Ports hands out even RTP ports (with the odd RTCP port above) from a
// fixed range. Unlike diago's package globals, each Ports is its own range,
// so tests and several listeners do not share state.
type Ports struct {
	ip       netip.Addr
	adv      netip.Addr // advertised in SDP; ip when not set
	min, max int

	mu   sync.Mutex
	next int
	used map[int]bool
}

// NewPorts returns a pool binding on ip in [min, max].
func NewPorts(ip netip.Addr, min, max int) (*Ports, error) {
	if min%2 == 1 {
		min++
	}
	if min < 1 || max > 65535 || max-min < 1 {
		return nil, fmt.Errorf("rtp port range %d-%d holds no even/odd pair", min, max)
	}
	return &Ports{ip: ip, min: min, max: max, next: min, used: map[int]bool{}}, nil
}

// IP is the address RTP sockets bind to.
func (p *Ports) IP() netip.Addr { return p.ip }

// Advertise sets the address SDP names for this pool's sockets when it is
// not the one they bind to (a host behind NAT); it returns p.
func (p *Ports) Advertise(adv netip.Addr) *Ports {
	p.adv = adv
	return p
}

// Advertised is the address SDP names for this pool's sockets.
func (p *Ports) Advertised() netip.Addr {
	if p.adv.IsValid() {
		return p.adv
	}
	return p.ip
}

// Reaches says whether the pool's sockets can send to dst: a socket
// bound to an IPv4 address cannot send to an IPv6 one, nor one bound to
// an IPv6 address to IPv4; a wildcard binding (0.0.0.0 or ::) is dual
// stack.
func (p *Ports) Reaches(dst netip.Addr) bool {
	if p.ip.IsUnspecified() {
		return true
	}
	return p.ip.Unmap().Is4() == dst.Unmap().Is4()
}

// InUse is the number of port pairs held.
func (p *Ports) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.used)
}

// listen binds an RTP/RTCP pair, skipping ports other programs hold.
func (p *Ports) listen() (rtp, rtcp *net.UDPConn, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pairs := (p.max - p.min + 1) / 2
	for range pairs {
		port := p.next
		p.next += 2
		if p.next+1 > p.max {
			p.next = p.min
		}
		if p.used[port] {
			continue
		}
		ip := p.ip.AsSlice()
		rtp, err = net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
		if err != nil {
			continue
		}
		rtcp, err = net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port + 1})
		if err != nil {
			rtp.Close()
			continue
		}
		p.used[port] = true
		return rtp, rtcp, nil
	}
	return nil, nil, fmt.Errorf("%w in %d-%d on %s", ErrNoPorts, p.min, p.max, p.ip)
}

func (p *Ports) release(port int) {
	p.mu.Lock()
	delete(p.used, port)
	p.mu.Unlock()
}
