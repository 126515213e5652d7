package sip

import (
	"errors"
	"fmt"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/spool"
)

// errNoAgentID says that the answer does not carry what the line's
// agent_identity names.
var errNoAgentID = errors.New("not in the answer")

// agentIdentity returns who took the call as the answer res of the agent
// leg says, where source (a line's agent_identity) says to look. It
// returns an error, and no identity, when source is "", when res lacks it
// and when the value is not fit to keep (spool.CheckAgentID). The value
// is never cut or repaired: a shortened id could name another agent.
func agentIdentity(source string, res *sipmsg.Response) (string, error) {
	if source == "" {
		return "", errNoAgentID
	}
	v, err := agentIdentityRaw(source, res)
	if err != nil {
		return "", err
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", errNoAgentID
	}
	if err := spool.CheckAgentID(v); err != nil {
		return "", err
	}
	return v, nil
}

// agentIdentityRaw is the value source names in res, as it came.
func agentIdentityRaw(source string, res *sipmsg.Response) (string, error) {
	if name, ok := config.AgentIdentityHeader(source); ok {
		if h := res.GetHeader(name); h != nil {
			return h.Value(), nil
		}
		return "", errNoAgentID
	}
	switch source {
	case config.AgentIdentityPAI:
		return paiUser(res)
	case config.AgentIdentityContact:
		if h := res.Contact(); h != nil {
			return agentURIUser(&h.Address), nil
		}
		return "", errNoAgentID
	}
	return "", fmt.Errorf("unknown agent_identity %q", source)
}

// paiUser is the user part of the first P-Asserted-Identity of res that
// has one (sip:, sips: or tel:), else the display name of the first.
func paiUser(res *sipmsg.Response) (string, error) {
	var display string
	for _, h := range res.GetHeaders("P-Asserted-Identity") {
		for _, v := range addressList(h.Value()) {
			var uri sipmsg.Uri
			name, err := sipmsg.ParseAddressValue(strings.TrimSpace(v), &uri, nil)
			if err != nil {
				continue
			}
			if u := agentURIUser(&uri); u != "" {
				return u, nil
			}
			if display == "" {
				display = name
			}
		}
	}
	if display == "" {
		return "", errNoAgentID
	}
	return display, nil
}

// addressList splits a header value holding several addresses at the
// commas between them, not those inside a quoted display name or a URI
// in angle brackets ("Sato, Taro" <sip:a1001@acd>, <tel:+81…>).
func addressList(v string) []string {
	var (
		out             []string
		quoted, escaped bool
		angle           int
		start           int
	)
	for i, r := range v {
		switch {
		case escaped:
			escaped = false
		case quoted && r == '\\':
			escaped = true
		case r == '"':
			quoted = !quoted
		case quoted:
		case r == '<':
			angle++
		case r == '>' && angle > 0:
			angle--
		case r == ',' && angle == 0:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// agentURIUser is the user part of a SIP URI, or the number of a tel: URI.
func agentURIUser(u *sipmsg.Uri) string {
	if u.Scheme == "tel" {
		n, _, _ := strings.Cut(u.Raw(), ";")
		return n
	}
	return u.User
}

// noteAgent writes to the manifest who took the call, as the agent leg's
// answer res says where the line's agent_identity says to look. The value
// is logged at debug only: it comes from the agent platform and names a
// person.
func (c *call) noteAgent(res *sipmsg.Response) string {
	source := c.a.line.AgentIdentity
	if source == "" {
		return ""
	}
	id, err := agentIdentity(source, res)
	if err != nil {
		c.log.Debug("no agent identity in the answer", zap.String("agent_identity", source), zap.Error(err))
		return ""
	}
	c.log.Debug("agent identity", zap.String("agent_identity", source), zap.String("agent_id", id))
	c.mu.Lock()
	if c.manifest.AgentID == "" { // the first agent's; segments name each
		c.manifest.AgentID, c.manifest.AgentIDSource = id, source
	}
	c.mu.Unlock()
	return id
}
