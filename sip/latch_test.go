package sip

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/testenv/baresiptest"
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
