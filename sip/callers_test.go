package sip

import (
	"strings"
	"testing"
	"time"
)

// TestHostileCallerStrings: what a caller's From may carry is tamed at the
// edge. Full-width digits and hyphens, a bidi override and zero-width
// characters (escaped, as a SIP user part carries them) are stored as the
// ASCII number, so that requests by that number find the call; a 3,000
// digit caller gets 400 and a 3,000 digit dialled number 414, and neither
// leaves a manifest.
func TestHostileCallerStrings(t *testing.T) {
	for _, c := range []struct{ name, from string }{
		{"full-width digits and hyphens", "%EF%BC%90%EF%BC%93%EF%BC%8D1234%EF%BC%8D5678"},
		{"bidi override", "%E2%80%AE0312345678"},
		{"zero-width joiner inside", "0312%E2%80%8D345678"},
		{"katakana prolonged sound mark", "03%E3%83%BC1234%E3%83%BC5678"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := startServer(t, envOptions{})
			u := newUAC(t, env.udp, newRTPPeer(t).port())
			u.from = c.from
			if res := u.invite(echoLine); res.StatusCode != 200 {
				t.Fatalf("got %d %s, want 200", res.StatusCode, res.Reason)
			}
			time.Sleep(200 * time.Millisecond)
			u.inDialog("BYE", "")
			m := env.finalManifest(t)
			if m.Caller != "0312345678" {
				t.Errorf("stored caller %q, want 0312345678", m.Caller)
			}
		})
	}
	env := startServer(t, envOptions{})
	long := strings.Repeat("9", 3000)
	for _, c := range []struct {
		name, from, dialled string
		code                int
	}{
		{"3,000 digit caller", long, echoLine, 400},
		{"3,000 digit dialled number", "0312345678", long, 414},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := newUAC(t, env.udp, newRTPPeer(t).port())
			u.from = c.from
			res := u.invite(c.dialled)
			if res.StatusCode != c.code {
				t.Fatalf("got %d %s, want %d", res.StatusCode, res.Reason, c.code)
			}
			if c.code == 400 {
				if w := header(res, "Warning"); !strings.Contains(w, "at most 64") {
					t.Errorf("Warning %q, want the bound named", w)
				}
			}
		})
	}
	if n := len(env.manifests(t)); n != 0 {
		t.Errorf("got %d manifests for refused calls, want 0", n)
	}
}
