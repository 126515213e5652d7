package sip

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/kiroku-voice/kiroku/internal/config"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and client
// certificates, written under a test directory.
type testPKI struct {
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	pool   *x509.CertPool
	caFile string
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kiroku test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{dir: t.TempDir(), ca: ca, caKey: key, pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.caFile = filepath.Join(p.dir, "ca.pem")
	writePEM(t, p.caFile, "CERTIFICATE", der)
	return p
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// issue makes a certificate named cn, for a server (127.0.0.1) or a
// client, and returns its certificate and key files.
func (p *testPKI) issue(t *testing.T, cn string, server bool) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(p.dir, cn+".pem"), filepath.Join(p.dir, cn+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", kder)
	return certFile, keyFile
}

// withTLS adds a tls:// listener on a free port with the PKI's server
// certificate; clientCN, if set, requires client certificates and names
// the test trunk's.
func withTLS(p *testPKI, t *testing.T, clientCN string) func(*config.Config) {
	cert, key := p.issue(t, "kiroku", true)
	return func(c *config.Config) {
		c.SIP.Listeners = append(c.SIP.Listeners, config.Listener{Network: "tls", Host: "127.0.0.1"})
		c.SIP.TLS = config.SIPTLS{Cert: cert, Key: key}
		if clientCN != "" {
			c.SIP.TLS.ClientCA = p.caFile
			c.SIP.Trunks[0].TLSClientCN = clientCN
		}
	}
}

func tlsAddr(t *testing.T, s *Server) string {
	t.Helper()
	for _, l := range s.Listeners() {
		if l.Network == "tls" {
			return l.Addr.String()
		}
	}
	t.Fatal("no tls listener")
	return ""
}

// tlsCall calls dialled over TLS with conf and returns the final
// response's code; a 200 is ACKed and the call ended with BYE.
func tlsCall(t *testing.T, addr string, conf *tls.Config, dialled string) int {
	t.Helper()
	c, err := tls.Dial("tcp", addr, conf)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	target := dialled + "@" + addr
	via := "SIP/2.0/TLS " + local + ";rport;branch=" + branch()
	callID := branch() + "@tls"
	hdrs := map[string]string{"Via": via, "Call-ID": callID, "Contact": "<sip:caller@" + local + ";transport=tls>"}
	body := strings.Replace(goodSDP, "40000", strconv.Itoa(newRTPPeer(t).port()), 1)
	send := func(msg string) {
		if _, err := io.WriteString(c, msg); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	r := bufio.NewReader(c)
	final := func(method string) *sipmsg.Response {
		for {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			msg, err := readStream(r)
			if err != nil {
				t.Fatalf("read the response to %s: %v", method, err)
			}
			if res, ok := msg.(*sipmsg.Response); ok && !res.IsProvisional() && res.CSeq().MethodName == sipmsg.RequestMethod(method) {
				return res
			}
		}
	}
	send(request("INVITE", target, local, hdrs, body))
	res := final("INVITE")
	ack := map[string]string{"Via": via, "Call-ID": callID, "To": res.To().Value(), "CSeq": "1 ACK", "Content-Type": "-"}
	if !res.IsSuccess() {
		send(request("ACK", target, local, ack, ""))
		return res.StatusCode
	}
	uri := strings.TrimPrefix(res.Contact().Address.String(), "sip:")
	ack["Via"] = "SIP/2.0/TLS " + local + ";rport;branch=" + branch()
	send(request("ACK", uri, local, ack, ""))
	bye := map[string]string{"Via": "SIP/2.0/TLS " + local + ";rport;branch=" + branch(), "Call-ID": callID,
		"To": res.To().Value(), "CSeq": "2 BYE", "Content-Type": "-"}
	send(request("BYE", uri, local, bye, ""))
	if got := final("BYE").StatusCode; got != 200 {
		t.Errorf("BYE over TLS: got %d, want 200", got)
	}
	return res.StatusCode
}

// readStream reads one SIP message from a stream transport.
func readStream(r *bufio.Reader) (sipmsg.Message, error) {
	tr := textproto.NewReader(r)
	var head strings.Builder
	n := 0
	for {
		line, err := tr.ReadLine()
		if err != nil {
			return nil, err
		}
		if line == "" {
			if head.Len() == 0 {
				continue // keep-alive
			}
			break
		}
		head.WriteString(line + "\r\n")
		if name, v, ok := strings.Cut(line, ":"); ok && (strings.EqualFold(name, "Content-Length") || name == "l") {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return sipmsg.ParseMessage([]byte(head.String() + "\r\n" + string(body)))
}

// TestTLSCall: a call over a tls:// listener is answered and ended.
func TestTLSCall(t *testing.T) {
	p := newPKI(t)
	env := startServer(t, envOptions{tweak: withTLS(p, t, "")})
	addr := tlsAddr(t, env.srv)
	if got := tlsCall(t, addr, &tls.Config{RootCAs: p.pool}, echoLine); got != 200 {
		t.Fatalf("got %d, want 200", got)
	}
	if m := env.finalManifest(t); m.Trunk != "test" {
		t.Errorf("got trunk %q, want test", m.Trunk)
	}
}

// TestTLSPlainText: plain SIP sent to the TLS port is never parsed: no
// SIP response comes back, and the listener still serves TLS.
func TestTLSPlainText(t *testing.T) {
	p := newPKI(t)
	env := startServer(t, envOptions{tweak: withTLS(p, t, "")})
	addr := tlsAddr(t, env.srv)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, request("INVITE", echoLine+"@"+addr, c.LocalAddr().String(), nil, goodSDP)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	got, _ := io.ReadAll(c)
	if strings.Contains(string(got), "SIP/2.0") {
		t.Errorf("got a SIP answer to plain text on the TLS port: %q", got)
	}
	if env.srv.ActiveCalls() != 0 {
		t.Errorf("got %d active calls, want 0", env.srv.ActiveCalls())
	}
	if got := tlsCall(t, addr, &tls.Config{RootCAs: p.pool}, echoLine); got != 200 {
		t.Errorf("TLS call afterwards: got %d, want 200", got)
	}
}

// TestTLSClientCN: with client_ca, a trunk's tls_client_cn admits only
// TLS callers with that certificate name.
func TestTLSClientCN(t *testing.T) {
	p := newPKI(t)
	env := startServer(t, envOptions{tweak: withTLS(p, t, "pbx.example")})
	addr := tlsAddr(t, env.srv)
	client := func(cn string) *tls.Config {
		cert, key := p.issue(t, cn, false)
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		return &tls.Config{RootCAs: p.pool, Certificates: []tls.Certificate{pair}}
	}
	for _, tc := range []struct {
		name string
		conf *tls.Config
		want int
	}{
		{"the trunk's name", client("pbx.example"), 200},
		{"another name", client("other.example"), 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tlsCall(t, addr, tc.conf, echoLine); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
	t.Run("no certificate", func(t *testing.T) {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: p.pool})
		if err == nil {
			// TLS 1.3 reports the refused certificate at the first read.
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, err = c.Read(make([]byte, 1))
			c.Close()
		}
		if err == nil {
			t.Error("got a connection without a client certificate, want the handshake refused")
		}
	})
	t.Run("over UDP", func(t *testing.T) {
		got := udpExchange(t, env.udp, request("INVITE", echoLine+"@"+env.udp, "127.0.0.1:5999", nil, goodSDP))
		if got != "SIP/2.0 403 Forbidden" {
			t.Errorf("got %q, want 403: the trunk calls over TLS only", got)
		}
	})
}
