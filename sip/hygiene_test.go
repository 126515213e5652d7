package sip

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/spool"
)

// blackHoleLine is a line whose agent never answers anything.
const blackHoleLine = "0120000004"

// udpSink binds a UDP socket on loopback that reads and drops what it
// gets (media nobody listens to, an agent that never answers); onMsg, if
// set, sees each datagram.
func udpSink(t testing.TB, onMsg func(c *net.UDPConn, from *net.UDPAddr, b []byte)) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadBuffer(4 << 20) // a burst answers as fast as it was sent
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if onMsg != nil {
				onMsg(c, from, buf[:n])
			}
		}
	}()
	t.Cleanup(func() {
		c.Close()
		<-done
	})
	return c
}

// ringingAgent rings for every INVITE and never answers; a CANCEL gets
// 200 and the INVITE 487, as a phone nobody picks up does.
func ringingAgent(t testing.TB) *net.UDPConn {
	var mu sync.Mutex
	invites := map[string]*sipmsg.Request{} // by Call-ID, To tag added
	return udpSink(t, func(c *net.UDPConn, from *net.UDPAddr, b []byte) {
		m, err := sipmsg.ParseMessage(append([]byte(nil), b...))
		req, ok := m.(*sipmsg.Request)
		if err != nil || !ok {
			return
		}
		reply := func(r *sipmsg.Request, code int, reason string) {
			c.WriteToUDP([]byte(sipmsg.NewResponseFromRequest(r, code, reason, nil).String()), from)
		}
		switch req.Method {
		case sipmsg.INVITE:
			inv := req.Clone()
			inv.To().Params.Add("tag", fmt.Sprintf("agent%x", rand.Uint64()))
			mu.Lock()
			invites[req.CallID().Value()] = inv
			mu.Unlock()
			reply(req, 100, "Trying")
			reply(inv, 180, "Ringing")
		case sipmsg.CANCEL:
			reply(req, 200, "OK")
			mu.Lock()
			inv := invites[req.CallID().Value()]
			delete(invites, req.CallID().Value())
			mu.Unlock()
			if inv != nil {
				reply(inv, 487, "Request Terminated")
			}
		}
	})
}

// resources are the counts that must come back to idle.
type resources struct{ goroutines, fds, ports int }

func (e *testEnv) resources(t testing.TB) resources {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return resources{goroutines: runtime.NumGoroutine(), fds: len(fds), ports: e.srv.ports.InUse()}
}

