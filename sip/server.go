package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/media"
	"github.com/kiroku-voice/kiroku/spool"
)

// sipReadBuffer is the receive buffer asked for the SIP UDP socket (the
// kernel caps it at net.core.rmem_max).
const sipReadBuffer = 4 << 20

// setDefaultLogger sets sipgo's package logger once per process.
var setDefaultLogger sync.Once

// ErrClosed is returned by Start after Close.
var ErrClosed = errors.New("sip server closed")

// Server is the SIP side of kirokud. Listeners, the RTP port range and the
// spool are built once; lines, purposes and trunks come from the config
// that Reload swaps atomically.
type Server struct {
	log   *zap.Logger
	cfg   atomic.Pointer[config.Config]
	spool *spool.Dir
	ports *media.Ports

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	// udpClient sends UDP requests (to agents, health checks, PRACKs)
	// to IPv4 [0] and IPv6 [1] addresses from the first UDP listener of
	// that family, whose receive buffer holds a burst of answers; nil
	// until such a listener is bound. udpDialogUA are their dialog UAs.
	udpClient   [2]atomic.Pointer[sipgo.Client]
	udpDialogUA [2]*sipgo.DialogUA
	udpLocal    [2]netip.AddrPort // their listeners
	slog        *slog.Logger
	// One dialog UA per transport so that our Contact names the transport
	// the peer used.
	dialogUA map[string]*sipgo.DialogUA

	legs     sync.Map       // dialog id -> *leg
	limit    *limiter       // sip.rate_limit
	auth     *authenticator // sip.auth
	tlsPeers sync.Map       // remote address -> *tls.Conn: see tlsListener
	cutShort sync.Map       // inviteKey -> struct{}: see cutShortTx
	active   atomic.Int64   // calls admitted and not yet finished
	setups   *setups        // calls in kirokud's own set-up work (overload.go): sip.overload
	draining atomic.Bool

	// hangupAll ends every call in progress (drain timeout, Close).
	baseCtx    context.Context
	sched      *schedLoad
	cancelBase context.CancelFunc

	listenMu sync.Mutex
	bound    []Listener
	closers  []io.Closer

	ifaces     map[string]*media.Ports // sip.media_interfaces by name
	health     *health                 // downstreams' state: see health.go
	healthDone chan struct{}           // closed when runHealth returns

	closeOnce sync.Once
	onCallEnd func()
	obs       Observer
}

// OnCallEnd registers f to run after each call's final manifest is written
// (the uploader's kick). Set it before Start.
func (s *Server) OnCallEnd(f func()) { s.onCallEnd = f }

// portsFor is the RTP pool of a media interface: the named one, or
// sip.media_ip's for "" (and for a name a reload added: interfaces are
// bound at start).
func (s *Server) portsFor(name string) *media.Ports {
	if p, ok := s.ifaces[name]; ok {
		return p
	}
	return s.ports
}

// Listener is a transport address the server is bound to.
type Listener struct {
	Network string // udp, tcp or tls
	Addr    netip.AddrPort
}

