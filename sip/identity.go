package sip

import (
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/spool"
)

// identity is who the caller is, as its trunk lets Kiroku know it: the
// From header, or the identity a trusted trunk asserts (RFC 3325
// P-Asserted-Identity, or Remote-Party-ID) with its privacy (RFC 3323).
// An untrusted trunk's assertion is never read, so it is neither
// recorded nor passed on to the agent.
type identity struct {
	number   string // normalised; the manifest's and catalog's Caller
	from     string // the From user, normalised
	asserted string // the URI the trunk asserted, as received; "" when none was taken
	in       string // the header it came in: pai or rpid
	user     string // the asserted URI's user as received, for the agent's P-Asserted-Identity
	privacy  string // the Privacy a trusted trunk sent, as received
	withheld bool   // the caller withheld the number (Privacy id, user or header; RPID privacy full or uri)
}

// maxIdentity bounds what of an asserted identity is kept.
const maxIdentity = 256

// callerIdentity reads the caller's identity from req as trunk's
// identity setting says. An assertion that names no number (anonymous,
// garbage) is ignored and From is used.
func callerIdentity(req *sipmsg.Request, trunk *config.Trunk) identity {
	id := identity{from: config.NormalizeNumber(req.From().Address.User)}
	id.number = id.from
	var uri, privacy string
	switch trunk.Identity {
	case config.IdentityPAI:
		uri = firstNumberURI(req.GetHeaders("p-asserted-identity"), false)
		privacy, _ = headerValue(req, "privacy")
	case config.IdentityRPID:
		uri = firstNumberURI(req.GetHeaders("remote-party-id"), true)
		privacy, _ = headerValue(req, "privacy")
		if p := rpidPrivacy(req.GetHeaders("remote-party-id")); p == "full" || p == "uri" {
			id.withheld = true
		}
	default:
		return id
	}
	privacy = truncate(strings.TrimSpace(privacy), 64)
	id.privacy = privacy
	id.withheld = id.withheld || privacyWithholds(privacy)
	if uri == "" {
		return id
	}
	id.asserted, id.in = truncate(uri, maxIdentity), trunk.Identity
	id.user = uriUser(uri)
	id.number = config.NormalizeNumber(uri)
	return id
}

// apply writes the identity into the manifest.
func (id identity) apply(m *spool.Manifest, trunk string) {
	m.Caller = id.number
	m.CallerPrivacy, m.CallerWithheld = id.privacy, id.withheld
	if id.asserted != "" {
		m.CallerFrom, m.CallerAsserted, m.CallerAssertedBy, m.CallerAssertedIn = id.from, id.asserted, trunk, id.in
	}
}

// agentHeaders are the extension headers of our INVITE to the agent:
// 100rel offered (prack.go), and the caller's asserted identity.
func (c *call) agentHeaders() []sipmsg.Header {
	hs := []sipmsg.Header{sipmsg.NewHeader("Supported", "100rel")}
	return append(hs, c.a.id.agentIdentity(c.s.ports.IP().String())...)
}

// agentIdentity are the headers that carry the asserted identity to the
// agent platform: P-Asserted-Identity with the asserted number and the
// Privacy as received, only when a trusted trunk asserted one.
func (id identity) agentIdentity(host string) []sipmsg.Header {
	if id.asserted == "" || id.user == "" {
		return nil
	}
	hs := []sipmsg.Header{sipmsg.NewHeader("P-Asserted-Identity", "<sip:"+id.user+"@"+host+">")}
	if id.privacy != "" {
		hs = append(hs, sipmsg.NewHeader("Privacy", id.privacy))
	}
	return hs
}

// firstNumberURI returns the first URI of the identity headers whose
// user is a telephone number; with calling set (Remote-Party-ID), only
// entries of party=calling or of no party count.
func firstNumberURI(hs []sipmsg.Header, calling bool) string {
	for _, h := range hs {
		for _, entry := range splitOutsideQuotes(h.Value(), ',') {
			uri, params := nameAddr(entry)
			if calling {
				if p, ok := paramOf(params, "party"); ok && !strings.EqualFold(p, "calling") {
					continue
				}
			}
			if n := config.NormalizeNumber(uri); isPhoneNumber(n) && hasScheme(uri) {
				return uri
			}
		}
	}
	return ""
}

// rpidPrivacy is the privacy parameter of the calling party's
// Remote-Party-ID (full, name, uri or off), lower case.
func rpidPrivacy(hs []sipmsg.Header) string {
	for _, h := range hs {
		for _, entry := range splitOutsideQuotes(h.Value(), ',') {
			_, params := nameAddr(entry)
			if p, ok := paramOf(params, "party"); ok && !strings.EqualFold(p, "calling") {
				continue
			}
			p, _ := paramOf(params, "privacy")
			return strings.ToLower(p)
		}
	}
	return ""
}

// privacyWithholds reports whether a Privacy header value asks for the
// caller's identity to be withheld: id, user or header (RFC 3323, 3325);
// none asks for nothing.
func privacyWithholds(v string) bool {
	for _, tok := range strings.FieldsFunc(strings.ToLower(v), func(r rune) bool { return r == ';' || r == ',' || r == ' ' }) {
		switch tok {
		case "id", "user", "header":
			return true
		}
	}
	return false
}

// nameAddr splits `"name" <uri>;params` or `uri;params` into the URI and
// the header parameters.
func nameAddr(s string) (uri, params string) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			return strings.TrimSpace(s[i+1 : i+j]), s[i+j+1:]
		}
		return "", ""
	}
	if i := strings.IndexByte(s, ';'); i >= 0 && !strings.HasPrefix(strings.ToLower(s), "tel:") {
		return s[:i], s[i:]
	}
	return s, ""
}

// paramOf returns the value of the ;name=value parameter in params.
func paramOf(params, name string) (string, bool) {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, name) {
			return strings.Trim(strings.TrimSpace(v), `"`), true
		}
	}
	return "", false
}

// splitOutsideQuotes splits s at sep where it is not inside a quoted
// display name.
func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case '\\':
			i++
		case sep:
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// uriUser is the user of a sip:, sips: or tel: URI.
func uriUser(uri string) string {
	_, rest, ok := strings.Cut(uri, ":")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "@;?"); i >= 0 {
		rest = rest[:i]
	}
	if !isPhoneNumber(rest) {
		return ""
	}
	return rest
}

func hasScheme(uri string) bool {
	l := strings.ToLower(uri)
	return strings.HasPrefix(l, "sip:") || strings.HasPrefix(l, "sips:") || strings.HasPrefix(l, "tel:")
}

// isPhoneNumber reports whether s is an optional '+' and 3 to 32 digits.
func isPhoneNumber(s string) bool {
	s = strings.TrimPrefix(s, "+")
	return len(s) >= 3 && len(s) <= 32 && strings.Trim(s, "0123456789") == ""
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
