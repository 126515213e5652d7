package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestWaveform: the peaks of both channels of a stored recording (a tone
// on each), audited with the reason; no reason, bad buckets, an unknown
// id and a call without audio are refused, and refusals change nothing
// but the denial's entry.
func TestWaveform(t *testing.T) {
	e := newEnv(t)
	ids := e.seed(rec{purpose: "cs-quality", caller: "0312345678", seconds: 3}, rec{purpose: "cs-quality", caller: "0312345678"})
	before := e.head()
	res, b := e.do("sup", http.MethodGet, "/api/v1/recordings/"+ids[0]+"/waveform?buckets=30", map[string]string{"X-Kiroku-Reason": "coaching"})
	if res.StatusCode != 200 {
		t.Fatalf("got %d %s", res.StatusCode, b)
	}
	var wf struct {
		Seconds  float64     `json:"seconds"`
		Rate     int         `json:"rate"`
		Channels [][]float64 `json:"channels"`
	}
	if err := json.Unmarshal(b, &wf); err != nil || len(wf.Channels) != 2 || len(wf.Channels[0]) != 30 || wf.Seconds != 3 {
		t.Fatalf("got %s (%v), want 30 buckets of two channels over 3 s", b, err)
	}
	for c, ch := range wf.Channels {
		for i, v := range ch {
			if v < 0.05 || v > 1 {
				t.Errorf("channel %d bucket %d: got %v, want the tone's level", c, i, v)
			}
		}
	}
	var audited int
	for _, en := range e.audit(before) {
		if en.Action == "waveform" && en.Target == ids[0] && en.Actor == "sup" && en.Reason == "coaching" {
			audited++
		}
	}
	if audited != 1 {
		t.Errorf("got %d waveform audit entries, want 1", audited)
	}
	for _, tc := range []struct {
		name, path string
		hdr        map[string]string
		code       int
		want       string
	}{
		{"no reason", "/api/v1/recordings/" + ids[0] + "/waveform", nil, 400, "reason"},
		{"bad buckets", "/api/v1/recordings/" + ids[0] + "/waveform?buckets=0", map[string]string{"X-Kiroku-Reason": "x"}, 400, "buckets"},
		{"huge buckets", "/api/v1/recordings/" + ids[0] + "/waveform?buckets=100000", map[string]string{"X-Kiroku-Reason": "x"}, 400, "buckets"},
		{"no audio", "/api/v1/recordings/" + ids[1] + "/waveform", map[string]string{"X-Kiroku-Reason": "x"}, 404, "has no audio"},
		{"unknown", "/api/v1/recordings/01960000-0000-7000-8000-000000000000/waveform", map[string]string{"X-Kiroku-Reason": "x"}, 404, "no such recording"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, b := e.do("sup", http.MethodGet, tc.path, tc.hdr)
			if res.StatusCode != tc.code || !strings.Contains(string(b), tc.want) {
				t.Errorf("got %d %s, want %d saying %q", res.StatusCode, b, tc.code, tc.want)
			}
		})
	}
}
