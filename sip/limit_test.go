package sip

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
)

func TestLimiter(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	t.Run("burst, then the rate", func(t *testing.T) {
		l := newLimiter(config.RateLimit{PerSource: config.Bucket{Rate: 2, Burst: 3}, Global: config.Bucket{Rate: 100, Burst: 100}})
		for i := range 3 {
			if scope, _ := l.allow(a, t0); scope != "" {
				t.Fatalf("INVITE %d of the burst: got refused (%s)", i, scope)
			}
		}
		scope, wait := l.allow(a, t0)
		if scope != limitSource || wait != 500*time.Millisecond {
			t.Fatalf("past the burst: got %q, retry in %v; want source, 500ms", scope, wait)
		}
		if scope, _ := l.allow(b, t0); scope != "" {
			t.Errorf("another source: got refused (%s)", scope)
		}
		if scope, _ := l.allow(a, t0.Add(500*time.Millisecond)); scope != "" {
			t.Errorf("after one token's time: got refused (%s)", scope)
		}
		if scope, _ := l.allow(a, t0.Add(500*time.Millisecond)); scope != limitSource {
			t.Errorf("the token spent again: got %q, want source", scope)
		}
	})
	t.Run("global refusal leaves the source's tokens", func(t *testing.T) {
		l := newLimiter(config.RateLimit{PerSource: config.Bucket{Rate: 1, Burst: 1}, Global: config.Bucket{Rate: 1, Burst: 1}})
		if scope, _ := l.allow(a, t0); scope != "" {
			t.Fatalf("first: got refused (%s)", scope)
		}
		if scope, _ := l.allow(b, t0); scope != limitGlobal {
			t.Fatalf("second source: got %q, want global", scope)
		}
		if scope, _ := l.allow(b, t0.Add(time.Second)); scope != "" {
			t.Errorf("second source once the global bucket refilled: got refused (%s)", scope)
		}
	})
	t.Run("a source over its limit spends no global tokens", func(t *testing.T) {
		l := newLimiter(config.RateLimit{PerSource: config.Bucket{Rate: 1, Burst: 1}, Global: config.Bucket{Rate: 1, Burst: 2}})
		for range 100 {
			l.allow(a, t0)
		}
		if scope, _ := l.allow(b, t0); scope != "" {
			t.Errorf("other source after a's flood: got refused (%s)", scope)
		}
	})
	t.Run("IPv6 counted per /64, mapped IPv4 as IPv4", func(t *testing.T) {
		l := newLimiter(config.RateLimit{PerSource: config.Bucket{Rate: 1, Burst: 1}, Global: config.Bucket{Rate: 100, Burst: 100}})
		l.allow(netip.MustParseAddr("2001:db8:1:2::1"), t0)
		if scope, _ := l.allow(netip.MustParseAddr("2001:db8:1:2:ffff::9"), t0); scope != limitSource {
			t.Errorf("same /64: got %q, want source", scope)
		}
		if scope, _ := l.allow(netip.MustParseAddr("2001:db8:1:3::1"), t0); scope != "" {
			t.Errorf("other /64: got refused (%s)", scope)
		}
		l.allow(netip.MustParseAddr("192.0.2.9"), t0)
		if scope, _ := l.allow(netip.MustParseAddr("::ffff:192.0.2.9"), t0); scope != limitSource {
			t.Errorf("IPv4-mapped: got %q, want it counted with its IPv4 address", scope)
		}
	})
	t.Run("the source table stays bounded", func(t *testing.T) {
		l := newLimiter(config.RateLimit{PerSource: config.Bucket{Rate: 1, Burst: 1}, Global: config.Bucket{Rate: 1, Burst: 1}})
		l.max = 100
		for i := range 10000 {
			l.allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), t0)
		}
		if n := l.size(); n != 100 {
			t.Errorf("got %d sources held, want the bound 100", n)
		}
	})
}

// flood sends n INVITEs for dialled from a socket bound to src, at rate
// per second, and tallies the responses by status code (distinct
// Call-IDs, so retransmissions count once).
type floodResult struct {
	sent       int
	callIDs    map[int]map[string]bool
	retryAfter []string
}

