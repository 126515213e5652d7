package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/kiroku-voice/kiroku/access"
)

// Validate checks c and fills in the fields derived from others:
// SIP.Listeners, SIP.MediaIP when empty, SIP.RTPPortMin and RTPPortMax,
// Trunk.Prefixes and the normalised Line.Number. It neither applies
// defaults nor reads notices; Parse does both. It returns Problems, naming
// lines when c was decoded from YAML.
func (c *Config) Validate() error {
	r := &report{file: c.Source, pos: c.pos, bad: map[string]bool{}}
	c.check(r)
	return r.err()
}

// check runs every check, reporting to r.
func (c *Config) check(r *report) {
	c.checkListen(r)
	c.checkSIP(r)
	c.checkEdge(r)
	c.checkOverload(r)
	c.checkDownstreamTimers(r)
	c.checkMediaInterfaces(r)
	c.checkNoticeModes(r)
	c.checkAuth(r)
	c.checkSIPTLS(r)
	c.checkSRTP(r)
	c.checkLatching(r)
	c.checkIdentity(r)
	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		r.add("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	if !oneOf(c.Log.Format, "auto", "json", "console") {
		r.add("log.format", "%q is not auto, json or console", c.Log.Format)
	}
	c.checkControl(r)
	c.checkAPI(r)
	c.checkStorage(r)
	c.checkCatalog(r)
	c.checkRetentionJob(r)
	c.checkSpool(r)
	c.checkTranscoder(r)
	c.checkRights(r)
	c.checkPurposes(r)
	c.checkLines(r)
	c.checkDTMF(r)
	c.checkAgentIdentity(r)
	c.checkClients(r)
}

// checkControl keeps the unauthenticated control listener on loopback.
func (c *Config) checkControl(r *report) {
	if c.Control.Listen == "" {
		return
	}
	ap, err := netip.ParseAddrPort(c.Control.Listen)
	switch {
	case err != nil:
		r.add("control.listen", "%q is not an IP:port such as \"127.0.0.1:8091\"", c.Control.Listen)
	case !ap.Addr().IsLoopback():
		r.add("control.listen", "%s is not a loopback address; the control listener has no authentication yet", ap.Addr())
	}
}

