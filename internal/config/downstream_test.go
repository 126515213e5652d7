package config

import (
	"reflect"
	"testing"
	"testing/fstest"
	"time"
)

// TestDownstreamGroup: a downstreams list is read with its defaults, the
// unavailable prompt is loaded like the notice, and a line naming one
// downstream gets it as its only target.
func TestDownstreamGroup(t *testing.T) {
	fsys := fstest.MapFS{"p/notice.wav": {Data: makeWAV(t, 8000, 1, 800)}, "p/sorry.wav": {Data: makeWAV(t, 8000, 1, 1600)}}
	c, err := Parse([]byte(`
sip:
  listen: ["udp://127.0.0.1:5060"]
  health_check: {interval: 30s}
purposes:
  - {name: cs, retention: 90d}
lines:
  - number: "0120000001"
    purpose: cs
    notice: p/notice.wav
    unavailable: p/sorry.wav
    failover_on_busy: true
    downstreams:
      - {uri: "sip:acd@192.0.2.10", priority: 0, weight: 3}
      - {uri: "sip:acd@192.0.2.11"}
      - {uri: "sip:acd@192.0.2.12", priority: 1}
  - {number: "0120000002", purpose: cs, notice: p/notice.wav, downstream: "sip:acd@192.0.2.11"}
  - {number: "0120000003", purpose: cs, notice: p/notice.wav, downstream: "echo:"}
`), "groups.yaml", fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	l := c.Lines[0]
	want := []Downstream{{"sip:acd@192.0.2.10", 0, 3}, {"sip:acd@192.0.2.11", 0, 1}, {"sip:acd@192.0.2.12", 1, 1}}
	if got := l.Targets(); !reflect.DeepEqual(got, want) {
		t.Errorf("got targets %+v, want %+v", got, want)
	}
	if !l.FailoverOnBusy {
		t.Error("got failover_on_busy false, want true")
	}
	if p := l.UnavailablePrompt; p == nil || p.Name != "sorry.wav" || p.Duration != 200*time.Millisecond {
		t.Errorf("got unavailable prompt %+v, want sorry.wav of 200ms", p)
	}
	if got, want := c.Lines[1].Targets(), []Downstream{{URI: "sip:acd@192.0.2.11", Weight: 1}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got single-downstream targets %+v, want %+v", got, want)
	}
	if got, want := c.GroupURIs(), []string{"sip:acd@192.0.2.10", "sip:acd@192.0.2.11", "sip:acd@192.0.2.12"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got health-checked URIs %q, want %q (each once, only those of groups)", got, want)
	}
	s := c.SIP
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"RingTimeout", s.RingTimeout, DefaultRingTimeout},
		{"HealthCheck.Interval", s.HealthCheck.Interval, Duration(30 * time.Second)},
		{"HealthCheck.Timeout", s.HealthCheck.Timeout, DefaultHealthTimeout},
		{"HealthCheck.DownAfter", s.HealthCheck.DownAfter, DefaultHealthDownAfter},
		{"HealthCheck.UpAfter", s.HealthCheck.UpAfter, DefaultHealthUpAfter},
	} {
		if f.got != f.want {
			t.Errorf("got %s %v, want %v", f.name, f.got, f.want)
		}
	}
}

// TestHealthCheckOff: interval 0s turns the pings off and skips the checks
// of their other keys.
func TestHealthCheckOff(t *testing.T) {
	fsys := fstest.MapFS{"notice.wav": {Data: makeWAV(t, 8000, 1, 800)}}
	c, err := Parse([]byte(`
sip:
  listen: ["udp://127.0.0.1:5060"]
  health_check: {interval: 0s}
purposes:
  - {name: cs, retention: 90d}
lines:
  - {number: "0120000001", purpose: cs, notice: notice.wav, downstream: "sip:acd@192.0.2.10"}
`), "off.yaml", fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.SIP.HealthCheck.Interval; got != 0 {
		t.Errorf("got interval %s, want 0 (off)", got)
	}
}