func flood(t *testing.T, server, src, dialled string, n, rate int, wait time.Duration) floodResult {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(src)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadBuffer(4 << 20) // the responses come as fast as the flood goes
	to, _ := net.ResolveUDPAddr("udp", server)
	local := conn.LocalAddr().String()
	res := floodResult{callIDs: map[int]map[string]bool{}}
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			k, err := conn.Read(buf)
			if err != nil {
				return
			}
			// Read cheaply (status, Call-ID, Retry-After) to keep up.
			code, callID, retry := 0, "", ""
			for i, ln := range strings.Split(string(buf[:k]), "\r\n") {
				name, v, _ := strings.Cut(ln, ":")
				switch {
				case i == 0:
					code, _ = strconv.Atoi(strings.Fields(ln + " x x")[1])
				case name == "Call-ID":
					callID = strings.TrimSpace(v)
				case name == "Retry-After":
					retry = strings.TrimSpace(v)
				}
			}
			if code < 200 {
				continue
			}
			mu.Lock()
			if res.callIDs[code] == nil {
				res.callIDs[code] = map[string]bool{}
			}
			if !res.callIDs[code][callID] && code == 503 {
				res.retryAfter = append(res.retryAfter, retry)
			}
			res.callIDs[code][callID] = true
			mu.Unlock()
		}
	}()
	start := time.Now()
	for i := range n {
		if i%10 == 0 {
			time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))))
		}
		msg := request("INVITE", dialled+"@"+server, local, map[string]string{
			"Call-ID": fmt.Sprintf("flood-%d-%d@%s", i, rand.Uint32(), src),
			"Via":     "SIP/2.0/UDP " + local + ";rport;branch=z9hG4bKflood" + strconv.Itoa(i),
		}, goodSDP)
		if _, err := conn.WriteToUDP([]byte(msg), to); err != nil {
			t.Fatal(err)
		}
		res.sent++
	}
	time.Sleep(wait)
	conn.Close()
	<-done
	return res
}

// TestRateLimitFlood: 2,000 INVITEs a second from one address are cut to
// that address's rate (the rest get 503 with Retry-After, statelessly),
// while a SIPp caller on another address completes its calls.
func TestRateLimitFlood(t *testing.T) {
	obs := newTestObserver()
	env := startServer(t, envOptions{notice: 200 * time.Millisecond, optOutWait: "100ms", obs: obs})
	peer := newRTPPeer(t)
	sipp := sipptest.Start(t, sipptest.Options{
		Scenario: sipptest.Scenario(t, "uac.xml"),
		Remote:   env.udp,
		Keys:     map[string]string{"dialled": noOptOut, "caller": "0312345678", "rtp_port": strconv.Itoa(peer.port())},
		Calls:    10,
		Rate:     5,
		Duration: 500 * time.Millisecond,
		Timeout:  30 * time.Second,
	})
	start := time.Now()
	fl := flood(t, env.udp, "127.0.0.2", "0120999999", 4000, 2000, 500*time.Millisecond)
	elapsed := time.Since(start)
	r := sipp.Wait(t.Context())
	if err := r.Err(); err != nil || r.Successful != 10 {
		t.Errorf("the SIPp caller on another address: got %d successful calls, want 10: %v", r.Successful, err)
	}
	// Counted where Kiroku answers: on a loaded machine a few datagrams
	// may be lost on loopback either way.
	obs.mu.Lock()
	routed := obs.responses["INVITE 404"]
	obs.mu.Unlock()
	limited := obs.count(limitSource)
	t.Logf("flood: %d INVITEs in %v: %d routed (404), %d refused (503, %d of them seen by the flooder); SIPp from 127.0.0.1: %d of 10 calls completed",
		fl.sent, elapsed.Round(time.Millisecond), routed, limited, len(fl.callIDs[503]), r.Successful)
	// Burst 40, then 20/s while the flood lasted.
	if most := 40 + int(20*elapsed.Seconds()) + 2; routed > most || routed < 40 {
		t.Errorf("got %d INVITEs of the flood through to routing, want 40 to %d", routed, most)
	}
	if routed+limited < fl.sent*98/100 || routed+limited > fl.sent {
		t.Errorf("got %d routed and %d limited of %d sent", routed, limited, fl.sent)
	}
	if got := len(fl.callIDs[503]); got > limited || got < limited*9/10 {
		t.Errorf("the flooder saw %d 503s of the %d sent", got, limited)
	}
	if obs.count(limitGlobal) != 0 {
		t.Errorf("got %d global refusals, want none: a source over its limit spends no global tokens", obs.count(limitGlobal))
	}
	for _, ra := range fl.retryAfter {
		if n, err := strconv.Atoi(ra); err != nil || n < 1 {
			t.Fatalf("got Retry-After %q, want whole seconds ≥ 1", ra)
		}
	}
}

