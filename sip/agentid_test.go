package sip

import (
	"errors"
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
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
