package config

import "strings"

// A line's agent_identity says where the agent platform (ACD) names the
// agent who took the call, in the answer (200 OK) of the agent leg:
//
//	header:<Name>  the value of that header (ACDs that add one, such as
//	               X-Agent-Id)
//	pai            the user part of its P-Asserted-Identity, or its
//	               display name when it has no user part
//	contact        the user part of its Contact (ACDs that answer from
//	               the agent's own registration)
//
// Left out, no agent identity is read: the recording names only the
// downstream URI.
const (
	AgentIdentityPAI     = "pai"
	AgentIdentityContact = "contact"
	// AgentIdentityHeaderPrefix leads a header source: header:X-Agent-Id.
	AgentIdentityHeaderPrefix = "header:"
)

// maxHeaderName bounds the header name of an agent_identity.
const maxHeaderName = 64

// AgentIdentityHeader returns the header name of a header:<Name> source,
// and false for any other.
func AgentIdentityHeader(source string) (string, bool) {
	name, ok := strings.CutPrefix(source, AgentIdentityHeaderPrefix)
	if !ok || name == "" {
		return "", false
	}
	return name, true
}

// checkAgentIdentity checks each line's agent_identity.
func (c *Config) checkAgentIdentity(r *report) {
	for i := range c.Lines {
		key := child(index("lines", i), "agent_identity")
		v := c.Lines[i].AgentIdentity
		switch {
		case v == "", v == AgentIdentityPAI, v == AgentIdentityContact:
		case strings.HasPrefix(v, AgentIdentityHeaderPrefix):
			name := strings.TrimPrefix(v, AgentIdentityHeaderPrefix)
			switch {
			case name == "":
				r.add(key, "%q names no header (header:X-Agent-Id, say)", v)
			case len(name) > maxHeaderName:
				r.add(key, "header name is longer than %d characters", maxHeaderName)
			case !isToken(name):
				r.add(key, "%q is not a header name (letters, digits and -.!%%*_+`'~)", name)
			}
		default:
			r.add(key, "%q is not header:<Name>, pai or contact", v)
		}
	}
}

// isToken says whether s is an RFC 3261 token, what a header name is.
func isToken(s string) bool {
	for _, ch := range s {
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9':
		case strings.ContainsRune("-.!%*_+`'~", ch):
		default:
			return false
		}
	}
	return s != ""
}
