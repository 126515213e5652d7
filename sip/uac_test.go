package sip

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"
)

// uac is a scripted SIP caller on a raw UDP socket, for the flows SIPp's
// scenarios do not cover: session timers, holds without RTP, requests
// Kiroku sends to the caller. It answers Kiroku's BYE, re-INVITE and
// UPDATE with 200 (copying Session-Expires) unless told to ignore that
// method, and keeps every message it gets.
type uac struct {
	t      testing.TB
	conn   *net.UDPConn
	local  string // our host:port
	server string // Kiroku's UDP host:port
	rtp    int    // the port our SDP offers
	offer  string // the INVITE's SDP when set (else sdp("sendrecv"))
	// noOffer sends the INVITE without SDP (a delayed offer); ackBody is
	// then the answer its ACK carries ("" for none).
	noOffer bool
	ackBody string
	from    string // the From user; "" is 0312345678

	mu       sync.Mutex
	got      []sipmsg.Message
	ignore   map[sipmsg.RequestMethod]bool // leave these requests unanswered
	callID   string
	fromTag  string
	dialled  string
	toHeader string // To of the 200, with Kiroku's tag
	target   string // Contact of the 200
	cseq     int
	done     chan struct{}
}

func newUAC(t testing.TB, server string, rtpPort int) *uac {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	u := &uac{t: t, conn: c, local: c.LocalAddr().String(), server: server, rtp: rtpPort, done: make(chan struct{})}
	go u.read()
	t.Cleanup(func() {
		c.Close()
		<-u.done
	})
	return u
}

func (u *uac) read() {
	defer close(u.done)
	buf := make([]byte, 65535)
	for {
		n, err := u.conn.Read(buf)
		if err != nil {
			return
		}
		m, err := sipmsg.ParseMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			continue
		}
		u.mu.Lock()
		u.got = append(u.got, m)
		req, isReq := m.(*sipmsg.Request)
		ignore := isReq && u.ignore[req.Method]
		u.mu.Unlock()
		if isReq && !ignore {
			u.answer(req)
		}
	}
}

// answer sends 200 to a request from Kiroku.
func (u *uac) answer(req *sipmsg.Request) {
	var res *sipmsg.Response
	switch req.Method {
	case sipmsg.ACK:
		return
	case sipmsg.INVITE:
		res = sipmsg.NewSDPResponseFromRequest(req, []byte(u.sdp(dirOf(string(req.Body())))))
	default:
		res = sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
	}
	if se := req.GetHeader("Session-Expires"); se != nil {
		res.AppendHeader(sipmsg.NewHeader("Session-Expires", se.Value()))
	}
	res.AppendHeader(sipmsg.NewHeader("Contact", "<sip:caller@"+u.local+">"))
	u.send(res.String())
}

func dirOf(sdp string) string {
	for _, d := range []string{"sendonly", "recvonly", "inactive"} {
		if strings.Contains(sdp, "a="+d) {
			return d
		}
	}
	return "sendrecv"
}

// ignoreRequests leaves Kiroku's requests of method unanswered.
func (u *uac) ignoreRequests(method sipmsg.RequestMethod) {
	u.mu.Lock()
	if u.ignore == nil {
		u.ignore = map[sipmsg.RequestMethod]bool{}
	}
	u.ignore[method] = true
	u.mu.Unlock()
}

func (u *uac) send(msg string) {
	addr, err := net.ResolveUDPAddr("udp", u.server)
	if err != nil {
		u.t.Fatal(err)
	}
	if _, err := u.conn.WriteToUDP([]byte(msg), addr); err != nil {
		u.t.Errorf("uac send: %v", err)
	}
}

// sdp offers PCMU and telephone-event on the uac's RTP port.
func (u *uac) sdp(dir string) string {
	return "v=0\r\no=- 1 " + strconv.Itoa(rand.IntN(1000)+1) + " IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio " + strconv.Itoa(u.rtp) + " RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=" + dir + "\r\n"
}

func branch() string { return "z9hG4bK" + strconv.FormatUint(rand.Uint64(), 36) }

// request builds a request of the uac's dialog; headers are "Name: value".
func (u *uac) request(method, uri string, cseq int, to string, body string, headers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, uri)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;rport;branch=%s\r\n", u.local, branch())
	from := u.from
	if from == "" {
		from = "0312345678"
	}
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=%s\r\n", from, u.local, u.fromTag)
	fmt.Fprintf(&b, "To: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n", to, u.callID, cseq, method)
	fmt.Fprintf(&b, "Contact: <sip:caller@%s>\r\nMax-Forwards: 70\r\n", u.local)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

