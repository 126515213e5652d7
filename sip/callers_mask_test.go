package sip

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestHostileCallersMaskedInLogs: a caller number written in full-width
// digits, behind a bidi override or with a zero-width joiner is logged
// masked like an ASCII one: no log line carries its digits in clear, in
// any of the forms it came in.
func TestHostileCallersMaskedInLogs(t *testing.T) {
	for _, from := range []string{
		"%EF%BC%90%EF%BC%93%EF%BC%8D1234%EF%BC%8D5678",                                               // ０３－1234－5678
		"%EF%BC%90%EF%BC%93%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96%EF%BC%97%EF%BC%98", // ０３１２３４５６７８
		"%E2%80%AE0312345678",
		"0312%E2%80%8D345678",
	} {
		raw, err := url.PathUnescape(from)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(raw, func(t *testing.T) {
			env := startServer(t, envOptions{})
			u := newUAC(t, env.udp, newRTPPeer(t).port())
			u.from = from
			if res := u.invite(echoLine); res.StatusCode != 200 {
				t.Fatalf("got %d %s, want 200", res.StatusCode, res.Reason)
			}
			time.Sleep(200 * time.Millisecond)
			u.inDialog("BYE", "")
			if m := env.finalManifest(t); m.Caller != "0312345678" {
				t.Fatalf("stored caller %q, want 0312345678", m.Caller)
			}
			clear := []string{"345678", "1234", "5678", raw, from, "４５６７８", "５６７８"}
			masked := false
			for _, e := range env.logs.All() {
				line := e.Message
				for k, v := range e.ContextMap() {
					line += fmt.Sprintf(" %s=%v", k, v)
				}
				for _, c := range clear {
					if strings.Contains(line, c) {
						t.Errorf("log line carries %q of the caller in clear: %s", c, line)
					}
				}
				masked = masked || strings.Contains(line, "0312****78")
			}
			if !masked {
				t.Error("no log line names the caller masked as 0312****78")
			}
		})
	}
}
