package sip

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/spool"
)

// answer parses a 200 OK holding the given extra header lines.
func answer(t *testing.T, headers ...string) *sipmsg.Response {
	t.Helper()
	raw := "SIP/2.0 200 OK\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n" +
		"From: <sip:kiroku@127.0.0.1>;tag=a\r\n" +
		"To: <sip:acd@127.0.0.1>;tag=b\r\n" +
		"Call-ID: agentid-test\r\n" +
		"CSeq: 1 INVITE\r\n"
	for _, h := range headers {
		raw += h + "\r\n"
	}
	raw += "Content-Length: 0\r\n\r\n"
	m, err := sipmsg.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return m.(*sipmsg.Response)
}

// TestAgentIdentity: each source reads its part of the answer; an answer
// without it, and values unfit to keep, give no identity.
func TestAgentIdentity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		source  string
		headers []string
		want    string
		err     string // part of the error; "" for none
	}{
		{"header", "header:X-Agent-Id", []string{"X-Agent-Id: A-1001"}, "A-1001", ""},
		{"header name in another case", "header:x-agent-id", []string{"X-Agent-Id: A-1001"}, "A-1001", ""},
		{"header, spaces around", "header:X-Agent-Id", []string{"X-Agent-Id:   A-1001  "}, "A-1001", ""},
		{"header, Japanese name", "header:X-Agent-Name", []string{"X-Agent-Name: 佐藤"}, "佐藤", ""},
		{"header missing", "header:X-Agent-Id", []string{"X-Other: A-1001"}, "", "not in the answer"},
		{"header empty", "header:X-Agent-Id", []string{"X-Agent-Id: "}, "", "not in the answer"},
		{"pai user", "pai", []string{`P-Asserted-Identity: "Sato" <sip:agent1001@acd.example>`}, "agent1001", ""},
		{"pai tel", "pai", []string{"P-Asserted-Identity: <tel:+81312345678;phone-context=acd>"}, "+81312345678", ""},
		{"pai display name when no user", "pai", []string{`P-Asserted-Identity: "Agent 7" <sip:acd.example>`}, "Agent 7", ""},
		{"pai second value has the user", "pai", []string{`P-Asserted-Identity: "Desk" <sip:acd.example>, <sip:a7@acd.example>`}, "a7", ""},
		{"pai display name with a comma", "pai", []string{`P-Asserted-Identity: "Sato, Taro" <sip:acd.example>, <sip:a8@acd.example>`}, "a8", ""},
		{"pai quoted comma, no user", "pai", []string{`P-Asserted-Identity: "Sato, Taro" <sip:acd.example>`}, "Sato, Taro", ""},
		{"pai in two headers", "pai", []string{"P-Asserted-Identity: <sip:acd.example>", "P-Asserted-Identity: <tel:1001>"}, "1001", ""},
		{"pai missing", "pai", nil, "", "not in the answer"},
		{"contact user", "contact", []string{"Contact: <sip:a-2002@192.0.2.7:5060>"}, "a-2002", ""},
		{"contact without user", "contact", []string{"Contact: <sip:192.0.2.7:5060>"}, "", "not in the answer"},
		{"contact missing", "contact", nil, "", "not in the answer"},
		{"no source", "", []string{"X-Agent-Id: A-1001"}, "", "not in the answer"},
		{"too long", "header:X-Agent-Id", []string{"X-Agent-Id: " + strings.Repeat("a", 65)}, "", "65 bytes, more than 64"},
		{"64 is kept", "header:X-Agent-Id", []string{"X-Agent-Id: " + strings.Repeat("a", 64)}, strings.Repeat("a", 64), ""},
		{"control character", "header:X-Agent-Id", []string{"X-Agent-Id: A\x1b[31m1001"}, "", "U+001B"},
		{"tab inside", "header:X-Agent-Id", []string{"X-Agent-Id: A\t1001"}, "", "U+0009"},
		{"not UTF-8", "header:X-Agent-Id", []string{"X-Agent-Id: A\xff1001"}, "", "not UTF-8"},
		{"bidi override", "header:X-Agent-Id", []string{"X-Agent-Id: A\u202e1001"}, "", "U+202E"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := agentIdentity(tc.source, answer(t, tc.headers...))
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("got error %v, want one saying %q", err, tc.err)
			}
			if tc.err == "not in the answer" && !errors.Is(err, errNoAgentID) {
				t.Errorf("got %v, want errNoAgentID", err)
			}
		})
	}
}

