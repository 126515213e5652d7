package sip

import (
	"strings"
	"testing"
	"time"
)

// offerAt is an offer of PCMU and telephone-event at c= addr.
func offerAt(family, addr string) string {
	return "v=0\r\no=- 1 1 IN " + family + " " + addr + "\r\ns=-\r\nc=IN " + family + " " + addr + "\r\nt=0 0\r\n" +
		"m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
}

// TestOfferAddressFamily: an offer whose address the caller leg's media
// address cannot send to (linphone's default, an IPv6 ULA, to an
// IPv4-bound Kiroku) is refused with 488 and a 301 Warning naming both;
// and a notice that cannot be sent for any other reason ends the call
// (media-failed, a BYE, the error logged) rather than bridging it
// unrecorded as if the caller had hung up.
func TestOfferAddressFamily(t *testing.T) {
	env := startServer(t, envOptions{})
	t.Run("another family", func(t *testing.T) {
		u := newUAC(t, env.udp, 40000)
		u.offer = offerAt("IP6", "fd00::2")
		res := u.invite(echoLine)
		w := res.GetHeader("Warning")
		if res.StatusCode != 488 || w == nil || !strings.HasPrefix(w.Value(), "301 kiroku") ||
			!strings.Contains(w.Value(), "fd00::2") || !strings.Contains(w.Value(), "127.0.0.1") {
			t.Fatalf("got %d, Warning %v; want 488 with a 301 Warning naming fd00::2 and 127.0.0.1", res.StatusCode, w)
		}
		if n := env.srv.ActiveCalls(); n != 0 {
			t.Errorf("got %d active calls, want none", n)
		}
	})
	t.Run("notice not sendable", func(t *testing.T) {
		env := startServer(t, envOptions{notice: 3 * time.Second})
		peer := newRTPPeer(t)
		u := newUAC(t, env.udp, peer.port())
		if res := u.invite(echoLine); res.StatusCode != 200 {
			t.Fatalf("got %d, want the call answered", res.StatusCode)
		}
		waitFor(t, "the notice", 5*time.Second, func() bool { return len(peer.packets()) > 3 })
		// A re-offer moving the caller to an address the IPv4 socket
		// cannot send to, during the notice.
		if res := u.inDialog("INVITE", offerAt("IP6", "::1")); res.StatusCode != 200 {
			t.Fatalf("re-offer: got %d, want 200", res.StatusCode)
		}
		m := env.finalManifest(t)
		if m.EndReason != endMediaFailed || m.Recording != nil || m.BridgedAt != nil || m.Consent.Notice.Completed {
			t.Errorf("got end %q recording %v bridged %v notice completed %v; want media-failed, never bridged or recorded",
				m.EndReason, m.Recording, m.BridgedAt, m.Consent.Notice.Completed)
		}
		waitFor(t, "Kiroku's BYE", 5*time.Second, func() bool {
			u.mu.Lock()
			defer u.mu.Unlock()
			for _, msg := range u.got {
				if strings.HasPrefix(msg.String(), "BYE ") {
					return true
				}
			}
			return false
		})
		logged := false
		for _, e := range env.logs.All() {
			if strings.Contains(e.Message, "notice could not be sent") && e.ContextMap()["error"] != nil {
				logged = true
			}
		}
		if !logged {
			t.Error("the failure to send the notice was not logged with its error")
		}
	})
}
