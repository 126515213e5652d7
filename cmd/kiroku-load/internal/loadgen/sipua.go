package loadgen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
)

// sipUA is a sipgo user agent serving one UDP port of 127.0.0.1; its
// requests leave from that same port, so kirokud's responses and in-dialog
// requests come back to it.
type sipUA struct {
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	cli     *sipgo.Client
	conn    net.PacketConn
	addr    netip.AddrPort
	contact sipmsg.ContactHeader
	served  chan struct{}
	once    sync.Once
	err     error
}

// quietLog keeps sipgo to errors: under load its warnings would cost
// more than what they tell.
var quietLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

func newSIPUA(user string) (*sipUA, error) {
	sipmsg.SetDefaultLogger(quietLog) // the transaction layer logs through it
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen sip: %w", err)
	}
	addr := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("kiroku-load"), sipgo.WithUserAgentHostname("127.0.0.1"),
		sipgo.WithUserAgentTransactionLayerOptions(sipmsg.WithTransactionLayerLogger(quietLog)))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quietLog))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sip server: %w", err), ua.Close(), conn.Close())
	}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientLogger(quietLog), sipgo.WithClientHostname("127.0.0.1"),
		sipgo.WithClientConnectionAddr(addr.String()))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("sip client: %w", err), ua.Close(), conn.Close())
	}
	u := &sipUA{ua: ua, srv: srv, cli: cli, conn: conn, addr: addr, served: make(chan struct{}),
		contact: sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: int(addr.Port())}}}
	return u, nil
}

// serve starts reading the port and returns once requests can leave from
// it (sipgo registers the listener in its pool on its serving goroutine).
func (u *sipUA) serve() error {
	go func() {
		defer close(u.served)
		_ = u.srv.ServeUDP(u.conn)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if c, _ := u.ua.TransportLayer().GetConnection("udp", u.addr.String()); c != nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sip listener %s not ready", u.addr)
		}
		time.Sleep(time.Millisecond)
	}
}

// close stops the user agent and its port and waits (a little) for the
// reader; it is idempotent.
func (u *sipUA) close() error {
	u.once.Do(func() {
		u.err = errors.Join(u.ua.Close(), u.conn.Close())
		select {
		case <-u.served:
		case <-time.After(2 * time.Second):
		}
	})
	return u.err
}

// options sends OPTIONS to addr and returns the status of the answer.
func (u *sipUA) options(ctx context.Context, addr netip.AddrPort) (int, error) {
	req := sipmsg.NewRequest(sipmsg.OPTIONS, sipmsg.Uri{Scheme: "sip", Host: addr.Addr().String(), Port: int(addr.Port())})
	req.SetTransport("UDP")
	res, err := u.cli.Do(ctx, req)
	if err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}

func respond(tx sipmsg.ServerTransaction, req *sipmsg.Request, code int, reason string) {
	_ = tx.Respond(sipmsg.NewResponseFromRequest(req, code, reason, nil))
}