// TestRateLimitDrop: with action drop, INVITEs over the limit get no
// answer at all.
func TestRateLimitDrop(t *testing.T) {
	obs := newTestObserver()
	env := startServer(t, envOptions{obs: obs, tweak: func(c *config.Config) {
		c.SIP.RateLimit = config.RateLimit{PerSource: config.Bucket{Rate: 1, Burst: 5}, Global: config.DefaultGlobal, Action: "drop"}
	}})
	fl := flood(t, env.udp, "127.0.0.2", "0120999999", 50, 1000, 300*time.Millisecond)
	if n := len(fl.callIDs[503]); n != 0 {
		t.Errorf("got %d 503s, want none when dropping", n)
	}
	if admitted := len(fl.callIDs[404]); admitted < 5 || admitted > 6 || obs.count(limitSource) != fl.sent-admitted {
		t.Errorf("got %d routed and %d counted dropped of %d, want 5 or 6 routed and the rest dropped", admitted, obs.count(limitSource), fl.sent)
	}
}

// TestRateLimitGlobal: many sources each under their own limit are held
// to the global one together.
func TestRateLimitGlobal(t *testing.T) {
	obs := newTestObserver()
	env := startServer(t, envOptions{obs: obs, tweak: func(c *config.Config) {
		c.SIP.RateLimit = config.RateLimit{PerSource: config.Bucket{Rate: 100, Burst: 100}, Global: config.Bucket{Rate: 1, Burst: 8}, Action: "reject"}
	}})
	routed := 0
	for i := range 5 {
		fl := flood(t, env.udp, fmt.Sprintf("127.0.0.%d", 10+i), "0120999999", 4, 1000, 100*time.Millisecond)
		routed += len(fl.callIDs[404])
	}
	if routed < 8 || routed > 10 || obs.count(limitGlobal) != 20-routed {
		t.Errorf("got %d routed, %d refused globally of 20, want the global burst of 8 (+1 per second)", routed, obs.count(limitGlobal))
	}
}

// TestRateLimitTCP: over TCP the limit applies at the start of onInvite,
// through the transaction.
func TestRateLimitTCP(t *testing.T) {
	env := startServer(t, envOptions{tweak: func(c *config.Config) {
		c.SIP.RateLimit.PerSource = config.Bucket{Rate: 1, Burst: 2}
	}})
	conn, err := net.Dial("tcp", env.tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	for i := range 4 {
		msg := request("INVITE", "0120999999@"+env.tcp, local, map[string]string{
			"Via":     "SIP/2.0/TCP " + local + ";branch=z9hG4bKtcp" + strconv.Itoa(i),
			"Call-ID": fmt.Sprintf("tcp-%d@test", i),
		}, goodSDP)
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	rd := bufio.NewReader(conn)
	var codes []string
	for len(codes) < 4 {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("after %v: %v", codes, err)
		}
		if strings.HasPrefix(line, "SIP/2.0 ") && !strings.HasPrefix(line, "SIP/2.0 100") {
			codes = append(codes, strings.Fields(line)[1])
		}
	}
	sort.Strings(codes) // each request has its own handler: any order
	if got := strings.Join(codes, " "); got != "404 404 503 503" {
		t.Errorf("got %s, want two 404s (the burst) and two 503s", got)
	}
}

// TestMalformedFloodLimited: stateless 400s to one source stop once it
// is over its limit, so garbage cannot be reflected at full rate.
func TestMalformedFloodLimited(t *testing.T) {
	obs := newTestObserver()
	env := startServer(t, envOptions{obs: obs, tweak: func(c *config.Config) {
		c.SIP.RateLimit.PerSource = config.Bucket{Rate: 1, Burst: 3}
	}})
	conn, err := net.Dial("udp", env.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for range 10 {
		if _, err := conn.Write([]byte(rawInvite(false, "\r\n"))); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	buf := make([]byte, 4096)
	for {
		conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := conn.Read(buf); err != nil {
			break
		}
		got++
	}
	if got < 3 || got > 4 || obs.count(limitMalformed) != 10-got {
		t.Errorf("got %d 400s and %d withheld of 10, want the burst of 3 answered and the rest withheld", got, obs.count(limitMalformed))
	}
}
