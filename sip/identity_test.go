package sip

import (
	"fmt"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/kiroku-voice/kiroku/internal/config"
)

func TestCallerIdentity(t *testing.T) {
	for _, tc := range []struct {
		name     string
		identity string
		from     string
		headers  []string
		want     identity
	}{
		{"untrusted: PAI and Privacy ignored", config.IdentityFrom, "anonymous",
			[]string{"P-Asserted-Identity: <sip:+81312345678@carrier.example>", "Privacy: id"},
			identity{number: "anonymous", from: "anonymous"}},
		{"pai with privacy id", config.IdentityPAI, "anonymous",
			[]string{"P-Asserted-Identity: <sip:+81312345678@carrier.example>", "Privacy: id"},
			identity{number: "0312345678", from: "anonymous", asserted: "sip:+81312345678@carrier.example", in: "pai", user: "+81312345678", privacy: "id", withheld: true}},
		{"pai, privacy none", config.IdentityPAI, "0312345678",
			[]string{`P-Asserted-Identity: "Taro" <sip:0312345678@carrier.example;user=phone>`, "Privacy: none"},
			identity{number: "0312345678", from: "0312345678", asserted: "sip:0312345678@carrier.example;user=phone", in: "pai", user: "0312345678", privacy: "none"}},
		{"pai tel URI after a name-only one", config.IdentityPAI, "anonymous",
			[]string{`P-Asserted-Identity: <sip:anonymous@anonymous.invalid>, <tel:+81312345678;phone-context=x>`, "Privacy: user; critical"},
			identity{number: "0312345678", from: "anonymous", asserted: "tel:+81312345678;phone-context=x", in: "pai", user: "+81312345678", privacy: "user; critical", withheld: true}},
		{"pai without a number: From kept", config.IdentityPAI, "0312345678",
			[]string{"P-Asserted-Identity: <sip:anonymous@anonymous.invalid>"},
			identity{number: "0312345678", from: "0312345678"}},
		{"pai absent, privacy id: withheld all the same", config.IdentityPAI, "anonymous",
			[]string{"Privacy: id"},
			identity{number: "anonymous", from: "anonymous", privacy: "id", withheld: true}},
		{"rpid calling party, privacy full", config.IdentityRPID, "anonymous",
			[]string{`Remote-Party-ID: <sip:+81312345678@gw.example>;party=calling;screen=yes;privacy=full`},
			identity{number: "0312345678", from: "anonymous", asserted: "sip:+81312345678@gw.example", in: "rpid", user: "+81312345678", withheld: true}},
		{"rpid called party skipped", config.IdentityRPID, "0399990000",
			[]string{`Remote-Party-ID: <sip:0120000001@gw.example>;party=called, "A, B" <sip:0312345678@gw.example>;party=calling;privacy=off`},
			identity{number: "0312345678", from: "0399990000", asserted: "sip:0312345678@gw.example", in: "rpid", user: "0312345678"}},
		{"rpid mode ignores PAI", config.IdentityRPID, "0399990000",
			[]string{"P-Asserted-Identity: <sip:+81312345678@carrier.example>"},
			identity{number: "0399990000", from: "0399990000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := "INVITE sip:0120000001@kiroku SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n" +
				"From: <sip:" + tc.from + "@192.0.2.1>;tag=a\r\nTo: <sip:0120000001@kiroku>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n" +
				strings.Join(tc.headers, "\r\n") + "\r\nContent-Length: 0\r\n\r\n"
			msg, err := sipmsg.ParseMessage([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			got := callerIdentity(msg.(*sipmsg.Request), &config.Trunk{Name: "ngn", Identity: tc.identity})
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestAssertedIdentityCall: a call from a trunk trusted to assert
// identity, with From anonymous, P-Asserted-Identity +81312345678 and
// Privacy: id, is recorded under 0312345678, withheld, with From, the
// asserted identity and the trunk in the manifest, and the agent gets
// the PAI and Privacy; from an untrusted trunk the same headers are
// ignored and not passed on.
func TestAssertedIdentityCall(t *testing.T) {
	for _, tc := range []struct {
		name     string
		identity string
		caller   string
		withheld bool
		asserted string
		live     string // the caller as the calls in progress show it
	}{
		{"trusted", config.IdentityPAI, "0312345678", true, "sip:+81312345678@carrier.example", "withheld"},
		{"untrusted", config.IdentityFrom, "anonymous", false, "", "anonymous"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ag := agent(t, "uas.xml", newRTPPeer(t), 1)
			env := startServer(t, envOptions{notice: 300 * time.Millisecond, optOutWait: "100ms",
				agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port()),
				tweak: func(c *config.Config) { c.SIP.Trunks[0].Identity = tc.identity }})
			u := newUAC(t, env.udp, newRTPPeer(t).port())
			u.from = "anonymous"
			if res := u.invite(agentLine, "P-Asserted-Identity: <sip:+81312345678@carrier.example>", "Privacy: id"); res.StatusCode != 200 {
				t.Fatalf("got %d, want 200", res.StatusCode)
			}
			if ci := env.waitCall(t, "bridged"); ci.Caller != tc.live {
				t.Errorf("call in progress: got caller %q, want %q", ci.Caller, tc.live)
			}
			if res := u.inDialog(sipmsg.BYE, ""); res.StatusCode != 200 {
				t.Fatalf("BYE: got %d, want 200", res.StatusCode)
			}
			mustSucceed(t, ag)
			m := env.finalManifest(t)
			if m.Caller != tc.caller || m.CallerWithheld != tc.withheld || m.CallerAsserted != tc.asserted {
				t.Errorf("got caller %q, withheld %v, asserted %q; want %q, %v, %q", m.Caller, m.CallerWithheld, m.CallerAsserted, tc.caller, tc.withheld, tc.asserted)
			}
			if tc.asserted != "" && (m.CallerFrom != "anonymous" || m.CallerAssertedBy != "test" || m.CallerAssertedIn != "pai" || m.CallerPrivacy != "id") {
				t.Errorf("got from %q, asserted by %q in %q, privacy %q; want anonymous, test, pai, id", m.CallerFrom, m.CallerAssertedBy, m.CallerAssertedIn, m.CallerPrivacy)
			}
			msgs := ag.Messages()
			invite := msgs[strings.Index(msgs, "INVITE sip:"):]
			invite = invite[:strings.Index(invite, "\n\n")]
			hasPAI := strings.Contains(invite, "P-Asserted-Identity: <sip:+81312345678@") && strings.Contains(invite, "Privacy: id")
			if hasPAI != (tc.asserted != "") {
				t.Errorf("agent's INVITE has P-Asserted-Identity and Privacy: %v, want %v\n%s", hasPAI, tc.asserted != "", invite)
			}
			for _, e := range env.logs.All() {
				for _, f := range e.Context {
					if strings.Contains(f.String, "312345678") || strings.Contains(e.Message, "312345678") {
						t.Errorf("log %q has the caller's number unmasked in %s=%q", e.Message, f.Key, f.String)
					}
				}
			}
		})
	}
}