// TestAgentIdentityEndToEnd: a SIPp agent's 200 names the agent in a
// header, in P-Asserted-Identity and in its Contact; a line reads the
// one its agent_identity says into the final manifest, a line naming a
// header the answer lacks records none, and the value is logged at
// debug only.
func TestAgentIdentityEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		source, want, wantSource string
	}{
		{"header:X-Agent-Id", "A-1001", "header:X-Agent-Id"},
		{"pai", "a1001", "pai"},
		{"contact", "agent1001", "contact"},
		{"header:X-Queue-Agent", "", ""},
		{"", "", ""},
	} {
		t.Run(fmt.Sprintf("agent_identity=%q", tc.source), func(t *testing.T) {
			ap := newRTPPeer(t)
			ag := sippAgent(t, "uas_agentid.xml", ap, 0)
			env := startServer(t, envOptions{notice: 300 * time.Millisecond, optOutWait: "100ms",
				agent: fmt.Sprintf("sip:acd@127.0.0.1:%d", ag.Port()),
				tweak: func(c *config.Config) { c.Lines[1].AgentIdentity = tc.source }})
			c := caller(t, env, "uac.xml", agentLine, newRTPPeer(t), 1500*time.Millisecond, nil)
			mustSucceed(t, c)
			mustSucceed(t, ag)
			m := env.finalManifest(t)
			if m.BridgedAt == nil {
				t.Fatalf("got manifest %+v, want bridged", m)
			}
			if m.AgentID != tc.want || m.AgentIDSource != tc.wantSource {
				t.Errorf("got agent_id %q from %q, want %q from %q", m.AgentID, m.AgentIDSource, tc.want, tc.wantSource)
			}
			if !strings.HasPrefix(m.Downstream, "sip:acd@127.0.0.1:") {
				t.Errorf("got downstream %q, want the line's URI as before", m.Downstream)
			}
			for _, e := range env.logs.All() {
				if e.Level > zap.DebugLevel && strings.Contains(fmt.Sprint(e.Message, e.ContextMap()), "1001") {
					t.Errorf("the agent's identity in a %s log entry: %s %v", e.Level, e.Message, e.ContextMap())
				}
			}
		})
	}
}

// FuzzAgentIdentity: whatever a 200 carries in the header, the PAI and
// the Contact, reading it never panics, and what is kept is short valid
// UTF-8 without control characters or surrounding spaces.
func FuzzAgentIdentity(f *testing.F) {
	f.Add("A-1001", `"Sato" <sip:a1001@acd.example>`, "<sip:agent@192.0.2.7>")
	f.Add("\x1b[2J", `"a,b\" <sip:x@y>, <tel:+1;x=y>`, "<sips:%00@h>")
	f.Add("", `<`, `"`)
	f.Fuzz(func(t *testing.T, header, pai, contact string) {
		raw := "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nFrom: <sip:k@127.0.0.1>;tag=a\r\n" +
			"To: <sip:acd@127.0.0.1>;tag=b\r\nCall-ID: fuzz\r\nCSeq: 1 INVITE\r\n" +
			"X-Agent-Id: " + header + "\r\nP-Asserted-Identity: " + pai + "\r\nContact: " + contact + "\r\nContent-Length: 0\r\n\r\n"
		m, err := sipmsg.ParseMessage([]byte(raw))
		if err != nil {
			return
		}
		res, ok := m.(*sipmsg.Response)
		if !ok {
			return
		}
		for _, source := range []string{"header:X-Agent-Id", "pai", "contact"} {
			id, err := agentIdentity(source, res)
			if err != nil {
				continue
			}
			bad := id == "" || len(id) > spool.MaxAgentID || !utf8.ValidString(id) || strings.TrimSpace(id) != id ||
				strings.ContainsFunc(id, unicode.IsControl)
			if bad {
				t.Errorf("%s kept %q", source, id)
			}
		}
	})
}
