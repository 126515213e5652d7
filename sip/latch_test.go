package sip

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/testenv/baresiptest"
	"github.com/kiroku-voice/kiroku/spool"
)

// TestBaresipDefaultNetwork: baresip as a new user runs it, without
// net_interface, calls the echo line of a trunk with media_latching:
// learn; its RTP is taken from where it comes (127.0.0.1) whatever its
// SDP names, and the caller's channel holds its tone. Kiroku sends its
// RTP only to the learned source: nothing to the SDP's address, which
// may be the machine's non-loopback one.
func TestBaresipDefaultNetwork(t *testing.T) {
	baresiptest.Need(t)
	env := startServer(t, envOptions{tweak: func(c *config.Config) {
		c.SIP.Trunks[0].MediaLatching = config.LatchingLearn
	}})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	caller := baresiptest.Start(t, baresiptest.Options{
		User: "0312345678", DefaultNetwork: true,
		Source: toneWAV(t, filepath.Join(t.TempDir(), "caller.wav"), 440, 4*time.Second),
		Dial:   fmt.Sprintf("sip:%s@%s", echoLine, env.udp),
	})
	if err := caller.WaitFor(ctx, "terminated (duration"); err != nil {
		t.Fatalf("the caller's call did not end: %v", err)
	}
	m := env.finalManifest(t)
	if m.Recording == nil || len(m.MediaSources) == 0 {
		t.Fatalf("got manifest %+v, want a recording and its media sources", m)
	}
	src := m.MediaSources[0]
	t.Logf("caller media source: %+v", src)
	sdp, err := netip.ParseAddrPort(src.SDPAddr)
	if err != nil {
		t.Fatalf("caller sdp_addr %q: %v", src.SDPAddr, err)
	}
	latched, err := netip.ParseAddrPort(src.LatchedFrom)
	if err != nil {
		t.Fatalf("caller latched_from %q: %v", src.LatchedFrom, err)
	}
	if src.Latching != config.LatchingLearn || !latched.Addr().IsLoopback() {
		t.Errorf("got caller media source %+v, want learn, latched to a loopback source", src)
	}
	if !sdp.Addr().IsLoopback() && src.ForeignSource != src.LatchedFrom {
		t.Errorf("got foreign source %q, want the latched %q reported for an SDP naming %v", src.ForeignSource, src.LatchedFrom, sdp)
	}
	if sdp.Addr().IsLoopback() {
		t.Logf("baresip's SDP named %v: this machine has no other address, so the test only shows learning from the SDP's own source", sdp)
	}
	if len(m.Recording.SilentChannels) != 0 || m.Recording.Channels[0].Packets < 50 {
		t.Errorf("got channels %+v, silent %q; want the caller's packets recorded", m.Recording.Channels, m.Recording.SilentChannels)
	}
	left, _ := env.recording(t, m)
	if !dominant(left, 440, 1000) {
		t.Errorf("left channel: 440 Hz power %.0f, want the caller's tone", power(left, 440))
	}
}

// peerOn is an rtpPeer bound on ip: an agent platform's media server
// that sends from another address than the one its SDP names (both on
// loopback).
func peerOn(t *testing.T, ip netip.Addr) *rtpPeer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip.AsSlice()})
	if err != nil {
		t.Fatal(err)
	}
	p := &rtpPeer{t: t, conn: c, ssrc: 0x5678, seq: 1, ts: 1, done: make(chan struct{})}
	go p.read()
	t.Cleanup(p.close)
	return p
}

// TestDownstreamLatching: the agent's SDP names one address, its RTP
// comes from another (a load-balanced media farm). learn takes it and
// sends the caller's audio there, nothing to the SDP's address; strict
// drops it, the agent channel is flagged silent, and the foreign source
// is logged once for the agent leg with both addresses.
func TestDownstreamLatching(t *testing.T) {
	for _, tc := range []struct {
		latching string
		learn    bool
	}{
		{config.LatchingLearn, true},
		{config.LatchingStrict, false},
	} {
		t.Run(tc.latching, func(t *testing.T) {
			announced := newRTPPeer(t)
			media := peerOn(t, netip.MustParseAddr("127.0.0.2"))
			ag := agent(t, "uas.xml", announced, 1)
			env := startServer(t, envOptions{notice: 300 * time.Millisecond, optOutWait: "100ms",
				agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port()),
				tweak: func(c *config.Config) {
					for i := range c.Lines {
						c.Lines[i].DownstreamLatching = tc.latching
					}
				}})
			cp := newRTPPeer(t)
			c := caller(t, env, "uac.xml", agentLine, cp, 3*time.Second, nil)
			ci := env.waitCall(t, "bridged")
			done := make(chan int, 2)
			go func() { done <- cp.sendTone(ci.CallerRTP, 440, time.Second, nil) }()
			go func() { done <- media.sendTone(ci.AgentRTP, 1000, time.Second, nil) }()
			<-done
			<-done
			mustSucceed(t, c)
			mustSucceed(t, ag)
			m := env.finalManifest(t)

			toMedia, toAnnounced := audioCount(media.packets()), audioCount(announced.packets())
			if tc.learn && (toMedia == 0 || toAnnounced != 0) {
				t.Errorf("learn: got %d packets at the agent's source and %d at its SDP address, want some and none", toMedia, toAnnounced)
			}
			if !tc.learn && (toMedia != 0 || toAnnounced == 0) {
				t.Errorf("strict: got %d packets at the agent's source and %d at its SDP address, want none and some", toMedia, toAnnounced)
			}
			if m.Recording == nil || len(m.MediaSources) != 2 {
				t.Fatalf("got manifest %+v, want a recording and both legs' media sources", m)
			}
			src := m.MediaSources[1]
			from := media.conn.LocalAddr().String()
			want := spool.MediaSource{Side: "agent", Latching: tc.latching, SDPAddr: fmt.Sprintf("127.0.0.1:%d", announced.port()),
				ForeignSource: from, ForeignPackets: src.ForeignPackets, HeldPackets: src.HeldPackets}
			if tc.learn {
				want.LatchedFrom = from
			}
			if src != want || src.ForeignPackets == 0 {
				t.Errorf("got agent media source %+v, want %+v with foreign packets", src, want)
			}
			silent := slices.Contains(m.Recording.SilentChannels, "agent")
			if silent == tc.learn {
				t.Errorf("got silent channels %q, want the agent's silent: %v", m.Recording.SilentChannels, !tc.learn)
			}
			logged := 0
			for _, e := range env.logs.All() {
				f := e.ContextMap()
				if strings.Contains(e.Message, "address other than the sdp's") && f["leg"] == "agent" {
					logged++
					if f["rtp_from"] != from || f["sdp_addr"] != want.SDPAddr || f["latching"] != tc.latching {
						t.Errorf("got log fields %v, want rtp_from %s, sdp_addr %s, latching %s", f, from, want.SDPAddr, tc.latching)
					}
				}
			}
			if logged != 1 {
				t.Errorf("got the agent's foreign source logged %d times, want once", logged)
			}
		})
	}
}
