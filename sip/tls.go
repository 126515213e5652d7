package sip

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/kiroku-voice/kiroku/internal/config"
)

// serverTLS is the configuration of the tls:// listeners: sip.tls's
// certificate and, with client_ca, a required client certificate signed
// by one of its CAs.
func serverTLS(t config.SIPTLS) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
	if err != nil {
		return nil, fmt.Errorf("sip.tls: %w", err)
	}
	conf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.ClientCA != "" {
		pool, err := certPool("sip.tls.client_ca", t.ClientCA)
		if err != nil {
			return nil, err
		}
		conf.ClientCAs, conf.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return conf, nil
}

// certPool reads the PEM certificates of file (configuration key key).
func certPool(key, file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate in %s", key, file)
	}
	return pool, nil
}

// clientTLS is how kirokud connects to a sips: downstream: the agent
// platform's certificate checked against sip.tls.downstream_ca (else the
// system's roots), and sip.tls's certificate presented when one is set.
func clientTLS(t config.SIPTLS) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.DownstreamCA != "" {
		pool, err := certPool("sip.tls.downstream_ca", t.DownstreamCA)
		if err != nil {
			return nil, err
		}
		conf.RootCAs = pool
	}
	if t.Cert != "" && t.Key != "" {
		cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("sip.tls: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

// tlsListener hands sipgo TLS connections and keeps each one by its
// remote address, which is the Source of the requests it carries, so
// that admission can read the caller's certificate (sipgo does not pass
// the connection on).
type tlsListener struct {
	net.Listener
	peers *sync.Map // remote address -> *tls.Conn
}

func (l tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*tls.Conn)
	if !ok {
		return c, nil
	}
	key := c.RemoteAddr().String()
	l.peers.Store(key, tc)
	return &tlsConn{Conn: tc, peers: l.peers, key: key}, nil
}

// tlsConn forgets its entry in the peers map when closed.
type tlsConn struct {
	*tls.Conn
	peers *sync.Map
	key   string
}

func (c *tlsConn) Close() error {
	c.peers.CompareAndDelete(c.key, c.Conn)
	return c.Conn.Close()
}

// errClientCN is a TLS caller whose certificate does not name its trunk.
var errClientCN = errors.New("client certificate does not match the trunk's tls_client_cn")

// checkClientCN applies trunk.TLSClientCN to req: such a trunk calls
// only over TLS, with a verified certificate whose common name or a DNS
// name is the one configured.
func (s *Server) checkClientCN(req *sipmsg.Request, trunk *config.Trunk) error {
	if trunk.TLSClientCN == "" {
		return nil
	}
	v, ok := s.tlsPeers.Load(req.Source())
	if !ok {
		return errClientCN // not over TLS (or the connection is gone)
	}
	st := v.(*tls.Conn).ConnectionState()
	if len(st.VerifiedChains) == 0 || len(st.PeerCertificates) == 0 {
		return errClientCN
	}
	leaf := st.PeerCertificates[0]
	if leaf.Subject.CommonName == trunk.TLSClientCN || slices.Contains(leaf.DNSNames, trunk.TLSClientCN) {
		return nil
	}
	return errClientCN
}
