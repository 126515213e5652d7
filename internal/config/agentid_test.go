package config

import (
	"strings"
	"testing"
)

func TestAgentIdentityGiven(t *testing.T) {
	c, err := Load("testdata/agentid/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"header:X-Agent-Id", AgentIdentityPAI, AgentIdentityContact, ""} {
		if got := c.Lines[i].AgentIdentity; got != want {
			t.Errorf("line %d: got agent_identity %q, want %q", i, got, want)
		}
	}
}

func TestAgentIdentityInvalid(t *testing.T) {
	_, err := Load("testdata/agentid/invalid.yaml")
	if err == nil {
		t.Fatal("got no error")
	}
	want := []string{
		`invalid.yaml:6: lines[0].agent_identity: "PAI" is not header:<Name>, pai or contact`,
		`invalid.yaml:7: lines[1].agent_identity: "header:" names no header (header:X-Agent-Id, say)`,
		`invalid.yaml:8: lines[2].agent_identity: "X Agent" is not a header name (letters, digits and -.!%*_+` + "`'~)",
		`invalid.yaml:9: lines[3].agent_identity: header name is longer than 64 characters`,
	}
	got := strings.Split(strings.ReplaceAll(err.Error(), "testdata/agentid/", ""), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAgentIdentityHeader(t *testing.T) {
	for _, tc := range []struct {
		source, name string
		ok           bool
	}{
		{"header:X-Agent-Id", "X-Agent-Id", true},
		{"header:", "", false},
		{"pai", "", false},
		{"", "", false},
	} {
		name, ok := AgentIdentityHeader(tc.source)
		if name != tc.name || ok != tc.ok {
			t.Errorf("AgentIdentityHeader(%q): got %q, %v, want %q, %v", tc.source, name, ok, tc.name, tc.ok)
		}
	}
}
