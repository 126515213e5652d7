package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/testenv/linphonetest"
	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/spool"
)

// TestLinphoneCaller: linphonec, with its default codec list (opus and
// speex first, G.711 after, telephone-event at three rates), calls a line
// whose agent is a SIPp that plays a 1000 Hz tone; linphone's microphone
// is a 440 Hz WAV. Kiroku answers with G.711 out of that offer, plays the
// notice, bridges, and the call is recorded: notified, the caller's tone
// on the left, the agent's on the right, no silent channel, in the
// manifest and the catalog; linphone hears the agent, and its hang-up
// ends the call as the caller's.
func TestLinphoneCaller(t *testing.T) {
	linphonetest.Need(t)
	agentTone := filepath.Join(t.TempDir(), "agent.pcap")
	pkts := sipptest.RTPStream(0, 1, 1000, 0x1000abcd, sipptest.ToneULaw(1000, 6*time.Second))
	if err := sipptest.WritePcap(agentTone, sipptest.Paced(0, 20*time.Millisecond, pkts)); err != nil {
		t.Fatal(err)
	}
	agent := sipptest.Start(t, sipptest.Options{
		Scenario: sipptest.Scenario(t, "uas_pcap.xml"),
		Keys:     map[string]string{"pcap": agentTone},
		Timeout:  30 * time.Second,
	})

	d := agentDaemon(t, agent.Port(), "200ms")

	ua := linphonetest.Start(t, linphonetest.Options{User: "0312345678", Source: toneWAV(t, 440, 8*time.Second)})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := ua.Command(fmt.Sprintf("call sip:0120000001@127.0.0.1:%d", d.port)); err != nil {
		t.Fatal(err)
	}
	if err := ua.WaitFor(ctx, "Media streams established"); err != nil {
		t.Fatal(err)
	}
	d.waitRecording(t)
	// The call's length, as SIPp's -d is for its callers: two seconds
	// of both tones recorded.
	select {
	case <-time.After(2 * time.Second):
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	if err := ua.Command("terminate"); err != nil {
		t.Fatal(err)
	}
	if err := ua.WaitFor(ctx, "ended (No error)"); err != nil {
		t.Fatal(err)
	}
	wantSuccess(t, agent)
	if err := ua.Quit(ctx); err != nil {
		t.Fatal(err)
	}

	var m *spool.Manifest
	waitFor(t, "the call's recording", func() bool {
		ms := d.manifests(t)
		if len(ms) == 1 && ms[0].Recording != nil && ms[0].Recording.EndedAt != nil {
			m = ms[0]
			return true
		}
		return false
	})
	cat := d.catalog(t)
	var rec *catalog.Recording
	waitFor(t, "the recording in the catalog", func() bool {
		r, err := cat.Get(t.Context(), m.ID)
		rec = r
		return err == nil
	})
	if m.Consent.Decision != spool.Notified || !m.Consent.Notice.Completed || m.EndReason != "caller-hangup" {
		t.Fatalf("got decision %q notice completed %v end %q; want notified, completed, caller-hangup",
			m.Consent.Decision, m.Consent.Notice.Completed, m.EndReason)
	}
	if len(m.Recording.SilentChannels) != 0 || len(m.Recording.Channels) != 2 {
		t.Fatalf("got channels %+v silent %q, want both channels with audio", m.Recording.Channels, m.Recording.SilentChannels)
	}
	for _, ch := range m.Recording.Channels {
		if ch.Packets < 50 || ch.Codec != "PCMU" {
			t.Errorf("channel %s: got %d packets of %q, want some 100 of PCMU (negotiated down from linphone's opus-first offer)", ch.Side, ch.Packets, ch.Codec)
		}
	}
	if rec.Decision != spool.Notified || len(rec.SilentChannels) != 0 || rec.ObjectKey == "" {
		t.Errorf("catalog: got decision %q silent %q object %q, want notified, none silent, stored", rec.Decision, rec.SilentChannels, rec.ObjectKey)
	}

	a, err := wav.Decode(d.audio(t, m.ID))
	if err != nil {
		t.Fatal(err)
	}
	s := a.Samples()
	left, right := make([]int16, 0, len(s)/2), make([]int16, 0, len(s)/2)
	for i := 0; i+1 < len(s); i += 2 {
		left, right = append(left, s[i]), append(right, s[i+1])
	}
	if !dominant(left, 440, 1000) {
		t.Errorf("left channel: 440 Hz power %.0f, 1000 Hz %.0f; want linphone's 440 Hz", goertzel(left, 440), goertzel(left, 1000))
	}
	if !dominant(right, 1000, 440) {
		t.Errorf("right channel: 1000 Hz power %.0f, 440 Hz %.0f; want the agent's 1000 Hz", goertzel(right, 1000), goertzel(right, 440))
	}

	heard, err := os.ReadFile(ua.Heard())
	if err != nil {
		t.Fatal(err)
	}
	h, err := wav.Decode(linphonetest.FixWAV(heard))
	if err != nil {
		t.Fatalf("linphone's recording of what it heard: %v", err)
	}
	if h.SampleRate != 8000 || h.Channels != 1 || goertzel(h.Samples(), 1000) < 1000 {
		t.Errorf("linphone heard %v with 1000 Hz power %.0f, want 8000 Hz mono holding the agent's tone", h, goertzel(h.Samples(), 1000))
	}
}

// agentDaemon starts kirokud with line 0120000001 bridged to the SIPp
// agent on port agent, its opt-out window open for optOutWait after the
// notice.
func agentDaemon(t *testing.T, agent int, optOutWait string) *proc {
	t.Helper()
	d := prepare(t, "5s")
	y := fmt.Sprintf(`sip:
  listen: ["udp://127.0.0.1:%d"]
  trunks: [{name: test, cidrs: ["127.0.0.0/8"]}]
  rtp_ports: 35000-35999
  drain_timeout: 5s
data_dir: data
log: {format: json, level: debug}
control: {listen: "127.0.0.1:0"}
purposes:
  - {name: cs-quality, retention: 90d, listeners: [supervisor]}
lines:
  - {number: "0120000001", purpose: cs-quality, notice: notice.wav, opt_out_digit: "9", opt_out_wait: %s, downstream: "sip:agent@127.0.0.1:%d"}
`, d.port, optOutWait, agent)
	if err := os.WriteFile(filepath.Join(d.dir, "kiroku.yaml"), []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return d.start(t)
}

// TestLinphoneOptOut: linphone's key 9, pressed once it hears the
// notice, reaches Kiroku as RFC 4733 (out of the three telephone-event
// rates it offers, Kiroku answers the 8 kHz one): the call still goes
// through to the agent, and nothing is recorded.
func TestLinphoneOptOut(t *testing.T) {
	linphonetest.Need(t)
	agent := sipptest.Start(t, sipptest.Options{
		Scenario: sipptest.Scenario(t, "uas.xml"),
		Keys:     map[string]string{"rtp_port": strconv.Itoa(sipptest.FreeRTPPort(t))},
		Timeout:  30 * time.Second,
	})
	d := agentDaemon(t, agent.Port(), "5s")
	ua := linphonetest.Start(t, linphonetest.Options{User: "0312345678"})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := ua.Command(fmt.Sprintf("call sip:0120000001@127.0.0.1:%d", d.port)); err != nil {
		t.Fatal(err)
	}
	if err := ua.WaitFor(ctx, "Media streams established"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "linphone hearing the notice", func() bool {
		fi, err := os.Stat(ua.Heard())
		return err == nil && fi.Size() > 44+1600 // a tenth of a second of 8 kHz audio
	})
	if err := ua.Command("9"); err != nil { // linphonec sends a line of digits as DTMF
		t.Fatal(err)
	}
	d.waitLog(t, `"decision":"opted-out"`)
	d.waitLog(t, "bridged to downstream")
	if err := ua.Command("terminate"); err != nil {
		t.Fatal(err)
	}
	if err := ua.WaitFor(ctx, "ended (No error)"); err != nil {
		t.Fatal(err)
	}
	wantSuccess(t, agent)
	var m *spool.Manifest
	waitFor(t, "the call's manifest", func() bool {
		ms := d.manifests(t)
		if len(ms) == 1 && ms[0].EndedAt != nil {
			m = ms[0]
			return true
		}
		return false
	})
	o := m.Consent.OptOut
	if m.Consent.Decision != spool.OptedOut || o == nil || o.Digit != "9" || o.Via != "rfc4733" {
		t.Fatalf("got decision %q opt-out %+v, want opted out by 9 over RFC 4733", m.Consent.Decision, o)
	}
	if m.Recording != nil || m.BridgedAt == nil || m.EndReason != "caller-hangup" {
		t.Errorf("got recording %v bridged %v end %q, want the call bridged, not recorded, ended by the caller", m.Recording, m.BridgedAt, m.EndReason)
	}
}

// toneWAV writes dur of a freq Hz tone as an 8 kHz mono 16-bit WAV.
func toneWAV(t *testing.T, freq float64, dur time.Duration) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("tone%.0f.wav", freq))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := wav.NewWriter(f, 8000, 1)
	if err != nil {
		t.Fatal(err)
	}
	n := int(dur.Seconds() * 8000)
	b := make([]byte, 2*n)
	for i := range n {
		v := int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/8000))
		b[2*i], b[2*i+1] = byte(v), byte(uint16(v)>>8)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(w.Close(), f.Close()); err != nil {
		t.Fatal(err)
	}
	return path
}

// goertzel is the power of freq Hz in 8 kHz pcm.
func goertzel(pcm []int16, freq float64) float64 {
	c := 2 * math.Cos(2*math.Pi*freq/8000)
	var s1, s2 float64
	for _, x := range pcm {
		s1, s2 = float64(x)+c*s1-s2, s1
	}
	return (s1*s1 + s2*s2 - c*s1*s2) / float64(max(len(pcm), 1))
}

// dominant says whether want Hz carries clearly more power than other.
func dominant(pcm []int16, want, other float64) bool {
	return goertzel(pcm, want) > 20*goertzel(pcm, other) && goertzel(pcm, want) > 1000
}
