package sip

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
	"github.com/kiroku-voice/kiroku/spool"
)

// TestIPv6Calls: a call over [::1] with IPv6 media on both legs, and an
// IPv4 carrier with an IPv6 agent through two media interfaces, are
// bridged and recorded with audio on both channels.
func TestIPv6Calls(t *testing.T) {
	for _, tc := range []struct {
		name     string
		callerV6 bool
	}{
		{"IPv6 both legs", true},
		{"IPv4 carrier, IPv6 agent", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v6 := net.ParseIP("::1")
			ap := newRTPPeerOn(t, v6)
			ag := sipptest.Start(t, sipptest.Options{
				Scenario: sipptest.Scenario(t, "uas.xml"),
				Keys:     map[string]string{"rtp_port": strconv.Itoa(ap.port())},
				IP:       "::1",
				Timeout:  60 * time.Second,
			})
			env := startServer(t, envOptions{notice: 300 * time.Millisecond, optOutWait: "100ms",
				agent: fmt.Sprintf("sip:agent@[::1]:%d", ag.Port()),
				tweak: func(c *config.Config) {
					c.SIP.MediaInterfaces = []config.MediaInterface{{Name: "v6", Bind: "::1",
						BindAddr: netip.MustParseAddr("::1"), AdvAddr: netip.MustParseAddr("::1")}}
					c.SIP.Listeners = append(c.SIP.Listeners, config.Listener{Network: "udp", Host: "::1", Port: 0})
					c.SIP.Trunks[0].Prefixes = append(c.SIP.Trunks[0].Prefixes, netip.MustParsePrefix("::1/128"))
					if tc.callerV6 {
						c.SIP.Trunks[0].MediaInterface = "v6"
					}
					c.Lines[1].DownstreamMediaInterface = "v6"
				}})
			var remote string
			for _, l := range env.srv.Listeners() {
				if l.Network == "udp" && l.Addr.Addr().Is6() == tc.callerV6 {
					remote = l.Addr.String()
				}
			}
			cp := newRTPPeer(t)
			if tc.callerV6 {
				cp = newRTPPeerOn(t, v6)
			}
			opts := sipptest.Options{
				Scenario: sipptest.Scenario(t, "uac.xml"),
				Remote:   remote,
				Keys:     map[string]string{"dialled": agentLine, "caller": "0312345678", "rtp_port": strconv.Itoa(cp.port())},
				Duration: 3 * time.Second,
				Timeout:  30 * time.Second,
			}
			if tc.callerV6 {
				opts.IP = "::1"
			}
			c := sipptest.Start(t, opts)
			t.Cleanup(func() {
				if t.Failed() {
					for _, e := range env.logs.All() {
						t.Log(e.Message, e.ContextMap())
					}
				}
			})
			ci := env.waitCall(t, "bridged")
			if got := ci.CallerRTP.Addr().Is6(); got != tc.callerV6 {
				t.Errorf("got caller media on %s, want IPv6 %v", ci.CallerRTP, tc.callerV6)
			}
			if !ci.AgentRTP.Addr().Is6() {
				t.Errorf("got agent media on %s, want IPv6 (the v6 interface)", ci.AgentRTP)
			}
			go ap.sendTone(ci.AgentRTP, 1000, 2*time.Second, nil)
			cp.sendTone(ci.CallerRTP, 440, 2*time.Second, nil)
			mustSucceed(t, c)
			mustSucceed(t, ag)
			m := env.finalManifest(t)
			if m.State != spool.StateSpooled {
				t.Fatalf("got state %q, want spooled", m.State)
			}
			left, right := env.recording(t, m)
			if !dominant(left, 440, 1000) || !dominant(right, 1000, 440) {
				t.Errorf("recording: left 440 Hz %.0f, right 1000 Hz %.0f; want the caller left and the agent right", power(left, 440), power(right, 1000))
			}
			if ms := msg(ag.Messages(), "c=IN IP6 ::1"); !ms {
				t.Error("Kiroku's offer to the agent does not name its IPv6 media address")
			}
		})
	}
}

func msg(all, want string) bool {
	for i := 0; i+len(want) <= len(all); i++ {
		if all[i:i+len(want)] == want {
			return true
		}
	}
	return false
}

// TestAdvertisedMediaAddress: a media interface whose advertised address
// differs from the one it binds (Kiroku behind NAT) puts the advertised
// one in the SDP's c= and o= lines, and binds the other.
func TestAdvertisedMediaAddress(t *testing.T) {
	ag := sippAgent(t, "uas_busy.xml", nil, 0)
	env := startServer(t, envOptions{notice: 200 * time.Millisecond, optOutWait: "100ms",
		agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port()),
		tweak: func(c *config.Config) {
			c.SIP.MediaInterfaces = []config.MediaInterface{{Name: "nat", Bind: "127.0.0.1", Advertise: "203.0.113.7",
				BindAddr: netip.MustParseAddr("127.0.0.1"), AdvAddr: netip.MustParseAddr("203.0.113.7")}}
			c.Lines[1].DownstreamMediaInterface = "nat"
		}})
	cp := newRTPPeer(t)
	mustSucceed(t, caller(t, env, "uac_wait_bye.xml", agentLine, cp, 0, nil))
	mustSucceed(t, ag)
	msgs := ag.Messages()
	if !msg(msgs, "c=IN IP4 203.0.113.7") || !msg(msgs, "IN IP4 203.0.113.7\r\ns=") && !msg(msgs, "IN IP4 203.0.113.7\ns=") {
		t.Errorf("the offer to the agent does not advertise 203.0.113.7 in c= and o=:\n%s", msgs)
	}
	if msg(msgs, "c=IN IP4 127.0.0.1\r\nt=") {
		t.Error("the offer to the agent names the bound address")
	}
}
