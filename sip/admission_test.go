package sip

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   envOptions
		line   string
		expect string
	}{
		{"unknown number", envOptions{}, "0120999999", "404"},
		{"outside allow-list", envOptions{trunkCIDR: "127.0.0.2/32"}, echoLine, "403"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := startServer(t, tc.opts)
			peer := newRTPPeer(t)
			p := caller(t, env, "uac_expect.xml", tc.line, peer, 0, map[string]string{"expect": tc.expect})
			mustSucceed(t, p)
			if n := len(env.manifests(t)); n != 0 {
				t.Errorf("got %d manifests for a refused call, want 0", n)
			}
		})
	}
}

// udpExchange sends one datagram and returns the first response line.
func udpExchange(t *testing.T, to string, msg string) string {
	t.Helper()
	c, err := net.Dial("udp", to)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		return "no response: " + err.Error()
	}
	return strings.SplitN(string(buf[:n]), "\r\n", 2)[0]
}

func request(method, target, local string, hdrs map[string]string, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:%s SIP/2.0\r\n", method, target)
	order := []string{"Via", "From", "To", "Call-ID", "CSeq", "Contact", "Max-Forwards", "Require", "Content-Type"}
	def := map[string]string{
		"Via":          "SIP/2.0/UDP " + local + ";rport;branch=z9hG4bK" + fmt.Sprint(time.Now().UnixNano()),
		"From":         "<sip:0312345678@" + local + ">;tag=abc",
		"To":           "<sip:" + target + ">",
		"Call-ID":      fmt.Sprint(time.Now().UnixNano()) + "@test",
		"CSeq":         "1 " + method,
		"Contact":      "<sip:caller@" + local + ">",
		"Max-Forwards": "70",
		"Require":      "-",
		"Content-Type": "application/sdp",
	}
	for _, h := range order {
		v, ok := hdrs[h]
		if !ok {
			v = def[h]
		}
		if v == "-" {
			continue
		}
		fmt.Fprintf(&b, "%s: %s\r\n", h, v)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

const goodSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"

// TestMalformedInvites: each broken INVITE gets a precise 4xx, creates no
// call, and the server still answers OPTIONS afterwards.
func TestMalformedInvites(t *testing.T) {
	env := startServer(t, envOptions{})
	target := echoLine + "@" + env.udp
	for _, tc := range []struct {
		name string
		hdrs map[string]string
		body string
		want string
	}{
		{"no contact", map[string]string{"Contact": "-"}, goodSDP, "SIP/2.0 400 Missing Contact"},
		{"bad sdp", nil, "v=0\r\nm=audio notaport RTP/AVP 0\r\n", "SIP/2.0 400 Bad SDP"},
		{"sdp without audio", nil, "v=0\r\nc=IN IP4 127.0.0.1\r\nm=video 4000 RTP/AVP 96\r\n", "SIP/2.0 400 Bad SDP"},
		{"no common codec", nil, strings.Replace(goodSDP, "RTP/AVP 0 101", "RTP/AVP 18", 1), "SIP/2.0 488 Not Acceptable Here"},
		{"body not sdp", map[string]string{"Content-Type": "text/plain"}, "hello", "SIP/2.0 415 Unsupported Media Type"},
		{"unknown extension required", map[string]string{"Require": "foo"}, goodSDP, "SIP/2.0 420 Bad Extension"},
		{"unknown extension beside 100rel", map[string]string{"Require": "100rel, foo"}, goodSDP, "SIP/2.0 420 Bad Extension"},
		{"cseq method mismatch", map[string]string{"CSeq": "1 BYE"}, goodSDP, "SIP/2.0 400 CSeq Method Mismatch"},
		{"garbage cseq", map[string]string{"CSeq": "x INVITE"}, goodSDP, "SIP/2.0 400 Bad Request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := udpExchange(t, env.udp, request("INVITE", target, "127.0.0.1:5999", tc.hdrs, tc.body))
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if got := udpExchange(t, env.udp, request("OPTIONS", target, "127.0.0.1:5999", map[string]string{"Content-Type": "-"}, "")); got != "SIP/2.0 200 OK" {
		t.Errorf("OPTIONS after malformed INVITEs: got %q, want 200 OK", got)
	}
	if n := env.srv.ActiveCalls(); n != 0 {
		t.Errorf("got %d active calls, want 0", n)
	}
}

// TestCapacity: beyond max_calls an INVITE gets 503, and an OPTIONS ping
// (a load balancer's) says the node is full until a call ends.
func TestCapacity(t *testing.T) {
	env := startServer(t, envOptions{maxCalls: 1, notice: 3 * time.Second})
	target := echoLine + "@" + env.udp
	options := func() string {
		return udpExchange(t, env.udp, request("OPTIONS", target, "127.0.0.1:5999", map[string]string{"Content-Type": "-"}, ""))
	}
	if got := options(); got != "SIP/2.0 200 OK" {
		t.Errorf("OPTIONS of an idle node: got %q, want 200 OK", got)
	}
	peer := newRTPPeer(t)
	p := caller(t, env, "uac.xml", echoLine, peer, 2*time.Second, nil)
	env.waitCall(t, "notice")
	if got := options(); got != "SIP/2.0 503 Overloaded" {
		t.Errorf("OPTIONS of a full node: got %q, want 503 Overloaded", got)
	}
	p2 := caller(t, env, "uac_expect.xml", echoLine, newRTPPeer(t), 0, map[string]string{"expect": "503"})
	mustSucceed(t, p2)
	mustSucceed(t, p)
	waitFor(t, "the call to end", 10*time.Second, func() bool { return env.srv.ActiveCalls() == 0 })
	if got := options(); got != "SIP/2.0 200 OK" {
		t.Errorf("OPTIONS once the call ended: got %q, want 200 OK", got)
	}
}
