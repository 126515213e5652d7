package config

import (
	"errors"
	"fmt"
	"strings"
)

// TransferTarget is one entry of a line's transfer_targets: where an agent
// may send a call by REFER (or a downstream by 302). It is a SIP URI whose
// user part may be "*" (any user) and whose port, when left out, matches
// any port: "sip:*@192.0.2.30" takes every desk on that host,
// "sips:supervisor@pbx.example:5061" one.
type TransferTarget struct {
	Scheme string // sip or sips
	User   string // "*" for any
	Host   string // lower case
	Port   int    // 0 for any
}

// ParseTransferTarget parses one transfer_targets entry.
func ParseTransferTarget(s string) (TransferTarget, error) {
	scheme, rest, ok := strings.Cut(s, ":")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != "sip" && scheme != "sips") {
		return TransferTarget{}, errors.New(`want sip:user@host[:port] or sip:*@host[:port]`)
	}
	if strings.ContainsAny(rest, ";?") {
		return TransferTarget{}, errors.New("parameters and headers are not part of a transfer target")
	}
	user, hostport, ok := strings.Cut(rest, "@")
	if !ok || user == "" {
		return TransferTarget{}, errors.New(`a user part is required ("*" for any)`)
	}
	if err := checkHostPort(hostport); err != nil {
		return TransferTarget{}, err
	}
	h, p, _ := splitPort(hostport)
	return TransferTarget{Scheme: scheme, User: user, Host: strings.ToLower(h), Port: p}, nil
}

// splitPort splits host:port (or [v6]:port); ok is false without a port.
func splitPort(hostport string) (host string, port int, ok bool) {
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 || strings.HasSuffix(hostport, "]") {
		return strings.Trim(hostport, "[]"), 0, false
	}
	if _, err := fmt.Sscanf(hostport[i+1:], "%d", &port); err != nil {
		return hostport, 0, false
	}
	return strings.Trim(hostport[:i], "[]"), port, true
}

// Matches says whether a transfer's target (scheme, user, host, port; port
// 0 when the URI names none) is allowed by t.
func (t TransferTarget) Matches(scheme, user, host string, port int) bool {
	if !strings.EqualFold(scheme, t.Scheme) || !strings.EqualFold(strings.Trim(host, "[]"), t.Host) {
		return false
	}
	if t.Port != 0 && port != t.Port && !(port == 0 && t.Port == defaultPort(t.Scheme)) {
		return false
	}
	return t.User == "*" || user == t.User
}

func defaultPort(scheme string) int {
	if scheme == "sips" {
		return 5061
	}
	return 5060
}

// checkTransfers checks a line's transfer_targets into TransferAllowed.
func (c *Config) checkTransfers(r *report, key string, l *Line) {
	l.TransferAllowed = nil
	for j, s := range l.TransferTargets {
		t, err := ParseTransferTarget(s)
		if err != nil {
			r.add(index(child(key, "transfer_targets"), j), "%q: %v", s, err)
			continue
		}
		l.TransferAllowed = append(l.TransferAllowed, t)
	}
	if len(l.TransferTargets) > 0 && l.Downstream == echoURI {
		r.add(child(key, "transfer_targets"), "an echo: line has no agent to transfer from")
	}
}

// TransferAllows says whether the line lets a call go to the target.
func (l *Line) TransferAllows(scheme, user, host string, port int) bool {
	for _, t := range l.TransferAllowed {
		if t.Matches(scheme, user, host, port) {
			return true
		}
	}
	return false
}