func oneOf(s string, set ...string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

// checkListen parses sip.listen and settles sip.media_ip.
func (c *Config) checkListen(r *report) {
	s := &c.SIP
	s.Listeners = nil
	if len(s.Listen) == 0 {
		r.add("sip.listen", "at least one listen URL is required, such as \"udp://192.0.2.1:5060\"")
	}
	seen := map[Listener]int{}
	for i, u := range s.Listen {
		key := index("sip.listen", i)
		l, err := parseListener(u)
		if err != nil {
			r.add(key, "%q: %v", u, err)
			continue
		}
		if j, dup := seen[l]; dup {
			r.add(key, "%q repeats sip.listen[%d]", u, j)
			continue
		}
		seen[l] = i
		s.Listeners = append(s.Listeners, l)
	}
	switch {
	case s.MediaIP != "":
		ip, err := netip.ParseAddr(s.MediaIP)
		if err != nil {
			r.add("sip.media_ip", "%q is not an IP address", s.MediaIP)
		} else if ip.IsUnspecified() {
			r.add("sip.media_ip", "%q is unspecified; need the address peers send RTP to", s.MediaIP)
		}
	case len(s.Listeners) > 0:
		host := s.Listeners[0].Host
		if ip, _ := netip.ParseAddr(host); ip.IsUnspecified() {
			r.add("sip.media_ip", "not set, and the first listener's host %s cannot be advertised in SDP; set sip.media_ip", host)
			break
		}
		s.MediaIP = host
	}
}

// checkSIP checks the rest of the sip section.
func (c *Config) checkSIP(r *report) {
	s := &c.SIP
	names := map[string]int{}
	for i := range s.Trunks {
		t := &s.Trunks[i]
		key := index("sip.trunks", i)
		t.Prefixes = nil
		if t.Name == "" {
			r.add(child(key, "name"), "required")
		} else if j, dup := names[t.Name]; dup {
			r.add(child(key, "name"), "%q repeats sip.trunks[%d]", t.Name, j)
		} else {
			names[t.Name] = i
		}
		if len(t.CIDRs) == 0 && !t.Auth {
			r.add(child(key, "cidrs"), "at least one CIDR is required, such as \"192.0.2.0/24\"")
		}
		for j, cidr := range t.CIDRs {
			p, err := parsePrefix(cidr)
			if err != nil {
				r.add(index(child(key, "cidrs"), j), "%q is not a CIDR such as \"192.0.2.0/24\" or an IP address", cidr)
				continue
			}
			t.Prefixes = append(t.Prefixes, p)
		}
	}
	if s.MaxCalls < 1 {
		r.add("sip.max_calls", "must be at least 1, got %d", s.MaxCalls)
	}
	if lo, hi, err := parsePorts(s.RTPPorts); err != nil {
		r.add("sip.rtp_ports", "%v", err)
	} else {
		s.RTPPortMin, s.RTPPortMax = lo, hi
	}
	if s.AnswerTimeout <= 0 {
		r.add("sip.answer_timeout", "must be more than 0")
	}
	if s.DrainTimeout < 0 {
		r.add("sip.drain_timeout", "%s is negative", s.DrainTimeout)
	}
	if s.RetryAfter < 0 {
		r.add("sip.retry_after", "%s is negative", s.RetryAfter)
	}
}

// parsePorts parses an RTP port range such as "20000-29999".
func parsePorts(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(s, "-")
	lo, errLo := strconv.Atoi(a)
	hi, errHi := strconv.Atoi(b)
	switch {
	case !ok || errLo != nil || errHi != nil:
		return 0, 0, fmt.Errorf("%q is not a port range such as \"20000-29999\"", s)
	case lo < 1024 || hi > 65535:
		return 0, 0, fmt.Errorf("%q: ports must be within 1024-65535", s)
	case lo >= hi:
		return 0, 0, fmt.Errorf("%q: the first port must be below the last", s)
	}
	return lo, hi, nil
}

// checkPurposes checks the purposes section.
func (c *Config) checkPurposes(r *report) {
	names := map[string]int{}
	for i := range c.Purposes {
		p := &c.Purposes[i]
		key := index("purposes", i)
		switch {
		case p.Name == "":
			r.add(child(key, "name"), "required")
		case strings.Trim(p.Name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "":
			r.add(child(key, "name"), "%q may hold only letters, digits, '.', '_' and '-'", p.Name)
		default:
			if j, dup := names[p.Name]; dup {
				r.add(child(key, "name"), "%q repeats purposes[%d]", p.Name, j)
			} else {
				names[p.Name] = i
			}
		}
		if p.Retention == (Retention{}) {
			r.add(child(key, "retention"), "required, such as \"90d\", \"12w\", \"6m\" or \"1y\"")
		} else if _, err := ParseRetention(p.Retention.String()); err != nil || p.Retention.N < 0 {
			r.add(child(key, "retention"), "%d%c is not a retention such as \"90d\"", p.Retention.N, p.Retention.Unit)
		}
		checkAudioFormat(r, key, p)
		for j, role := range p.Listeners {
			if !access.IsRole(role) {
				r.add(index(child(key, "listeners"), j), "%q is not a role (want %s)", role, access.RoleList())
			}
		}
	}
}

// checkLines checks the lines section and normalises their numbers.
func (c *Config) checkLines(r *report) {
	numbers := map[string]int{}
	for i := range c.Lines {
		l := &c.Lines[i]
		key := index("lines", i)
		switch n := NormalizeNumber(l.Number); {
		case n == "":
			r.add(child(key, "number"), "required")
		case !isNumber(n):
			r.add(child(key, "number"), "%q is not a phone number", l.Number)
		default:
			if j, dup := numbers[n]; dup {
				r.add(child(key, "number"), "%q repeats lines[%d] (both are %s)", l.Number, j, n)
			} else {
				numbers[n] = i
			}
			l.Number = n
		}
		if l.Purpose == "" {
			r.add(child(key, "purpose"), "required")
		} else if _, ok := c.Purpose(l.Purpose); !ok {
			r.add(child(key, "purpose"), "%q is not a defined purpose", l.Purpose)
		}
		if l.Notice == "" {
			r.add(child(key, "notice"), "required: the WAV file played before recording")
		}
		if d := l.OptOutDigit; d != "" {
			if len(d) != 1 || !strings.Contains("0123456789*#ABCDabcd", d) {
				r.add(child(key, "opt_out_digit"), "%q is not a DTMF digit (want one of 0-9, *, #, A-D)", d)
			} else {
				l.OptOutDigit = strings.ToUpper(d)
				if l.OptOutWait <= 0 {
					r.add(child(key, "opt_out_wait"), "must be more than 0 when opt_out_digit is set")
				}
			}
		}
		c.checkKeys(r, key, l)
		c.checkDownstreams(r, key, l)
		c.checkTransfers(r, key, l)
	}
}

// checkKeys validates a line's pause and resume sequences.
func (c *Config) checkKeys(r *report, key string, l *Line) {
	for name, v := range map[string]*string{"pause_keys": &l.PauseKeys, "resume_keys": &l.ResumeKeys} {
		if *v == "" {
			continue
		}
		if len(*v) > 8 || strings.Trim(*v, "0123456789*#ABCDabcd") != "" {
			r.add(child(key, name), "%q is not a sequence of 1 to 8 DTMF digits (0-9, *, #, A-D)", *v)
			continue
		}
		*v = strings.ToUpper(*v)
	}
	switch {
	case (l.PauseKeys == "") != (l.ResumeKeys == ""):
		r.add(child(key, "pause_keys"), "pause_keys and resume_keys go together")
	case l.PauseKeys != "" && l.PauseKeys == l.ResumeKeys:
		r.add(child(key, "resume_keys"), "must differ from pause_keys")
	case l.PauseKeys != "" && (strings.HasPrefix(l.PauseKeys, l.ResumeKeys) || strings.HasPrefix(l.ResumeKeys, l.PauseKeys)):
		r.add(child(key, "resume_keys"), "one of pause_keys and resume_keys starts with the other")
	}
}