// New builds the server; it does not listen yet.
func New(cfg *config.Config, sp *spool.Dir, log *zap.Logger) (*Server, error) {
	mediaIP, err := netip.ParseAddr(cfg.SIP.MediaIP)
	if err != nil {
		return nil, fmt.Errorf("sip.media_ip: %w", err)
	}
	ports, err := media.NewPorts(mediaIP, cfg.SIP.RTPPortMin, cfg.SIP.RTPPortMax)
	if err != nil {
		return nil, err
	}
	ifaces := map[string]*media.Ports{}
	for _, m := range cfg.SIP.MediaInterfaces {
		p, err := media.NewPorts(m.BindAddr, cfg.SIP.RTPPortMin, cfg.SIP.RTPPortMax)
		if err != nil {
			return nil, fmt.Errorf("sip.media_interfaces %s: %w", m.Name, err)
		}
		ifaces[m.Name] = p.Advertise(m.AdvAddr)
	}
	ctls, err := clientTLS(cfg.SIP.TLS)
	if err != nil {
		return nil, err
	}
	slogger := slog.New(zapslog.NewHandler(log.Named("sipgo").Core()))
	// sipgo's transaction and transport layers log through our zap core
	// too (otherwise they print plain text on stderr at every level).
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("kiroku"), sipgo.WithUserAgenTLSConfig(ctls),
		sipgo.WithUserAgentTransactionLayerOptions(sipmsg.WithTransactionLayerLogger(slogger)),
		sipgo.WithUserAgentTransportLayerOptions(sipmsg.WithTransportLayerLogger(slogger)))
	if err != nil {
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	// Some of sipgo's warnings go to its package logger (a UDP
	// connection's reference count after a transaction to a downstream
	// that never answered): route it to the first server's. It is a
	// global read without a lock, so it is set once, before any traffic.
	setDefaultLogger.Do(func() { sipmsg.SetDefaultLogger(slogger) })
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(slogger))
	if err != nil {
		return nil, fmt.Errorf("sip server: %w", err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientLogger(slogger), sipgo.WithClientHostname(mediaIP.String()))
	if err != nil {
		return nil, fmt.Errorf("sip client: %w", err)
	}
	s := &Server{
		log:      log,
		spool:    sp,
		ports:    ports,
		ua:       ua,
		srv:      srv,
		client:   client,
		slog:     slogger,
		dialogUA: map[string]*sipgo.DialogUA{},
		limit:    newLimiter(cfg.SIP.RateLimit),
		setups:   newSetups(),
		sched:    &schedLoad{},
		auth:     newAuthenticator(),
		health:   newHealth(log.Named("downstream")),
		ifaces:   ifaces,
	}
	s.baseCtx, s.cancelBase = context.WithCancel(context.Background())
	s.cfg.Store(cfg)
	srv.OnInvite(s.onInvite)
	srv.OnAck(s.onAck)
	srv.OnBye(s.onBye)
	srv.OnCancel(s.onCancel)
	srv.OnInfo(s.onInfo)
	srv.OnUpdate(s.onUpdate)
	srv.OnPrack(s.onPrack)
	srv.OnOptions(s.onOptions)
	srv.OnRefer(s.onRefer)
	srv.OnNoRoute(s.onNoRoute)
	return s, nil
}

// Config is the configuration in force.
func (s *Server) Config() *config.Config { return s.cfg.Load() }

// Reload swaps lines, purposes, trunks, session timer and rate limit
// settings. Calls in progress keep the line and session timer settings
// they were admitted with. Listener and RTP range changes need a restart;
// they are reported as a warning.
func (s *Server) Reload(cfg *config.Config) {
	old := s.cfg.Load()
	if strings.Join(old.SIP.Listen, ",") != strings.Join(cfg.SIP.Listen, ",") ||
		old.SIP.RTPPorts != cfg.SIP.RTPPorts || old.SIP.MediaIP != cfg.SIP.MediaIP || old.SIP.TLS != cfg.SIP.TLS ||
		fmt.Sprint(old.SIP.MediaInterfaces) != fmt.Sprint(cfg.SIP.MediaInterfaces) {
		s.log.Warn("sip.listen, sip.tls, sip.rtp_ports, sip.media_ip and sip.media_interfaces take effect at the next restart")
	}
	s.limit.configure(cfg.SIP.RateLimit)
	s.cfg.Store(cfg)
}

