package config

import (
	"strings"
	"testing"
	"time"
)

// TestEdgeDefaults: a file without the edge keys gets the documented
// defaults.
func TestEdgeDefaults(t *testing.T) {
	c, err := Load("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"sip.session_expires", c.SIP.SessionExpires, Duration(1800 * time.Second)},
		{"sip.min_se", c.SIP.MinSE, Duration(90 * time.Second)},
		{"sip.rate_limit.per_source", c.SIP.RateLimit.PerSource, Bucket{Rate: 20, Burst: 40}},
		{"sip.rate_limit.global", c.SIP.RateLimit.Global, Bucket{Rate: 200, Burst: 400}},
		{"sip.rate_limit.action", c.SIP.RateLimit.Action, "reject"},
		{"lines[0].media_timeout", c.Lines[0].MediaTimeout, Duration(30 * time.Second)},
		{"lines[0].max_duration", c.Lines[0].MaxDuration, Duration(4 * time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

// TestEdgeGiven: every edge key is read from the file.
func TestEdgeGiven(t *testing.T) {
	c, err := Load("testdata/edge/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := RateLimit{PerSource: Bucket{5, 10}, Global: Bucket{1000, 2000}, Action: "drop"}
	if c.SIP.RateLimit != want {
		t.Errorf("got rate_limit %+v, want %+v", c.SIP.RateLimit, want)
	}
	if c.SIP.SessionExpires != Duration(10*time.Minute) || c.SIP.MinSE != Duration(2*time.Minute) {
		t.Errorf("got session_expires %v, min_se %v, want 10m, 2m", c.SIP.SessionExpires, c.SIP.MinSE)
	}
	if l := c.Lines[0]; l.MediaTimeout != Duration(time.Minute) || l.MaxDuration != Duration(2*time.Hour) {
		t.Errorf("got media_timeout %v, max_duration %v, want 1m, 2h", l.MediaTimeout, l.MaxDuration)
	}
}

// TestEdgeInvalid: zero never means off, floors hold, and every message
// names its key and line.
func TestEdgeInvalid(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"invalid.yaml", []string{
			`invalid.yaml:3: sip.session_expires: 1m40s is below sip.min_se 2m0s`,
			`invalid.yaml:6: sip.rate_limit.per_source.rate: must be at least 1 (INVITEs per second), got 0; rate limits cannot be turned off`,
			`invalid.yaml:6: sip.rate_limit.per_source.burst: must be at least 1 (INVITEs at once), got -1; rate limits cannot be turned off`,
			`invalid.yaml:7: sip.rate_limit.global.burst: must be at least 1 (INVITEs at once), got 0; rate limits cannot be turned off`,
			`invalid.yaml:8: sip.rate_limit.action: "queue" is not reject (503 with Retry-After) or drop (no answer)`,
			`invalid.yaml:12: lines[0].media_timeout: 0s is too short: must be at least 5s; it cannot be turned off`,
			`invalid.yaml:12: lines[0].max_duration: 0s is too short: must be at least 1m0s; it cannot be turned off`,
			`invalid.yaml:13: lines[1].media_timeout: 4s is too short: must be at least 5s; it cannot be turned off`,
			`invalid.yaml:13: lines[1].max_duration: 30s is too short: must be at least 1m0s; it cannot be turned off`,
		}},
		{"short.yaml", []string{
			`short.yaml:3: sip.session_expires: 1m0s is too short: must be at least 1m30s (RFC 4028)`,
			`short.yaml:4: sip.min_se: 1m30.5s is not a whole number of seconds (Session-Expires counts seconds)`,
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, err := Load("testdata/edge/" + tc.file)
			if err == nil {
				t.Fatal("got no error")
			}
			got := strings.Split(strings.ReplaceAll(err.Error(), "testdata/edge/", ""), "\n")
			for i := range max(len(got), len(tc.want)) {
				var g, w string
				if i < len(got) {
					g = got[i]
				}
				if i < len(tc.want) {
					w = tc.want[i]
				}
				if g != w {
					t.Errorf("problem %d:\ngot  %s\nwant %s", i, g, w)
				}
			}
		})
	}
}

// TestEdgeBuilt: a configuration built in code gets the defaults from
// Validate, as one decoded from a file does.
func TestEdgeBuilt(t *testing.T) {
	c := &Config{
		SIP:      SIP{Listen: []string{"udp://127.0.0.1:5060"}, MaxCalls: 1, RTPPorts: "20000-20001", AnswerTimeout: Duration(time.Second)},
		Log:      Log{Level: "info", Format: "auto"},
		Purposes: []Purpose{{Name: "cs", Retention: Retention{N: 1, Unit: 'y'}}},
		Lines:    []Line{{Number: "0120000000", Purpose: "cs", Notice: "n.wav", Downstream: "echo:"}},
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("got %v, want nil", err)
	}
	if c.Lines[0].MediaTimeout != DefaultMediaTimeout || c.SIP.RateLimit.Global != DefaultGlobal || c.SIP.MinSE != DefaultMinSE {
		t.Errorf("got %+v %+v, want the defaults", c.Lines[0], c.SIP)
	}
}
