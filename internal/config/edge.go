package config

import "time"

// The SIP edge's guards against dead calls and floods: per line a media
// inactivity timeout and a maximum call duration; for the daemon RFC 4028
// session timers and INVITE rate limits. None of them can be turned off:
// a call whose media died, or a flood, must not hold ports, memory or a
// recording (and a caller's audio) for ever.

// RateLimit bounds how fast initial INVITEs are taken, per source address
// and in all. An INVITE over either limit is refused before any other
// check (Action reject: a stateless 503 with Retry-After; drop: no answer).
// Sources are kept in a bounded table (least recently seen dropped first),
// so a flood from spoofed addresses cannot grow memory; IPv6 sources count
// per /64.
type RateLimit struct {
	PerSource Bucket `yaml:"per_source"` // default {rate: 20, burst: 40}
	Global    Bucket `yaml:"global"`     // default {rate: 200, burst: 400}
	Action    string `yaml:"action"`     // reject (default) or drop
}

// Bucket is a token bucket: Rate INVITEs per second on average, Burst at
// once after a quiet spell.
type Bucket struct {
	Rate  int `yaml:"rate"`  // per second, at least 1
	Burst int `yaml:"burst"` // at least 1
}

// Defaults of the edge guards.
const (
	DefaultMediaTimeout   = Duration(30 * time.Second)
	MinMediaTimeout       = Duration(5 * time.Second)
	DefaultMaxDuration    = Duration(4 * time.Hour)
	MinMaxDuration        = Duration(time.Minute)
	DefaultSessionExpires = Duration(1800 * time.Second)
	// MinSessionExpires is RFC 4028's floor for Min-SE.
	MinSessionExpires  = Duration(90 * time.Second)
	DefaultMinSE       = MinSessionExpires
	DefaultRateAction  = "reject"
	defaultSourceRate  = 20
	defaultSourceBurst = 40
	defaultGlobalRate  = 200
	defaultGlobalBurst = 400
)

// DefaultPerSource and DefaultGlobal are the rate limits when the file
// gives none.
var (
	DefaultPerSource = Bucket{Rate: defaultSourceRate, Burst: defaultSourceBurst}
	DefaultGlobal    = Bucket{Rate: defaultGlobalRate, Burst: defaultGlobalBurst}
)

// edgeDuration is one duration key of the edge guards with its default
// and floor.
type edgeDuration struct {
	key      string
	v        *Duration
	def, min Duration
	why      string // appended to the "too short" message
}

// checkEdge fills in the edge defaults for keys that were not given (a
// zero value that the file did give is an error, never "off") and checks
// them.
func (c *Config) checkEdge(r *report) {
	given := func(key string) bool { _, ok := r.pos[key]; return ok }
	s := &c.SIP
	const off = "; it cannot be turned off"
	durations := []edgeDuration{
		{"sip.min_se", &s.MinSE, DefaultMinSE, MinSessionExpires, " (RFC 4028)"},
		{"sip.session_expires", &s.SessionExpires, DefaultSessionExpires, MinSessionExpires, " (RFC 4028)"},
	}
	for i := range c.Lines {
		key, l := index("lines", i), &c.Lines[i]
		durations = append(durations,
			edgeDuration{child(key, "media_timeout"), &l.MediaTimeout, DefaultMediaTimeout, MinMediaTimeout, off},
			edgeDuration{child(key, "max_duration"), &l.MaxDuration, DefaultMaxDuration, MinMaxDuration, off})
	}
	for _, d := range durations {
		if *d.v == 0 && !given(d.key) {
			*d.v = d.def
		}
		if *d.v < d.min {
			r.add(d.key, "%s is too short: must be at least %s%s", *d.v, d.min, d.why)
		}
	}
	for _, d := range durations[:2] {
		if time.Duration(*d.v)%time.Second != 0 {
			r.add(d.key, "%s is not a whole number of seconds (Session-Expires counts seconds)", *d.v)
		}
	}
	if s.MinSE >= MinSessionExpires && s.SessionExpires < s.MinSE && s.SessionExpires >= MinSessionExpires {
		r.add("sip.session_expires", "%s is below sip.min_se %s", s.SessionExpires, s.MinSE)
	}
	c.checkRateLimit(r, given)
}

func (c *Config) checkRateLimit(r *report, given func(string) bool) {
	rl := &c.SIP.RateLimit
	for _, b := range []struct {
		key string
		v   *Bucket
		def Bucket
	}{
		{"sip.rate_limit.per_source", &rl.PerSource, DefaultPerSource},
		{"sip.rate_limit.global", &rl.Global, DefaultGlobal},
	} {
		for _, f := range []struct {
			name string
			v    *int
			def  int
			unit string
		}{
			{"rate", &b.v.Rate, b.def.Rate, "INVITEs per second"},
			{"burst", &b.v.Burst, b.def.Burst, "INVITEs at once"},
		} {
			key := child(b.key, f.name)
			if *f.v == 0 && !given(key) {
				*f.v = f.def
			}
			if *f.v < 1 {
				r.add(key, "must be at least 1 (%s), got %d; rate limits cannot be turned off", f.unit, *f.v)
			}
		}
	}
	if rl.Action == "" && !given("sip.rate_limit.action") {
		rl.Action = DefaultRateAction
	}
	if !oneOf(rl.Action, "reject", "drop") {
		r.add("sip.rate_limit.action", "%q is not reject (503 with Retry-After) or drop (no answer)", rl.Action)
	}
}