// TestBrokenCallsHygiene: after a burst of 1,000 broken calls (200 never
// ACKed, CANCEL racing the answer, a caller silent that never hangs up,
// an agent that rings for ever, an agent that never answers at all),
// goroutines, open files and RTP ports return to their idle level once
// the timeouts have passed.
func TestBrokenCallsHygiene(t *testing.T) {
	const calls = 1000
	agent := ringingAgent(t)
	blackHole := udpSink(t, nil)
	media := udpSink(t, nil)
	env := startServer(t, envOptions{
		notice: 100 * time.Millisecond, optOutWait: "50ms", maxCalls: 2 * calls, rtpPorts: "40000-47999",
		agent: "sip:agent@" + agent.LocalAddr().String(),
		tweak: func(c *config.Config) {
			withLines(2*time.Second, 0)(c)
			c.SIP.AnswerTimeout = config.Duration(time.Second)
			c.SIP.RateLimit.PerSource = config.Bucket{Rate: 10 * calls, Burst: calls}
			c.SIP.RateLimit.Global = c.SIP.RateLimit.PerSource
			// The burst is the point: overload control (its own test)
			// would refuse most of it on a loaded machine.
			c.SIP.Overload.MaxSetupsPending = 2 * calls
			c.SIP.Overload.SetupQueueTimeout = config.MaxSetupQueueTimeout
			l, _ := c.Line(agentLine)
			bh := *l
			bh.Number, bh.Downstream = blackHoleLine, "sip:agent@"+blackHole.LocalAddr().String()
			c.Lines = append(c.Lines, bh)
		},
	})

	// The callers share one socket; what each does with the answer
	// depends on its kind.
	kinds := []string{"never-acked", "cancel-race", "silent-caller", "agent-rings", "agent-silent"}
	dialled := []string{echoLine, echoLine, noOptOut, agentLine, blackHoleLine}
	var mu sync.Mutex
	kindOf := map[string]int{} // Call-ID -> kind
	acked := map[string]bool{}
	answered := map[string]bool{} // got any response
	callers := udpSink(t, func(c *net.UDPConn, from *net.UDPAddr, b []byte) {
		m, err := sipmsg.ParseMessage(append([]byte(nil), b...))
		res, ok := m.(*sipmsg.Response)
		if ok {
			mu.Lock()
			answered[res.CallID().Value()] = true
			mu.Unlock()
		}
		if err != nil || !ok || res.StatusCode != 200 || res.CSeq().MethodName != sipmsg.INVITE {
			return // BYEs, retransmissions, 487s: all left unanswered
		}
		id := res.CallID().Value()
		mu.Lock()
		k, seen := kindOf[id], acked[id]
		acked[id] = true
		mu.Unlock()
		if k < 2 || seen {
			return
		}
		ack := strings.Join([]string{
			"ACK " + res.Contact().Address.String() + " SIP/2.0",
			"Via: SIP/2.0/UDP " + c.LocalAddr().String() + ";rport;branch=" + branch(),
			"From: " + res.From().Value(), "To: " + res.To().Value(), "Call-ID: " + id,
			"CSeq: 1 ACK", "Max-Forwards: 70", "Content-Length: 0", "", ""}, "\r\n")
		c.WriteToUDP([]byte(ack), from)
	})
	server, err := net.ResolveUDPAddr("udp", env.udp)
	if err != nil {
		t.Fatal(err)
	}
	local := callers.LocalAddr().String()
	sdp := strings.Replace(goodSDP, "40000", fmt.Sprint(media.LocalAddr().(*net.UDPAddr).Port), 1)

	// Warm up: sipgo opens one client socket (and its reader) per
	// downstream address on first use and keeps it; that is the idle
	// level of a daemon that has taken calls.
	var warm []*uac
	for _, line := range []string{agentLine, blackHoleLine} {
		u := newUAC(t, env.udp, media.LocalAddr().(*net.UDPAddr).Port)
		u.invite(line)
		warm = append(warm, u)
	}
	for _, u := range warm {
		u.waitRequests(sipmsg.BYE, 1, 10*time.Second)
	}
	waitFor(t, "the warm-up calls to end", 10*time.Second, func() bool { return env.srv.ActiveCalls() == 0 })
	time.Sleep(200 * time.Millisecond)
	idle := env.resources(t)
	peak := idle
	sample := func() {
		r := env.resources(t)
		peak = resources{max(peak.goroutines, r.goroutines), max(peak.fds, r.fds), max(peak.ports, r.ports)}
	}

	start := time.Now()
	invites := map[string]string{}
	for i := range calls {
		k := i % len(kinds)
		id := fmt.Sprintf("broken-%d-%x@hygiene", i, rand.Uint32())
		mu.Lock()
		kindOf[id] = k
		mu.Unlock()
		via := "SIP/2.0/UDP " + local + ";rport;branch=" + branch()
		invites[id] = request("INVITE", dialled[k]+"@"+env.udp, local, map[string]string{"Call-ID": id, "Via": via}, sdp)
		callers.WriteToUDP([]byte(invites[id]), server)
		if kinds[k] == "cancel-race" {
			cancel := request("CANCEL", dialled[k]+"@"+env.udp, local, map[string]string{"Call-ID": id, "Via": via,
				"CSeq": "1 CANCEL", "Content-Type": "-"}, "")
			// Same From tag as the INVITE: request() uses tag=abc for both.
			callers.WriteToUDP([]byte(cancel), server)
		}
		if i%10 == 9 {
			sample()
			time.Sleep(time.Until(start.Add(time.Duration(i+1) * 2 * time.Millisecond))) // 500 calls/s
		}
	}
	// Like any UAC, retransmit an INVITE that got no response at all (a
	// loaded test machine may drop datagrams on loopback).
	for range 4 {
		time.Sleep(500 * time.Millisecond)
		mu.Lock()
		for id, inv := range invites {
			if !answered[id] {
				callers.WriteToUDP([]byte(inv), server)
			}
		}
		mu.Unlock()
	}
	waitFor(t, "every broken call to end", 60*time.Second, func() bool {
		sample()
		return env.srv.ActiveCalls() == 0
	})
	ended := time.Since(start)
	const slack = 8 // runtime and sipgo background goroutines that come and go
	var now resources
	deadline := time.Now().Add(40 * time.Second)
	for {
		now = env.resources(t)
		if now.goroutines <= idle.goroutines+slack && now.fds <= idle.fds && now.ports == 0 {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<22)
			t.Fatalf("idle %+v, peak %+v, still %+v %v after the start\n%s", idle, peak, now, time.Since(start),
				goroutineSummary(string(buf[:runtime.Stack(buf, true)])))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("idle %+v, peak %+v, after %v %+v (all calls ended after %v)", idle, peak, time.Since(start).Round(time.Second), now, ended.Round(time.Second))
	if peak.ports < calls/4 {
		t.Errorf("got at most %d calls' ports held at once, want the burst to overlap", peak.ports)
	}

	reasons := map[string]int{}
	for _, m := range env.manifests(t) {
		if m.State != spool.StateDone && m.State != spool.StateSpooled {
			t.Errorf("call %s left in state %q", m.ID, m.State)
		}
		reasons[m.EndReason]++
	}
	var tally []string
	for r, n := range reasons {
		tally = append(tally, fmt.Sprintf("%s=%d", r, n))
	}
	sort.Strings(tally)
	t.Logf("end reasons: %s", strings.Join(tally, " "))
	if n := len(env.manifests(t)); n != calls+2 {
		t.Errorf("got %d final manifests, want one per call (%d and 2 to warm up)", n, calls)
	}
}

// goroutineSummary counts goroutines by the function they were created
// by, for a failure message.
func goroutineSummary(stacks string) string {
	count := map[string]int{}
	for _, g := range strings.Split(stacks, "\n\n") {
		lines := strings.Split(g, "\n")
		key := lines[0]
		if len(lines) > 1 {
			key = lines[1]
		}
		for _, l := range lines {
			if strings.HasPrefix(l, "created by ") {
				key += " <- " + l
			}
		}
		count[key]++
	}
	var out []string
	for k, n := range count {
		out = append(out, fmt.Sprintf("%5d %s", n, k))
	}
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return strings.Join(out, "\n")
}