// Start binds every configured listener and serves until Close. It
// returns once all listeners are bound, or with every bind error.
func (s *Server) Start(ctx context.Context) error {
	cfg := s.cfg.Load()
	var errs []error
	for _, l := range cfg.SIP.Listeners {
		hostport := net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
		var (
			bound netip.AddrPort
			serve func() error
		)
		switch l.Network {
		case "udp":
			conn, err := net.ListenPacket("udp", hostport)
			if err != nil {
				errs = append(errs, fmt.Errorf("listen udp://%s: %w", hostport, err))
				continue
			}
			// A burst of INVITEs or BYEs (a ramp, a mass hang-up) overflows
			// the default 208 KiB buffer and costs retransmissions.
			if uc, ok := conn.(*net.UDPConn); ok {
				uc.SetReadBuffer(sipReadBuffer)
			}
			s.closers = append(s.closers, conn)
			bound = conn.LocalAddr().(*net.UDPAddr).AddrPort()
			if err := s.useForRequests(conn); err != nil {
				errs = append(errs, fmt.Errorf("listen udp://%s: %w", hostport, err))
				continue
			}
			serve = func() error { return s.srv.ServeUDP(&guardConn{PacketConn: conn, srv: s}) }
		case "tcp":
			ln, err := net.Listen("tcp", hostport)
			if err != nil {
				errs = append(errs, fmt.Errorf("listen tcp://%s: %w", hostport, err))
				continue
			}
			s.closers = append(s.closers, ln)
			bound = ln.Addr().(*net.TCPAddr).AddrPort()
			serve = func() error { return s.srv.ServeTCP(ln) }
		case "tls":
			conf, err := serverTLS(cfg.SIP.TLS)
			if err != nil {
				errs = append(errs, fmt.Errorf("listen tls://%s: %w", hostport, err))
				continue
			}
			ln, err := net.Listen("tcp", hostport)
			if err != nil {
				errs = append(errs, fmt.Errorf("listen tls://%s: %w", hostport, err))
				continue
			}
			s.closers = append(s.closers, ln)
			bound = ln.Addr().(*net.TCPAddr).AddrPort()
			tl := tlsListener{Listener: tls.NewListener(ln, conf), peers: &s.tlsPeers}
			serve = func() error { return s.srv.ServeTLS(tl) }
		default:
			errs = append(errs, fmt.Errorf("listen %s://%s: unsupported transport", l.Network, hostport))
			continue
		}
		li := Listener{Network: l.Network, Addr: netip.AddrPortFrom(bound.Addr().Unmap(), bound.Port())}
		s.addListener(li)
		go func() {
			if err := serve(); err != nil && !errors.Is(err, net.ErrClosed) && s.baseCtx.Err() == nil {
				s.log.Error("sip listener stopped", zap.Stringer("addr", li.Addr), zap.Error(err))
			}
		}()
		s.log.Info("sip listening", zap.String("network", li.Network), zap.Stringer("addr", li.Addr))
	}
	if len(errs) > 0 {
		return errors.Join(append(errs, s.closeListeners())...)
	}
	s.listenMu.Lock()
	if s.healthDone == nil {
		s.healthDone = make(chan struct{})
		sched := make(chan struct{})
		go func() {
			defer close(sched)
			s.sched.run(s.baseCtx, s.schedLatency)
		}()
		go func() {
			defer close(s.healthDone)
			s.runHealth(s.baseCtx)
			<-sched
		}()
	}
	s.listenMu.Unlock()
	return nil
}

