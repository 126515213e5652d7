package sip

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/testenv/baresiptest"
	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/spool"
)

// toneWAVAt writes a sine of freq Hz lasting dur as a mono WAV at rate Hz.
func toneWAVAt(t *testing.T, path string, freq float64, dur time.Duration, rate int) string {
	t.Helper()
	pcm := make([]int16, int(dur.Seconds()*float64(rate)))
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	writeWAVAt(t, path, pcm, rate)
	return path
}

// baresipHeard reads what a baresip heard, at the rate its player wrote.
func baresipHeard(t *testing.T, ua *baresiptest.UA) ([]int16, int) {
	t.Helper()
	path := ua.Heard()
	if path == "" {
		t.Fatal("baresip dumped nothing it heard")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("what baresip heard: %v", err)
	}
	a, err := wav.Decode(b)
	if err != nil {
		t.Fatalf("what baresip heard: %v", err)
	}
	return a.Samples(), a.SampleRate
}

// TestG722Baresip: baresip as caller and as agent, with G.722 as their
// only codec, and a G.722 caller to a G.711-only agent. Each sends a tone;
// the call is bridged and recorded at 16 kHz with each tone on its side.
// The agent's tone in the first call is 6 kHz, which only a wideband path
// carries: it proves the audio stayed at 16 kHz from the agent through
// the relay and into the recording. In the second call the relay
// transcodes both ways, and each baresip hears the other's tone.
func TestG722Baresip(t *testing.T) {
	baresiptest.Need(t)
	for _, c := range []struct {
		name        string
		agentCodecs []string
		agentCodec  string
		agentTone   float64
		agentRate   int
	}{
		{"G.722 both legs", []string{"g722"}, "G722", 6000, 16000},
		{"G.722 caller, G.711 agent", []string{"g711"}, "PCMU", 1000, 8000},
	} {
		t.Run(c.name, func(t *testing.T) {
			agentPort := freeSIPPort(t)
			env := startServer(t, envOptions{agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", agentPort)})
			dir := t.TempDir()
			agent := baresiptest.Start(t, baresiptest.Options{
				User: "agent", Listen: fmt.Sprintf("127.0.0.1:%d", agentPort), AutoAnswer: true, Codecs: c.agentCodecs, Dump: true,
				Source: toneWAVAt(t, filepath.Join(dir, "agent.wav"), c.agentTone, 10*time.Second, c.agentRate),
			})
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			if err := agent.WaitFor(ctx, "baresip is ready"); err != nil {
				t.Fatal(err)
			}
			caller := baresiptest.Start(t, baresiptest.Options{
				User: "0312345678", Codecs: []string{"g722"}, Dump: true,
				Source: toneWAVAt(t, filepath.Join(dir, "caller.wav"), 440, 5*time.Second, 16000),
				Dial:   fmt.Sprintf("sip:%s@%s", agentLine, env.udp),
			})
			// baresip hangs up when its tone ends.
			if err := caller.WaitFor(ctx, "terminated (duration"); err != nil {
				t.Fatalf("the caller's call did not end: %v", err)
			}
			m := env.finalManifest(t)
			if m.State != spool.StateSpooled || m.Recording == nil {
				t.Fatalf("got state %q, not recorded %q, want a recording", m.State, m.NotRecorded)
			}
			if want := spool.RecordingFormatAt(16000); m.Recording.Format != want {
				t.Errorf("manifest format %q, want %q", m.Recording.Format, want)
			}
			if got := [2]string{m.Recording.Channels[0].Codec, m.Recording.Channels[1].Codec}; got != [2]string{"G722", c.agentCodec} {
				t.Errorf("channel codecs %v, want G722 and %s", got, c.agentCodec)
			}
			left, right := env.recordingAt(t, m, 16000)
			if len(left) < 16000 {
				t.Fatalf("got %d samples, want over a second of bridged audio", len(left))
			}
			if !dominantAt(left, 440, c.agentTone, 16000) {
				t.Errorf("left channel: 440 Hz power %.0f, %.0f Hz %.0f; want the caller's 440 Hz",
					powerAt(left, 440, 16000), c.agentTone, powerAt(left, c.agentTone, 16000))
			}
			if !dominantAt(right, c.agentTone, 440, 16000) {
				t.Errorf("right channel: %.0f Hz power %.0f, 440 Hz %.0f; want the agent's tone",
					c.agentTone, powerAt(right, c.agentTone, 16000), powerAt(right, 440, 16000))
			}
			for i, ch := range m.Recording.Channels {
				if ch.Packets < 50 {
					t.Errorf("channel %d: got %+v, want the bridged packets", i, ch)
				}
			}
			// Each side heard the other: the caller its agent's tone, the
			// agent the caller's 440 Hz (through the transcoder in the
			// second case).
			pcm, rate := baresipHeard(t, caller)
			if !dominantAt(pcm, c.agentTone, 440, rate) {
				t.Errorf("the caller heard %.0f Hz at power %.0f, 440 Hz %.0f; want the agent's tone",
					c.agentTone, powerAt(pcm, c.agentTone, rate), powerAt(pcm, 440, rate))
			}
			if err := agent.WaitFor(ctx, "terminated (duration"); err != nil {
				t.Fatalf("the agent's call did not end: %v", err)
			}
			pcm, rate = baresipHeard(t, agent)
			if !dominantAt(pcm, 440, c.agentTone, rate) {
				t.Errorf("the agent heard 440 Hz at power %.0f, %.0f Hz %.0f; want the caller's tone",
					powerAt(pcm, 440, rate), c.agentTone, powerAt(pcm, c.agentTone, rate))
			}
		})
	}
}
