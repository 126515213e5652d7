package sip

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
	"github.com/pion/srtp/v3"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/testenv/baresiptest"
	"github.com/kiroku-voice/kiroku/media"
)

// toneWAV writes a sine of freq Hz lasting dur as an 8 kHz mono WAV.
func toneWAV(t *testing.T, path string, freq float64, dur time.Duration) string {
	t.Helper()
	pcm := make([]int16, int(dur.Seconds()*8000))
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	writeWAV(t, path, pcm)
	return path
}

// freeSIPPort returns a port whose UDP and TCP sockets and the TCP port
// after it (baresip's TLS) are free on 127.0.0.1.
func freeSIPPort(t *testing.T) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l2, err2 := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+1))
		u, err3 := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port))
		l.Close()
		if err2 == nil {
			l2.Close()
		}
		if err3 == nil {
			u.Close()
		}
		if err2 == nil && err3 == nil {
			return port
		}
	}
	t.Fatal("no free SIP port pair")
	return 0
}

// bundle writes a PEM file holding a certificate and its key, as baresip
// wants them.
func bundle(t *testing.T, certFile, keyFile string) string {
	t.Helper()
	c, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	k, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	path := certFile + ".bundle"
	if err := os.WriteFile(path, append(c, k...), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSRTPBaresip: a caller (baresip) over SIP-TLS with mandatory SRTP
// is bridged to an agent (baresip) reached by sips: with mandatory SRTP,
// its certificate from a private CA. Both legs really are SRTP
// (baresip refuses anything else), and the recording holds each side's
// tone: audio is recorded after decryption.
func TestSRTPBaresip(t *testing.T) {
	baresiptest.Need(t)
	p := newPKI(t)
	agentPort := freeSIPPort(t)
	agentCert, agentKey := p.issue(t, "agent", true)
	tls := withTLS(p, t, "")
	env := startServer(t, envOptions{
		agent: fmt.Sprintf("sips:agent@127.0.0.1:%d", agentPort+1),
		tweak: func(c *config.Config) {
			tls(c)
			c.SIP.TLS.DownstreamCA = p.caFile
			c.SIP.Trunks[0].SRTP = config.SRTPRequired
			for i := range c.Lines {
				if c.Lines[i].Number == agentLine {
					c.Lines[i].DownstreamSRTP = config.SRTPRequired
				}
			}
		},
	})
	dir := t.TempDir()
	agent := baresiptest.Start(t, baresiptest.Options{
		User: "agent", Listen: fmt.Sprintf("127.0.0.1:%d", agentPort), MediaEnc: "srtp-mand", AutoAnswer: true,
		Certificate: bundle(t, agentCert, agentKey), CAFile: p.caFile,
		Source: toneWAV(t, filepath.Join(dir, "agent.wav"), 1000, 10*time.Second),
	})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := agent.WaitFor(ctx, "baresip is ready"); err != nil {
		t.Fatal(err)
	}
	caller := baresiptest.Start(t, baresiptest.Options{
		User: "0312345678", Transport: "tls", MediaEnc: "srtp-mand", CAFile: p.caFile,
		Source: toneWAV(t, filepath.Join(dir, "caller.wav"), 440, 5*time.Second),
		Dial:   fmt.Sprintf("sip:%s@%s", agentLine, tlsAddr(t, env.srv)), // TLS: the account's transport
	})
	// baresip hangs up when its tone ends.
	if err := caller.WaitFor(ctx, "terminated (duration"); err != nil {
		t.Fatalf("the caller's call did not end: %v", err)
	}
	for name, ua := range map[string]*baresiptest.UA{"caller": caller, "agent": agent} {
		if out := ua.Output(); !strings.Contains(out, "SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)") {
			t.Errorf("%s: baresip did not report SRTP", name)
		}
	}
	m := env.finalManifest(t)
	if m.CallerMedia != "SRTP AES_CM_128_HMAC_SHA1_80" || m.AgentMedia != "SRTP AES_CM_128_HMAC_SHA1_80" {
		t.Errorf("got media %q / %q, want SRTP on both legs", m.CallerMedia, m.AgentMedia)
	}
	if !strings.HasPrefix(m.Source, "TLS:") && !strings.HasPrefix(m.Source, "tls:") {
		t.Errorf("got source %q, want the TLS listener", m.Source)
	}
	if m.Recording == nil {
		t.Fatalf("nothing recorded: %+v", m)
	}
	left, right := env.recording(t, m)
	if len(left) < 8000 {
		t.Fatalf("got %d samples, want over a second of bridged audio", len(left))
	}
	if !dominant(left, 440, 1000) {
		t.Errorf("left channel: 440 Hz power %.0f, 1000 Hz %.0f; want the caller's 440 Hz", power(left, 440), power(left, 1000))
	}
	if !dominant(right, 1000, 440) {
		t.Errorf("right channel: 1000 Hz power %.0f, 440 Hz %.0f; want the agent's 1000 Hz", power(right, 1000), power(right, 440))
	}
	for i, ch := range m.Recording.Channels {
		if ch.Packets < 50 {
			t.Errorf("channel %d: got %+v, want the bridged packets", i, ch)
		}
	}
}

// srtpSDP is an offer on port with the given transport and crypto lines.
func srtpSDP(port int, proto string, crypto ...string) string {
	s := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " + strconv.Itoa(port) + " " + proto +
		" 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
	for _, c := range crypto {
		s += "a=crypto:" + c + "\r\n"
	}
	return s
}

func testKey(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }

// TestSRTPAdmission: each trunk setting takes or refuses each kind of
// offer with the right answer.
func TestSRTPAdmission(t *testing.T) {
	aes80 := "1 AES_CM_128_HMAC_SHA1_80 inline:" + testKey(30)
	gcm := "2 AEAD_AES_128_GCM inline:" + testKey(28)
	f8 := "1 F8_128_HMAC_SHA1_80 inline:" + testKey(30)
	for _, tc := range []struct {
		policy, name, body string
		want               string // status line
		warning            string // in the Warning header
		answer             string // in the 200's SDP
	}{ // answers with a crypto line carry Kiroku's own key under the caller's tag
		{config.SRTPOptional, "plain", srtpSDP(40000, "RTP/AVP"), "SIP/2.0 200 OK", "", "RTP/AVP 0"},
		{config.SRTPOptional, "savp", srtpSDP(40000, "RTP/SAVP", aes80), "SIP/2.0 200 OK", "", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"},
		{config.SRTPOptional, "best effort", srtpSDP(40000, "RTP/AVP", gcm), "SIP/2.0 200 OK", "", "a=crypto:2 AEAD_AES_128_GCM inline:"},
		{config.SRTPOptional, "first usable line", srtpSDP(40000, "RTP/SAVP", f8, gcm), "SIP/2.0 200 OK", "", "a=crypto:2 AEAD_AES_128_GCM inline:"},
		{config.SRTPOptional, "no usable crypto", srtpSDP(40000, "RTP/SAVP", f8), "SIP/2.0 488 Not Acceptable Here", "no supported SRTP crypto suite", ""},
		{config.SRTPOptional, "dtls", srtpSDP(40000, "UDP/TLS/RTP/SAVP"), "SIP/2.0 488 Not Acceptable Here", "transport UDP/TLS/RTP/SAVP not supported", ""},
		{config.SRTPRequired, "plain refused", srtpSDP(40000, "RTP/AVP"), "SIP/2.0 488 Not Acceptable Here", "SRTP required from this trunk", ""},
		{config.SRTPRequired, "savp", srtpSDP(40000, "RTP/SAVP", aes80), "SIP/2.0 200 OK", "", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"},
		{config.SRTPOff, "savp refused", srtpSDP(40000, "RTP/SAVP", aes80), "SIP/2.0 488 Not Acceptable Here", "SRTP not accepted from this trunk", ""},
		{config.SRTPOff, "best effort ignored", srtpSDP(40000, "RTP/AVP", aes80), "SIP/2.0 200 OK", "", "RTP/AVP 0"},
	} {
		t.Run(tc.policy+" "+tc.name, func(t *testing.T) {
			env := startServer(t, envOptions{tweak: func(c *config.Config) { c.SIP.Trunks[0].SRTP = tc.policy }})
			u := newUAC(t, env.udp, 40000)
			u.offer = tc.body
			res := u.invite(echoLine)
			if got := "SIP/2.0 " + strconv.Itoa(res.StatusCode) + " " + res.Reason; got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if tc.warning != "" {
				if w := res.GetHeader("Warning"); w == nil || !strings.Contains(w.Value(), tc.warning) {
					t.Errorf("got Warning %v, want one containing %q", w, tc.warning)
				}
				return
			}
			body := string(res.Body())
			if !strings.Contains(body, tc.answer) {
				t.Errorf("answer lacks %q:\n%s", tc.answer, body)
			}
			if secure := strings.Contains(tc.body, "RTP/SAVP"); secure != strings.Contains(body, "RTP/SAVP") {
				t.Errorf("the answer's transport differs from the offer's:\n%s", body)
			}
			if strings.Contains(tc.answer, "crypto") && strings.Contains(body, testKey(30)) {
				t.Error("the answer repeats the caller's key instead of sending ours")
			}
			if !strings.Contains(tc.answer, "crypto") && strings.Contains(body, "a=crypto") {
				t.Errorf("a plain answer carries a crypto line:\n%s", body)
			}
			u.inDialog(sipmsg.BYE, "")
		})
	}
}

// TestSRTPDownstream: the line's downstream_srtp against agents that
// answer with and without SRTP.
func TestSRTPDownstream(t *testing.T) {
	t.Run("optional, plain agent", func(t *testing.T) {
		ag := agent(t, "uas.xml", newRTPPeer(t), 1)
		env := startServer(t, envOptions{notice: 400 * time.Millisecond, optOutWait: "200ms",
			agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port()),
			tweak: func(c *config.Config) { setDownstreamSRTP(c, config.SRTPOptional) }})
		c := caller(t, env, "uac.xml", agentLine, newRTPPeer(t), 2*time.Second, nil)
		mustSucceed(t, c)
		m := env.finalManifest(t)
		if m.AgentMedia != "RTP" || m.CallerMedia != "RTP" || m.BridgedAt == nil {
			t.Errorf("got media %q / %q bridged %v, want a bridged RTP call", m.CallerMedia, m.AgentMedia, m.BridgedAt)
		}
	})
	t.Run("required, plain agent", func(t *testing.T) {
		ag := agent(t, "uas.xml", newRTPPeer(t), 1)
		env := startServer(t, envOptions{notice: 400 * time.Millisecond, optOutWait: "200ms",
			agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port()),
			tweak: func(c *config.Config) { setDownstreamSRTP(c, config.SRTPRequired) }})
		caller(t, env, "uac_wait_bye.xml", agentLine, newRTPPeer(t), 0, nil)
		m := env.finalManifest(t)
		if m.DownstreamStatus != 488 || m.EndReason != endDownstreamFailed || m.Recording != nil {
			t.Errorf("got status %d, end %q, recording %v; want 488, %s and nothing recorded",
				m.DownstreamStatus, m.EndReason, m.Recording != nil, endDownstreamFailed)
		}
	})
	t.Run("optional, SRTP agent", func(t *testing.T) {
		baresiptest.Need(t)
		port := freeSIPPort(t)
		dir := t.TempDir()
		ag := baresiptest.Start(t, baresiptest.Options{
			User: "agent", Listen: fmt.Sprintf("127.0.0.1:%d", port), MediaEnc: "srtp", AutoAnswer: true,
			Source: toneWAV(t, filepath.Join(dir, "agent.wav"), 1000, 10*time.Second),
		})
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		if err := ag.WaitFor(ctx, "baresip is ready"); err != nil {
			t.Fatal(err)
		}
		env := startServer(t, envOptions{notice: 400 * time.Millisecond, optOutWait: "200ms",
			agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", port),
			tweak: func(c *config.Config) { setDownstreamSRTP(c, config.SRTPOptional) }})
		cp := newRTPPeer(t)
		c := caller(t, env, "uac.xml", agentLine, cp, 3*time.Second, nil)
		ci := env.waitCall(t, "bridged")
		go cp.sendTone(ci.CallerRTP, 440, 2*time.Second, nil)
		mustSucceed(t, c)
		m := env.finalManifest(t)
		if m.AgentMedia != "SRTP AES_CM_128_HMAC_SHA1_80" || m.CallerMedia != "RTP" {
			t.Errorf("got media %q / %q, want RTP from the caller, SRTP to the agent", m.CallerMedia, m.AgentMedia)
		}
		if err := ag.WaitFor(ctx, "SRTP is Enabled"); err != nil {
			t.Error(err)
		}
		left, right := env.recording(t, m)
		if !dominant(left, 440, 1000) || !dominant(right, 1000, 440) {
			t.Errorf("recording: left 440/1000 Hz %.0f/%.0f, right %.0f/%.0f; want the caller left, the SRTP agent right",
				power(left, 440), power(left, 1000), power(right, 1000), power(right, 440))
		}
	})
}

func setDownstreamSRTP(c *config.Config, v string) {
	for i := range c.Lines {
		if c.Lines[i].Number == agentLine {
			c.Lines[i].DownstreamSRTP = v
		}
	}
}

// srtpPeer is a test caller's SRTP media: a socket, the context that
// seals what it sends and the one that opens what Kiroku sends.
type srtpPeer struct {
	conn     *net.UDPConn
	seal     *srtp.Context
	open     *srtp.Context
	seq      uint16
	ts       uint32
	ssrc     uint32
	received atomic.Int64 // packets from Kiroku that decrypted
	failed   atomic.Int64 // packets from Kiroku that did not
}

func newSRTPPeer(t *testing.T, conn *net.UDPConn) *srtpPeer {
	p := &srtpPeer{conn: conn, ssrc: 0x5eed}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			if o := p.opener(); o == nil {
				continue
			} else if _, err := o.DecryptRTP(nil, buf[:n], nil); err != nil {
				p.failed.Add(1)
			} else {
				p.received.Add(1)
			}
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return p
}

var srtpPeerMu sync.Mutex

func (p *srtpPeer) opener() *srtp.Context {
	srtpPeerMu.Lock()
	defer srtpPeerMu.Unlock()
	return p.open
}

// key sets the keys: ours (sealing) and Kiroku's (opening).
func (p *srtpPeer) key(t *testing.T, ours, theirs media.Crypto) {
	t.Helper()
	ctx := func(c media.Crypto) *srtp.Context {
		x, err := srtp.CreateContext(c.Key[:16], c.Key[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	srtpPeerMu.Lock()
	defer srtpPeerMu.Unlock()
	p.seal = ctx(ours)
	if len(theirs.Key) > 0 {
		p.open = ctx(theirs)
	}
}

// send seals and sends n frames of a tone to Kiroku, 20 ms apart.
func (p *srtpPeer) send(t *testing.T, to netip.AddrPort, n int) {
	t.Helper()
	for i := range n {
		p.seq++
		p.ts += 160
		pkt := make([]byte, 12, 12+160+10)
		pkt[0], pkt[1] = 0x80, 0
		binary.BigEndian.PutUint16(pkt[2:], p.seq)
		binary.BigEndian.PutUint32(pkt[4:], p.ts)
		binary.BigEndian.PutUint32(pkt[8:], p.ssrc)
		pkt = append(pkt, toneFrame(440, i)...)
		srtpPeerMu.Lock()
		sealed, err := p.seal.EncryptRTP(nil, pkt, nil)
		srtpPeerMu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.conn.WriteToUDPAddrPort(sealed, to); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// answerCrypto reads Kiroku's crypto line and RTP address from an answer.
func answerCrypto(t *testing.T, body []byte) (media.Crypto, netip.AddrPort) {
	t.Helper()
	d, err := media.ParseSDP(body)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := d.PickCrypto()
	if !ok {
		t.Fatalf("answer without a crypto line:\n%s", body)
	}
	return c, d.RemoteAddr()
}

// TestSRTPReinvite: an SRTP caller on the echo line re-keys by
// re-INVITE and the echo goes on under the new key; a plain re-offer on
// the SRTP leg is refused and changes nothing.
func TestSRTPReinvite(t *testing.T) {
	env := startServer(t, envOptions{notice: 400 * time.Millisecond, optOutWait: "100ms"})
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	peer := newSRTPPeer(t, conn)
	k1, _ := media.NewCrypto(1, media.DefaultSuite)
	u := newUAC(t, env.udp, port)
	u.offer = srtpSDP(port, "RTP/SAVP", k1.String())
	res := u.invite(echoLine)
	if res.StatusCode != 200 {
		t.Fatalf("got %d, want 200", res.StatusCode)
	}
	theirs, to := answerCrypto(t, res.Body())
	peer.key(t, k1, theirs)
	env.waitCall(t, "bridged")
	peer.send(t, to, 25)
	waitFor(t, "the echo under the first key", 5*time.Second, func() bool { return peer.received.Load() >= 45 })

	// Re-key: a new caller key under the same tag.
	k2, _ := media.NewCrypto(1, media.DefaultSuite)
	res = u.inDialog(sipmsg.INVITE, srtpSDP(port, "RTP/SAVP", k2.String()))
	if res.StatusCode != 200 {
		t.Fatalf("re-key re-INVITE: got %d, want 200", res.StatusCode)
	}
	again, _ := answerCrypto(t, res.Body())
	if again.String() != theirs.String() {
		t.Errorf("Kiroku changed its own key on a re-key by the caller")
	}
	before := peer.received.Load()
	peer.key(t, k2, media.Crypto{})
	peer.send(t, to, 25)
	waitFor(t, "the echo under the new key", 5*time.Second, func() bool { return peer.received.Load() >= before+20 })

	// A best-effort form of the same (RTP/AVP with a crypto line) is
	// answered in its own transport (RFC 3264), still SRTP.
	res = u.inDialog(sipmsg.INVITE, srtpSDP(port, "RTP/AVP", k2.String()))
	if res.StatusCode != 200 || !strings.Contains(string(res.Body()), "m=audio") ||
		strings.Contains(string(res.Body()), "RTP/SAVP") || !strings.Contains(string(res.Body()), "a=crypto:1 ") {
		t.Fatalf("RTP/AVP re-offer with crypto: got %d\n%s", res.StatusCode, res.Body())
	}
	// DTLS-SRTP is not spoken: refused.
	if res = u.inDialog(sipmsg.INVITE, srtpSDP(port, "UDP/TLS/RTP/SAVP")); res.StatusCode != 488 {
		t.Fatalf("DTLS re-offer: got %d, want 488", res.StatusCode)
	}
	// A plain re-offer would put the audio in the clear: refused.
	res = u.inDialog(sipmsg.INVITE, srtpSDP(port, "RTP/AVP"))
	if res.StatusCode != 488 {
		t.Fatalf("plain re-offer: got %d, want 488", res.StatusCode)
	}
	before = peer.received.Load()
	peer.send(t, to, 10)
	waitFor(t, "the echo still under the new key", 5*time.Second, func() bool { return peer.received.Load() >= before+8 })

	// An offerless re-INVITE: Kiroku offers in its 200, the caller
	// answers in the ACK with a new key, and the echo follows it.
	u.mu.Lock()
	u.cseq++
	n := u.cseq
	u.mu.Unlock()
	u.send(u.request("INVITE", u.target, n, u.toHeader, ""))
	if res = u.final(n, sipmsg.INVITE); res.StatusCode != 200 || !strings.Contains(string(res.Body()), "a=crypto:1 ") {
		t.Fatalf("offerless re-INVITE: got %d\n%s", res.StatusCode, res.Body())
	}
	k3, _ := media.NewCrypto(1, media.DefaultSuite)
	u.send(u.request("ACK", u.target, n, u.toHeader, srtpSDP(port, "RTP/SAVP", k3.String())))
	time.Sleep(100 * time.Millisecond) // the ACK has no response to wait for
	before = peer.received.Load()
	peer.key(t, k3, media.Crypto{})
	peer.send(t, to, 10)
	waitFor(t, "the echo under the key answered in the ACK", 5*time.Second, func() bool { return peer.received.Load() >= before+8 })
	if n := peer.failed.Load(); n != 0 {
		t.Errorf("%d packets from Kiroku failed to decrypt", n)
	}
	u.inDialog(sipmsg.BYE, "")
	m := env.finalManifest(t)
	if m.CallerMedia != "SRTP AES_CM_128_HMAC_SHA1_80" {
		t.Errorf("got caller media %q", m.CallerMedia)
	}
}