func (s *Server) closeListeners() error {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	var errs []error
	for _, c := range s.closers {
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	s.closers = nil
	return errors.Join(errs...)
}

func (s *Server) addListener(l Listener) {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	s.bound = append(s.bound, l)
	contact := sipmsg.ContactHeader{Address: sipmsg.Uri{Scheme: "sip", User: "kiroku", Host: l.Addr.Addr().String(), Port: int(l.Addr.Port())}}
	if l.Network != "udp" {
		contact.Address.UriParams = sipmsg.NewParams()
		contact.Address.UriParams.Add("transport", l.Network)
	}
	s.dialogUA[l.Network] = &sipgo.DialogUA{Client: s.client, ContactHDR: contact}
	if l.Network == "udp" {
		for fam := range s.udpClient {
			if c := s.udpClient[fam].Load(); c != nil && s.udpDialogUA[fam] == nil && l.Addr == s.udpLocal[fam] {
				s.udpDialogUA[fam] = &sipgo.DialogUA{Client: c, ContactHDR: contact}
			}
		}
	}
}

// useForRequests makes the first UDP listener of each address family
// the socket UDP requests to that family leave from (sipgo's pool holds
// the listener under its local address, and a client with that
// connection address picks it), so that the answers to a burst of
// INVITEs to agents land in the listener's large receive buffer rather
// than an ephemeral socket's default one, where they were dropped. A
// wildcard listener serves both families.
func (s *Server) useForRequests(conn net.PacketConn) error {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	ua, ok := conn.LocalAddr().(*net.UDPAddr)
	if !ok {
		return nil
	}
	fams := []int{familyOf(ua.IP)}
	if ua.IP.IsUnspecified() {
		fams = []int{0, 1}
	}
	var c *sipgo.Client
	for _, fam := range fams {
		if s.udpClient[fam].Load() != nil {
			continue
		}
		if c == nil {
			var err error
			c, err = sipgo.NewClient(s.ua, sipgo.WithClientLogger(s.slog), sipgo.WithClientHostname(s.client.Hostname()),
				sipgo.WithClientConnectionAddr(ua.String()))
			if err != nil {
				return fmt.Errorf("sip client: %w", err)
			}
		}
		s.udpClient[fam].Store(c)
		ap := ua.AddrPort()
		s.udpLocal[fam] = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return nil
}

func familyOf(ip net.IP) int {
	if ip.To4() != nil {
		return 0
	}
	return 1
}

// hostFamily is the address family of a host (an IP literal, bracketed
// or not); false for a name, whose address is known only once resolved.
func hostFamily(host string) (int, bool) {
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if err != nil {
		return 0, false
	}
	if a.Unmap().Is4() {
		return 0, true
	}
	return 1, true
}

// clientFor is the client a request over transport to host is sent with:
// over UDP to an IP address, from the listener of its family; else (a
// host name, another transport) from sipgo's own sockets.
func (s *Server) clientFor(transport, host string) *sipgo.Client {
	if fam, ok := hostFamily(host); ok && strings.EqualFold(transport, "udp") {
		if c := s.udpClient[fam].Load(); c != nil {
			return c
		}
	}
	return s.client
}

// Listeners are the bound transport addresses (ports resolved when the
// configuration asked for port 0).
func (s *Server) Listeners() []Listener {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	return append([]Listener(nil), s.bound...)
}

// dialogUAFor is the dialog UA of a dialog over transport with host (the
// caller's source, the agent's URI host): see clientFor.
func (s *Server) dialogUAFor(transport, host string) *sipgo.DialogUA {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	if fam, ok := hostFamily(host); ok && strings.EqualFold(transport, "udp") && s.udpDialogUA[fam] != nil {
		return s.udpDialogUA[fam]
	}
	if d, ok := s.dialogUA[strings.ToLower(transport)]; ok {
		return d
	}
	for _, d := range s.dialogUA {
		return d
	}
	return nil
}

// ActiveCalls is the number of calls in progress.
func (s *Server) ActiveCalls() int { return int(s.active.Load()) }

// Drain stops admitting calls (new INVITEs get 503 with Retry-After) and
// waits for calls in progress to end. When ctx ends first, the remaining
// calls are hung up (both legs get BYE, manifests are finalised) and Drain
// returns after they are.
func (s *Server) Drain(ctx context.Context) error {
	s.draining.Store(true)
	if s.waitIdle(ctx) == nil {
		return nil
	}
	n := s.active.Load()
	s.log.Warn("drain timeout: hanging up calls in progress", zap.Int64("calls", n))
	s.cancelBase()
	wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s.waitIdle(wctx) != nil {
		return fmt.Errorf("drain: %d calls did not end within 10s of hang-up", s.active.Load())
	}
	return fmt.Errorf("drain: hung up %d calls at the drain timeout", n)
}

// waitIdle waits until no call is in progress. Polling keeps admission
// free of any lock shared with shutdown.
func (s *Server) waitIdle(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for s.active.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Close stops the listeners and ends all calls; it is idempotent.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.draining.Store(true)
		s.cancelBase()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if s.waitIdle(ctx) != nil {
			err = fmt.Errorf("close: %d calls still ending after 10s", s.active.Load())
		}
		s.listenMu.Lock()
		done := s.healthDone
		s.listenMu.Unlock()
		if done != nil {
			<-done // baseCtx is cancelled: the pings in flight end
		}
		err = errors.Join(err, s.closeListeners(), s.client.Close(), s.srv.Close(), s.ua.Close())
	})
	return err
}
