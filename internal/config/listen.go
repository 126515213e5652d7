package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Listener is a parsed sip.listen URL.
type Listener struct {
	Network string // "udp", "tcp" or "tls"
	Host    string // IP literal, without brackets
	Port    int    // 0 asks the system for a free port
}

// Addr returns the host:port to listen on, bracketing IPv6 hosts.
func (l Listener) Addr() string { return net.JoinHostPort(l.Host, strconv.Itoa(l.Port)) }

// String returns l as a URL such as "udp://127.0.0.1:5060".
func (l Listener) String() string { return l.Network + "://" + l.Addr() }

// parseListener parses a listen URL such as "udp://127.0.0.1:5060".
func parseListener(s string) (Listener, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Listener{}, errors.New("want udp://ip:port or tcp://ip:port")
	}
	network := strings.ToLower(scheme)
	switch network {
	case "udp", "tcp", "tls":
	case "sips", "wss":
		return Listener{}, fmt.Errorf("%s is not supported yet; use udp, tcp or tls", network)
	default:
		return Listener{}, fmt.Errorf("scheme %q is not udp, tcp or tls", scheme)
	}
	if strings.ContainsAny(rest, "/?#@") {
		return Listener{}, fmt.Errorf("want %s://ip:port, with nothing else", network)
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return Listener{}, fmt.Errorf("want %s://ip:port, with a port", network)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return Listener{}, fmt.Errorf("host %q is not an IP address", host)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return Listener{}, fmt.Errorf("port %q is not in 0-65535", port)
	}
	return Listener{Network: network, Host: ip.String(), Port: p}, nil
}

// parsePrefix parses a CIDR prefix or a single address, unmapping
// IPv4-mapped IPv6 and clearing host bits.
func parsePrefix(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, err
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return p, errors.New("not an address")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// transports are the transport parameter values a SIP URI may carry.
var transports = map[string]bool{"udp": true, "tcp": true, "tls": true, "sctp": true, "ws": true, "wss": true}

// checkDownstream checks that s is "echo:" or a SIP URI of the form
// sip[s]:[user@]host[:port][;params]. It is a sanity check that catches
// typos, not a full RFC 3261 parser.
func checkDownstream(s string) error {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return errors.New("want sip:user@host[:port][;params], sips:… or echo:")
	}
	switch strings.ToLower(scheme) {
	case "echo":
		if rest != "" {
			return errors.New("echo: takes nothing after the colon")
		}
		return nil
	case "sip", "sips":
	default:
		return fmt.Errorf("scheme %q is not sip, sips or echo", scheme)
	}
	if strings.Contains(rest, "?") {
		return errors.New("URI headers (?…) are not allowed")
	}
	hostport, params, _ := strings.Cut(rest, ";")
	if at := strings.LastIndexByte(hostport, '@'); at >= 0 {
		if at == 0 {
			return errors.New("empty user before @")
		}
		hostport = hostport[at+1:]
	}
	if err := checkHostPort(hostport); err != nil {
		return err
	}
	if params == "" {
		return nil
	}
	for _, p := range strings.Split(params, ";") {
		name, val, hasVal := strings.Cut(p, "=")
		switch {
		case name == "":
			return errors.New("empty URI parameter")
		case hasVal && val == "":
			return fmt.Errorf("parameter %q has no value", name)
		case strings.EqualFold(name, "transport") && !transports[strings.ToLower(val)]:
			return fmt.Errorf("transport %q is not udp, tcp, tls, sctp, ws or wss", val)
		}
	}
	return nil
}

// checkHostPort checks host[:port] of a SIP URI.
func checkHostPort(hp string) error {
	if hp == "" {
		return errors.New("no host")
	}
	host, port := hp, ""
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return fmt.Errorf("host %q lacks its closing ]", hp)
		}
		host, port = hp[1:end], hp[end+1:]
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return fmt.Errorf("host [%s] is not an IPv6 address", host)
		}
		if port != "" && port[0] != ':' {
			return fmt.Errorf("unexpected %q after ]", port)
		}
		port = strings.TrimPrefix(port, ":")
	} else {
		if i := strings.LastIndexByte(hp, ':'); i >= 0 {
			host, port = hp[:i], hp[i+1:]
		}
		if !isIPv4(host) && !isHostname(host) {
			return fmt.Errorf("host %q is not a hostname or IP address", host)
		}
	}
	if port != "" || strings.HasSuffix(hp, ":") {
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("port %q is not in 1-65535", port)
		}
	}
	return nil
}

func isIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

// isHostname reports whether s is a DNS name whose labels are letters,
// digits and inner hyphens, and whose last label starts with a letter.
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := range len(l) {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	top := labels[len(labels)-1][0]
	return top >= 'a' && top <= 'z' || top >= 'A' && top <= 'Z'
}
