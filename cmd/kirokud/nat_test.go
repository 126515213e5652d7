package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/testenv/nattest"
	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
	"github.com/kiroku-voice/kiroku/internal/wav"
)

// TestCallerBehindNAT: a SIPp caller in a namespace behind a
// masquerading router announces its private address in its SDP, and its
// RTP reaches Kiroku from the router's. With media_latching: learn the
// caller's channel is recorded; with strict the call still connects and
// completes, the caller's channel is empty, and the manifest, the
// catalog, the log, the metrics and the webhook all say so.
func TestCallerBehindNAT(t *testing.T) {
	for _, tc := range []struct {
		latching   string
		wantSilent []string // the echo agent returns what it hears: nothing, when the caller is dropped
		wantEvents []string
		wantLog    string
	}{
		{"learn", nil, []string{"recording.stored"}, "rtp comes from an address other than the sdp's: learned"},
		{"strict", []string{"caller", "agent"}, []string{"recording.stored", "recording.silent"}, "rtp keeps coming from an address other than the sdp's: dropped"},
	} {
		t.Run(tc.latching, func(t *testing.T) {
			n := nattest.New(t)
			var (
				mu     sync.Mutex
				events []map[string]any
			)
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var e map[string]any
				json.NewDecoder(r.Body).Decode(&e)
				mu.Lock()
				events = append(events, e)
				mu.Unlock()
			}))
			defer hook.Close()
			d := prepare(t, "5s")
			y := fmt.Sprintf(`sip:
  listen: ["udp://%s:%d"]
  trunks: [{name: nat, cidrs: [%q], media_latching: %s}]
  rtp_ports: 35000-35999
  drain_timeout: 5s
data_dir: data
log: {format: json, level: debug}
control: {listen: "127.0.0.1:0"}
webhook: {url: %q, secret_env: KIROKU_WEBHOOK_SECRET}
purposes:
  - {name: cs-quality, retention: 90d, listeners: [supervisor]}
lines:
  - {number: "0120000001", purpose: cs-quality, notice: notice.wav, opt_out_wait: 200ms, downstream: "echo:"}
`, n.Host, d.port, n.Link.String(), tc.latching, hook.URL)
			if err := os.WriteFile(filepath.Join(d.dir, "kiroku.yaml"), []byte(y), 0o600); err != nil {
				t.Fatal(err)
			}
			d.env = append(d.env, "KIROKU_WEBHOOK_SECRET=a signing secret of the test")
			d.start(t)
			mediaPort := sipptest.FreePort(t, "udp")
			p := sipptest.Start(t, sipptest.Options{
				Scenario:  sipptest.Scenario(t, "uac_pcap.xml"),
				Remote:    n.Host.String() + ":" + strconv.Itoa(d.port),
				Namespace: n.Namespace,
				IP:        n.Private.String(),
				MediaPort: mediaPort,
				Keys:      map[string]string{"dialled": "0120000001", "caller": "0312345678", "pcap": tonePcap(t, 2*time.Second)},
				Duration:  3 * time.Second,
				Timeout:   30 * time.Second,
			})
			wantSuccess(t, p)
			waitFor(t, "the webhook events", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(events) >= len(tc.wantEvents)
			})

			ms := d.manifests(t)
			if len(ms) != 1 || ms[0].Recording == nil {
				t.Fatalf("got manifests %+v, want one call recorded", ms)
			}
			m := ms[0]
			if got := m.Recording.SilentChannels; !slices.Equal(got, tc.wantSilent) {
				t.Errorf("manifest: got silent channels %q, want %q", got, tc.wantSilent)
			}
			caller := m.Recording.Channels[0]
			if learned := tc.latching == "learn"; (caller.Packets > 0) != learned {
				t.Errorf("got %d caller packets recorded, want some: %v", caller.Packets, learned)
			}
			if len(m.MediaSources) == 0 {
				t.Fatal("manifest has no media_sources")
			}
			src := m.MediaSources[0]
			sdp := n.Private.String() + ":" + strconv.Itoa(mediaPort)
			if src.Side != "caller" || src.Latching != tc.latching || src.SDPAddr != sdp ||
				!strings.HasPrefix(src.ForeignSource, n.Public.String()+":") || src.ForeignPackets == 0 {
				t.Errorf("got caller media source %+v, want latching %s, sdp_addr %s and a foreign source from %s", src, tc.latching, sdp, n.Public)
			}
			if wantLatched := tc.latching == "learn"; (src.LatchedFrom == src.ForeignSource) != wantLatched {
				t.Errorf("got latched_from %q, foreign_source %q; want them equal: %v", src.LatchedFrom, src.ForeignSource, wantLatched)
			}

			// The recording itself: the caller's tone on the left, or silence.
			a, err := wav.Decode(d.audio(t, m.ID))
			if err != nil {
				t.Fatal(err)
			}
			loud := 0
			s := a.Samples()
			for i := 0; i < len(s); i += 2 {
				if s[i] > 1000 || s[i] < -1000 {
					loud++
				}
			}
			if heard := loud > 0; heard != (tc.latching == "learn") {
				t.Errorf("got %d loud caller samples, want the tone heard: %v", loud, tc.latching == "learn")
			}

			cat, err := catalog.Open(t.Context(), filepath.Join(d.dir, "data", "catalog.db"))
			if err != nil {
				t.Fatal(err)
			}
			rec, err := cat.Get(t.Context(), m.ID)
			cat.Close()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rec.SilentChannels, tc.wantSilent) {
				t.Errorf("catalog: got silent channels %q, want %q", rec.SilentChannels, tc.wantSilent)
			}

			mu.Lock()
			var types []string
			for _, e := range events {
				types = append(types, fmt.Sprint(e["type"]))
				if got := fmt.Sprint(e["silent_channels"]); e["silent_channels"] != nil && got != fmt.Sprint(toAny(tc.wantSilent)) {
					t.Errorf("webhook %v: got silent_channels %s, want %q", e["type"], got, tc.wantSilent)
				}
			}
			mu.Unlock()
			if !slices.Equal(types, tc.wantEvents) {
				t.Errorf("got webhook events %q, want %q", types, tc.wantEvents)
			}

			log := d.log.String()
			line := ""
			for _, l := range strings.Split(log, "\n") {
				if strings.Contains(l, tc.wantLog) {
					if line != "" {
						t.Errorf("got the foreign source logged twice, want once:\n%s\n%s", line, l)
					}
					line = l
				}
			}
			if !strings.Contains(line, `"sdp_addr":"`+sdp+`"`) || !strings.Contains(line, `"rtp_from":"`+n.Public.String()+":") {
				t.Errorf("got log line %q, want %q with sdp_addr %s and rtp_from %s", line, tc.wantLog, sdp, n.Public)
			}
			if strings.Contains(log, "0312345678") {
				t.Error("the log holds the caller's number unmasked")
			}

			metrics := d.scrape(t)
			want := []string{fmt.Sprintf(`kiroku_rtp_foreign_source_total{latching=%q,leg="caller"} 1`, tc.latching)}
			for _, ch := range tc.wantSilent {
				want = append(want, fmt.Sprintf(`kiroku_recording_silent_channels_total{channel=%q} 1`, ch))
			}
			for _, w := range want {
				if !strings.Contains(metrics, w+"\n") {
					t.Errorf("/metrics lacks %s:\n%s", w, grep(metrics, "kiroku_r"))
				}
			}
			if tc.wantSilent == nil && strings.Contains(metrics, "kiroku_recording_silent_channels_total{") {
				t.Errorf("/metrics counts a silent channel for a call with audio:\n%s", grep(metrics, "kiroku_recording_silent"))
			}
		})
	}
}

// toAny is ss as JSON decodes it into an any.
func toAny(ss []string) []any {
	var out []any
	for _, s := range ss {
		out = append(out, s)
	}
	return out
}
