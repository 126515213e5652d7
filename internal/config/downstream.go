package config

import (
	"path/filepath"
	"strings"
	"time"
)

// Downstream is one agent platform a line's calls may be bridged to. A
// line with several tries them in order of priority (lower first) and,
// among those of one priority, in a random order weighted by weight, until
// one answers: see the README's "Downstream groups".
type Downstream struct {
	URI      string `yaml:"uri"`      // "sip:user@host[:port][;params]" or "sips:…"
	Priority int    `yaml:"priority"` // lower is tried first; default 0
	Weight   int    `yaml:"weight"`   // share of calls among one priority; default 1
}

// HealthCheck configures the OPTIONS pings that tell which downstreams
// answer. A downstream is marked down after DownAfter pings in a row got no
// answer (or 408, 480, 5xx other than 501), and up again after UpAfter
// answered ones; calls try downstreams marked up first.
type HealthCheck struct {
	// Interval between pings of each downstream; default 10s. 0s given
	// turns the checks off (for agent platforms that drop OPTIONS).
	Interval  Duration `yaml:"interval"`
	Timeout   Duration `yaml:"timeout"`    // wait for a ping's answer; default 2s, below interval
	DownAfter int      `yaml:"down_after"` // default 2
	UpAfter   int      `yaml:"up_after"`   // default 2
}

// Defaults of downstream groups.
const (
	DefaultRingTimeout     = Duration(2 * time.Second)
	DefaultHealthInterval  = Duration(10 * time.Second)
	DefaultHealthTimeout   = Duration(2 * time.Second)
	DefaultHealthDownAfter = 2
	DefaultHealthUpAfter   = 2
)

// Targets are the downstreams of a line: its downstreams list, or the one
// downstream it names.
func (l *Line) Targets() []Downstream {
	if len(l.Downstreams) > 0 {
		return l.Downstreams
	}
	if l.Downstream == "" {
		return nil
	}
	return []Downstream{{URI: l.Downstream, Weight: 1}}
}

// GroupURIs are the distinct downstream URIs of the lines with more than
// one downstream: what the health checks ping. A line with one tries it
// whatever its state, so pinging it would change no call (and some agent
// platforms drop OPTIONS).
func (c *Config) GroupURIs() []string {
	var uris []string
	seen := map[string]bool{}
	for i := range c.Lines {
		ts := c.Lines[i].Targets()
		if len(ts) < 2 {
			continue
		}
		for _, d := range ts {
			if !seen[d.URI] {
				seen[d.URI] = true
				uris = append(uris, d.URI)
			}
		}
	}
	return uris
}

const echoURI = "echo:"

// resolveUnavailable joins a line's relative unavailable prompt to dir.
func (l *Line) resolveUnavailable(dir string) {
	if l.Unavailable != "" && !filepath.IsAbs(l.Unavailable) && !embedded(l.Unavailable) {
		l.Unavailable = filepath.Join(dir, l.Unavailable)
	}
}

// checkDownstreams checks a line's downstream or downstreams and fills in
// their defaults.
func (c *Config) checkDownstreams(r *report, key string, l *Line) {
	given := func(k string) bool { _, ok := r.pos[k]; return ok }
	switch {
	case l.Downstream != "" && len(l.Downstreams) > 0:
		r.add(child(key, "downstreams"), "set together with downstream: name one downstream, or list them all in downstreams")
		return
	case l.Downstream == "" && len(l.Downstreams) == 0:
		r.add(child(key, "downstream"), "required, such as \"sip:agent@192.0.2.10:5060\" or \"echo:\" (or a downstreams list)")
		return
	case l.Downstream != "":
		if err := checkDownstream(l.Downstream); err != nil {
			r.add(child(key, "downstream"), "%q: %v", l.Downstream, err)
		}
	}
	seen := map[string]int{}
	for j := range l.Downstreams {
		d := &l.Downstreams[j]
		dkey := index(child(key, "downstreams"), j)
		switch {
		case d.URI == "":
			r.add(child(dkey, "uri"), "required, such as \"sip:acd@192.0.2.10:5060\"")
		case strings.EqualFold(d.URI, echoURI):
			r.add(child(dkey, "uri"), "echo: is the built-in agent and stands alone: use downstream: \"echo:\"")
		default:
			if err := checkDownstream(d.URI); err != nil {
				r.add(child(dkey, "uri"), "%q: %v", d.URI, err)
			} else if k, dup := seen[d.URI]; dup {
				r.add(child(dkey, "uri"), "%q repeats downstreams[%d]", d.URI, k)
			} else {
				seen[d.URI] = j
			}
		}
		if d.Priority < 0 {
			r.add(child(dkey, "priority"), "must be 0 or more (lower is tried first), got %d", d.Priority)
		}
		if d.Weight == 0 && !given(child(dkey, "weight")) {
			d.Weight = 1
		}
		if d.Weight < 1 {
			r.add(child(dkey, "weight"), "must be at least 1, got %d", d.Weight)
		}
	}
	if l.Downstream == echoURI && l.Unavailable != "" {
		r.add(child(key, "unavailable"), "an echo: line always reaches its agent; it plays no unavailable prompt")
	}
	if l.Downstream == echoURI && l.FailoverOnBusy {
		r.add(child(key, "failover_on_busy"), "an echo: line has no downstreams to fail over to")
	}
}

// checkDownstreamTimers fills in and checks sip.ring_timeout and
// sip.health_check.
func (c *Config) checkDownstreamTimers(r *report) {
	given := func(k string) bool { _, ok := r.pos[k]; return ok }
	s := &c.SIP
	if s.RingTimeout == 0 && !given("sip.ring_timeout") {
		s.RingTimeout = DefaultRingTimeout
	}
	if s.RingTimeout <= 0 {
		r.add("sip.ring_timeout", "must be more than 0: it is how long a downstream may take to send its first response before the next is tried")
	} else if given("sip.ring_timeout") && s.AnswerTimeout > 0 && s.RingTimeout > s.AnswerTimeout {
		r.add("sip.ring_timeout", "%s is longer than sip.answer_timeout %s", s.RingTimeout, s.AnswerTimeout)
	}
	h := &s.HealthCheck
	if h.Interval == 0 && !given("sip.health_check.interval") {
		h.Interval = DefaultHealthInterval
	}
	if h.Timeout == 0 && !given("sip.health_check.timeout") {
		h.Timeout = DefaultHealthTimeout
	}
	if h.DownAfter == 0 && !given("sip.health_check.down_after") {
		h.DownAfter = DefaultHealthDownAfter
	}
	if h.UpAfter == 0 && !given("sip.health_check.up_after") {
		h.UpAfter = DefaultHealthUpAfter
	}
	switch {
	case h.Interval < 0:
		r.add("sip.health_check.interval", "must be 0s (off) or more, got %s", h.Interval)
	case h.Interval == 0:
		return
	case h.Interval < Duration(time.Second):
		r.add("sip.health_check.interval", "%s is too short: at least 1s", h.Interval)
	}
	if h.Timeout <= 0 || h.Timeout >= h.Interval {
		r.add("sip.health_check.timeout", "%s must be more than 0 and below sip.health_check.interval %s", h.Timeout, h.Interval)
	}
	if h.DownAfter < 1 {
		r.add("sip.health_check.down_after", "must be at least 1, got %d", h.DownAfter)
	}
	if h.UpAfter < 1 {
		r.add("sip.health_check.up_after", "must be at least 1, got %d", h.UpAfter)
	}
}
