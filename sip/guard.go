package sip

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// guardConn sits under sipgo's UDP transport. sipgo drops datagrams it
// cannot parse without a word, so a peer with a broken header retransmits
// into silence; here such a request gets a stateless 400 naming the
// problem, and never reaches the transaction layer.
//
// It is also where UDP floods stop: an initial INVITE over sip.rate_limit
// is refused here, statelessly (a 503 with Retry-After, or nothing), so a
// flood creates no transaction, no retransmission timer and no goroutine;
// and a source over its limit gets no more stateless 400s either.
type guardConn struct {
	net.PacketConn
	srv      *Server // nil: no rate limits (tests of the 400 alone)
	rejected atomic.Uint64
}

// ReadFrom returns the next datagram that parses as SIP (or is a
// keep-alive), answering the others.
func (g *guardConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := g.PacketConn.ReadFrom(b)
		if err != nil {
			return n, addr, err
		}
		data := b[:n]
		if len(bytes.TrimSpace(bytes.Trim(data, "\x00"))) == 0 {
			return n, addr, nil // CRLF keep-alive: sipgo skips it
		}
		msg, perr := sipmsg.ParseMessage(data)
		if perr != nil {
			g.rejected.Add(1)
			if res := badRequest(data, perr); res != nil && g.mayAnswer(addr) {
				g.PacketConn.WriteTo(res, addr)
			}
			continue
		}
		if req, ok := msg.(*sipmsg.Request); ok && isInitialInvite(req) {
			if code, reason, hdrs := refuseOverlong(req); code != 0 {
				g.rejected.Add(1)
				if g.mayAnswer(addr) {
					res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
					for _, h := range hdrs {
						res.AppendHeader(h)
					}
					g.PacketConn.WriteTo([]byte(res.String()), addr)
				}
				continue
			}
		}
		if req, ok := msg.(*sipmsg.Request); ok && g.srv != nil && isInitialInvite(req) {
			src := udpSource(addr)
			if g.srv.limitInvite(req, src.Addr(), func(res *sipmsg.Response) {
				g.PacketConn.WriteTo([]byte(res.String()), addr)
			}) {
				continue
			}
		}
		return n, addr, nil
	}
}

// mayAnswer spends a token of the source's bucket on a stateless 400.
func (g *guardConn) mayAnswer(addr net.Addr) bool {
	if g.srv == nil {
		return true
	}
	if g.srv.limit.spend(udpSource(addr).Addr(), time.Now()) {
		return true
	}
	g.srv.limited(limitMalformed)
	return false
}

func udpSource(addr net.Addr) netip.AddrPort {
	if u, ok := addr.(*net.UDPAddr); ok {
		return u.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(addr.String())
	return ap
}

// isInitialInvite: an INVITE outside a dialog (no To tag).
func isInitialInvite(req *sipmsg.Request) bool {
	if req.Method != sipmsg.INVITE {
		return false
	}
	to := req.To()
	return to == nil || to.Params == nil || !to.Params.Has("tag")
}

// badRequest builds a stateless 400 for an unparseable request from the
// raw lines that identify its transaction; it returns nil for responses,
// ACKs and anything that is not recognisably SIP.
func badRequest(raw []byte, reason error) []byte {
	text := strings.ReplaceAll(string(raw), "\r\n", "\n")
	head, _, _ := strings.Cut(text, "\n\n")
	lines := strings.Split(head, "\n")
	start := strings.Fields(lines[0])
	if len(start) != 3 || start[2] != "SIP/2.0" || start[0] == "ACK" || strings.HasPrefix(start[0], "SIP/") {
		return nil
	}
	var b strings.Builder
	b.WriteString("SIP/2.0 400 Bad Request\r\n")
	for _, ln := range lines[1:] {
		name, _, ok := strings.Cut(ln, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "to", "t":
			if !strings.Contains(ln, ";tag=") { // RFC 3261 8.2.6.2: a response adds our tag
				ln += ";tag=" + sipmsg.GenerateTagN(10)
			}
			b.WriteString(ln + "\r\n")
		case "via", "v", "from", "f", "call-id", "i", "cseq":
			b.WriteString(ln + "\r\n")
		}
	}
	msg := strings.NewReplacer(`"`, "'", `\`, "/", "\r", " ", "\n", " ").Replace(reason.Error())
	if len(msg) > 120 {
		msg = msg[:120]
	}
	b.WriteString(`Warning: 399 kiroku "` + msg + "\"\r\nContent-Length: 0\r\n\r\n")
	return []byte(b.String())
}