// invite calls dialled and returns the final response; a 2xx is ACKed
// and starts the dialog.
func (u *uac) invite(dialled string, headers ...string) *sipmsg.Response {
	u.t.Helper()
	u.mu.Lock()
	u.callID = strconv.FormatUint(rand.Uint64(), 36) + "@uac"
	u.fromTag = strconv.FormatUint(rand.Uint64(), 36)
	u.dialled = dialled
	u.cseq = 1
	u.mu.Unlock()
	offer := u.offer
	if offer == "" {
		offer = u.sdp("sendrecv")
	}
	if u.noOffer {
		offer = ""
	}
	invite := u.request("INVITE", "sip:"+dialled+"@"+u.server, 1, "<sip:"+dialled+"@"+u.server+">", offer, headers...)
	u.send(invite)
	res := u.final(1, sipmsg.INVITE)
	if !res.IsSuccess() {
		// The ACK of a failure belongs to the INVITE's transaction: same
		// Via, the To of the response.
		via, _, _ := strings.Cut(strings.SplitN(invite, "\r\nVia: ", 2)[1], "\r\n")
		u.send(strings.Join([]string{
			"ACK sip:" + dialled + "@" + u.server + " SIP/2.0", "Via: " + via,
			"From: " + res.From().Value(), "To: " + res.To().Value(), "Call-ID: " + u.callID,
			"CSeq: 1 ACK", "Max-Forwards: 70", "Content-Length: 0", "", ""}, "\r\n"))
	}
	if res.IsSuccess() {
		u.mu.Lock()
		u.toHeader = res.To().Value()
		u.target = res.Contact().Address.String()
		u.mu.Unlock()
		if u.noOffer {
			u.send(u.request("ACK", u.target, 1, u.toHeader, u.ackBody))
		} else {
			u.ack(1)
		}
	}
	return res
}

func (u *uac) ack(cseq int) {
	u.send(u.request("ACK", u.target, cseq, u.toHeader, ""))
}

// inDialog sends a request of the dialog and returns its final response
// (ACKing a 2xx to INVITE).
func (u *uac) inDialog(method sipmsg.RequestMethod, body string, headers ...string) *sipmsg.Response {
	u.t.Helper()
	u.mu.Lock()
	u.cseq++
	n := u.cseq
	u.mu.Unlock()
	u.send(u.request(string(method), u.target, n, u.toHeader, body, headers...))
	res := u.final(n, method)
	if method == sipmsg.INVITE && res.IsSuccess() {
		u.ack(n)
	}
	return res
}

// final waits for the final response to our request cseq.
func (u *uac) final(cseq int, method sipmsg.RequestMethod) *sipmsg.Response {
	u.t.Helper()
	var res *sipmsg.Response
	waitFor(u.t, fmt.Sprintf("final response to %s %d", method, cseq), 10*time.Second, func() bool {
		u.mu.Lock()
		defer u.mu.Unlock()
		for _, m := range u.got {
			r, ok := m.(*sipmsg.Response)
			if ok && !r.IsProvisional() && r.CSeq() != nil && int(r.CSeq().SeqNo) == cseq && r.CSeq().MethodName == method &&
				r.CallID() != nil && r.CallID().Value() == u.callID {
				res = r
				return true
			}
		}
		return false
	})
	return res
}

// requests returns the requests of method Kiroku sent so far.
func (u *uac) requests(method sipmsg.RequestMethod) []*sipmsg.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []*sipmsg.Request
	for _, m := range u.got {
		if r, ok := m.(*sipmsg.Request); ok && r.Method == method {
			out = append(out, r)
		}
	}
	return out
}

// waitRequests waits until Kiroku has sent n requests of method.
func (u *uac) waitRequests(method sipmsg.RequestMethod, n int, d time.Duration) []*sipmsg.Request {
	u.t.Helper()
	waitFor(u.t, fmt.Sprintf("%d %s from Kiroku", n, method), d, func() bool { return len(u.requests(method)) >= n })
	return u.requests(method)
}

// testObserver counts what the server reports.
type testObserver struct {
	mu        sync.Mutex
	limited   map[string]int
	responses map[string]int // "INVITE 503"
}

func newTestObserver() *testObserver {
	return &testObserver{limited: map[string]int{}, responses: map[string]int{}}
}

func (o *testObserver) Responded(method string, code int) {
	o.mu.Lock()
	o.responses[method+" "+strconv.Itoa(code)]++
	o.mu.Unlock()
}

func (o *testObserver) CallEnded(CallSummary) {}

func (o *testObserver) Limited(scope string) {
	o.mu.Lock()
	o.limited[scope]++
	o.mu.Unlock()
}

func (o *testObserver) Authenticated(outcome string) {
	o.mu.Lock()
	o.limited["auth "+outcome]++
	o.mu.Unlock()
}

func (o *testObserver) DownstreamState(uri string, up bool) {
	o.mu.Lock()
	o.limited["downstream "+uri+" "+map[bool]string{true: "up", false: "down"}[up]]++
	o.mu.Unlock()
}

func (o *testObserver) DownstreamGone(uri string) {}

func (o *testObserver) DownstreamAttempt(outcome string) {
	o.mu.Lock()
	o.limited["attempt "+outcome]++
	o.mu.Unlock()
}

func (o *testObserver) count(scope string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.limited[scope]
}

// responses returns the responses with code Kiroku sent so far.
func (u *uac) responses(code int) []*sipmsg.Response {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []*sipmsg.Response
	for _, m := range u.got {
		if r, ok := m.(*sipmsg.Response); ok && r.StatusCode == code {
			out = append(out, r)
		}
	}
	return out
}
