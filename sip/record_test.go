package sip

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/wav"
	"github.com/kiroku-voice/kiroku/spool"
)

// recording reads the call's WAV and checks its format.
func (e *testEnv) recording(t *testing.T, m *spool.Manifest) (left, right []int16) {
	t.Helper()
	return e.recordingAt(t, m, 8000)
}

// recordingAt is recording for a call recorded at rate Hz.
func (e *testEnv) recordingAt(t *testing.T, m *spool.Manifest, rate int) (left, right []int16) {
	t.Helper()
	if m.Recording == nil {
		t.Fatalf("manifest has no recording (not recorded: %q)", m.NotRecorded)
	}
	f, _, err := e.spool.OpenAudio(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	a, err := wav.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if a.SampleRate != rate || a.Channels != 2 || a.BitsPerSample != 16 {
		t.Fatalf("got %s, want %d Hz stereo 16-bit", a, rate)
	}
	s := a.Samples()
	left, right = make([]int16, len(s)/2), make([]int16, len(s)/2)
	for i := range left {
		left[i], right[i] = s[2*i], s[2*i+1]
	}
	if int64(len(b)) != m.Recording.Size {
		t.Errorf("got file of %d bytes, manifest says %d", len(b), m.Recording.Size)
	}
	return left, right
}

// power is the Goertzel power of freq in pcm, normalised by length.
func power(pcm []int16, freq float64) float64 { return powerAt(pcm, freq, 8000) }

// powerAt is power for audio sampled at rate Hz.
func powerAt(pcm []int16, freq float64, rate int) float64 {
	w := 2 * math.Pi * freq / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, x := range pcm {
		s0 := float64(x) + c*s1 - s2
		s2, s1 = s1, s0
	}
	return (s1*s1 + s2*s2 - c*s1*s2) / float64(len(pcm)*len(pcm)+1)
}

// dominant reports whether want is far stronger than other in pcm.
func dominant(pcm []int16, want, other float64) bool { return dominantAt(pcm, want, other, 8000) }

// dominantAt is dominant for audio sampled at rate Hz.
func dominantAt(pcm []int16, want, other float64, rate int) bool {
	return powerAt(pcm, want, rate) > 20*powerAt(pcm, other, rate) && powerAt(pcm, want, rate) > 1000
}

// TestRecordingChannels: caller left, agent right, whole bridged time.
func TestRecordingChannels(t *testing.T) {
	b := bridge(t, 3*time.Second)
	go b.agentPeer.sendTone(b.call.AgentRTP, 1000, 2*time.Second, nil)
	b.callerPeer.sendTone(b.call.CallerRTP, 440, 2*time.Second, nil)
	mustSucceed(t, b.caller)
	m := b.env.finalManifest(t)
	if m.State != spool.StateSpooled {
		t.Fatalf("got state %q, want spooled", m.State)
	}
	left, right := b.env.recording(t, m)
	if !dominant(left, 440, 1000) {
		t.Errorf("left channel: 440 Hz power %.0f, 1000 Hz %.0f; want the caller's 440 Hz", power(left, 440), power(left, 1000))
	}
	if !dominant(right, 1000, 440) {
		t.Errorf("right channel: 1000 Hz power %.0f, 440 Hz %.0f; want the agent's 1000 Hz", power(right, 1000), power(right, 440))
	}
	bridged := m.Recording.EndedAt.Sub(m.Recording.StartedAt)
	got := time.Duration(len(left)) * time.Second / 8000
	if d := got - bridged; d < -60*time.Millisecond || d > 60*time.Millisecond {
		t.Errorf("recording lasts %v, bridged %v: want ±60ms", got, bridged)
	}
	if math.Abs(m.Recording.Duration-got.Seconds()) > 0.001 {
		t.Errorf("manifest duration %.3fs, file %.3fs", m.Recording.Duration, got.Seconds())
	}
	for i, ch := range m.Recording.Channels {
		if ch.Packets < 95 || ch.Lost != 0 {
			t.Errorf("channel %d: got %+v, want ~100 packets and none lost", i, ch)
		}
	}
	if m.Recording.SHA256 == "" || m.Recording.Format != spool.RecordingFormat {
		t.Errorf("got recording %+v, want checksum and format", m.Recording)
	}
}

// TestRecordingLossAndSSRCChange: 5 % of the caller's packets lost and an
// SSRC change half way: the file keeps its length, the losses are silence
// of their length, and nothing shifts.
func TestRecordingLossAndSSRCChange(t *testing.T) {
	b := bridge(t, 3*time.Second)
	const frames = 100
	sent := b.callerPeer.sendToneOpts(b.call.CallerRTP, 440, frames*20*time.Millisecond, nil,
		toneOpts{drop: func(i int) bool { return i%20 == 10 }, ssrcChange: 45})
	mustSucceed(t, b.caller)
	m := b.env.finalManifest(t)
	left, _ := b.env.recording(t, m)
	first, last := -1, -1
	for i, s := range left {
		if s != 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		t.Fatal("left channel is silent")
	}
	span := last - first + 1
	if d := span - frames*160; d < -400 || d > 400 {
		t.Errorf("caller's audio spans %d samples, want %d ±400: a shift or a stretch", span, frames*160)
	}
	// Count runs of silence inside the span at least 100 samples long:
	// the lost packets, and nothing else.
	runs, run := 0, 0
	for _, s := range left[first : last+1] {
		if s == 0 {
			run++
			continue
		}
		if run >= 100 {
			runs++
		}
		run = 0
	}
	if want := frames - sent; runs != want {
		t.Errorf("got %d silent gaps in the caller's audio, want %d (one per lost packet)", runs, want)
	}
	ch := m.Recording.Channels[0]
	if ch.Lost != uint64(frames-sent) || ch.GapMs != int64(frames-sent)*20 {
		t.Errorf("got caller stats %+v, want %d lost, %d ms gap", ch, frames-sent, (frames-sent)*20)
	}
	bridged := m.Recording.EndedAt.Sub(m.Recording.StartedAt)
	if d := time.Duration(len(left))*time.Second/8000 - bridged; d < -60*time.Millisecond || d > 60*time.Millisecond {
		t.Errorf("recording length off the bridged time by %v", d)
	}
}

// TestRecordingMixedCodecs: a PCMU caller and a PCMA agent; the relay
// transcodes and both channels decode to their tones.
func TestRecordingMixedCodecs(t *testing.T) {
	ap := newRTPPeer(t)
	ag := sippAgent(t, "uas_pcma.xml", ap, 0)
	env := startServer(t, envOptions{notice: 200 * time.Millisecond, optOutWait: "100ms",
		agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port())})
	cp := newRTPPeer(t)
	c := caller(t, env, "uac.xml", agentLine, cp, 3*time.Second, nil)
	ci := env.waitCall(t, "bridged")
	go ap.sendToneOpts(ci.AgentRTP, 1000, 2*time.Second, nil, toneOpts{pt: 8})
	cp.sendTone(ci.CallerRTP, 440, 2*time.Second, nil)
	mustSucceed(t, c)
	m := env.finalManifest(t)
	left, right := env.recording(t, m)
	if !dominant(left, 440, 1000) || !dominant(right, 1000, 440) {
		t.Errorf("channels do not carry their tones: left 440/1000 %.0f/%.0f, right 1000/440 %.0f/%.0f",
			power(left, 440), power(left, 1000), power(right, 1000), power(right, 440))
	}
	if m.Recording.Channels[0].Codec != "PCMU" || m.Recording.Channels[1].Codec != "PCMA" {
		t.Errorf("got codecs %s/%s, want PCMU/PCMA", m.Recording.Channels[0].Codec, m.Recording.Channels[1].Codec)
	}
	pcma, pcmu := 0, 0
	for _, p := range ap.packets() {
		switch p.pt {
		case 8:
			pcma++
		case 0:
			pcmu++
		}
	}
	if pcma < 50 || pcmu != 0 {
		t.Errorf("agent got %d PCMA and %d PCMU packets, want PCMA only", pcma, pcmu)
	}
}

func TestOptedOutNotRecorded(t *testing.T) {
	env := startServer(t, envOptions{notice: 2 * time.Second})
	peer := newRTPPeer(t)
	p := caller(t, env, "uac_info.xml", echoLine, peer, 2*time.Second, nil)
	mustSucceed(t, p)
	m := env.finalManifest(t)
	if m.Recording != nil || m.State != spool.StateDone || m.NotRecorded != "caller opted-out" {
		t.Errorf("got state %q recording %+v not-recorded %q; want done, none, \"caller opted-out\"", m.State, m.Recording, m.NotRecorded)
	}
	wavs, _ := filepath.Glob(filepath.Join(env.spool.Path(), "*.wav"))
	sealed, _ := filepath.Glob(filepath.Join(env.spool.Path(), "*"+spool.SealedExt))
	if wavs = append(wavs, sealed...); len(wavs) != 0 {
		t.Errorf("got %v in the spool for an opted-out call, want no audio", wavs)
	}
}

// TestPauseByAgentKeys: *1 pauses and *2 resumes; the recording holds
// silence in between, the manifest lists the interval, and the caller
// never hears the keys.
func TestPauseByAgentKeys(t *testing.T) {
	ap := newRTPPeer(t)
	ag := sippAgent(t, "uas.xml", ap, 0)
	env := startServer(t, envOptions{notice: 200 * time.Millisecond, optOutWait: "100ms", pauseKeys: "*1",
		agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port())})
	cp := newRTPPeer(t)
	c := caller(t, env, "uac.xml", agentLine, cp, 4*time.Second, nil)
	ci := env.waitCall(t, "bridged")
	cp.reset()
	go cp.sendTone(ci.CallerRTP, 440, 3*time.Second, nil)
	time.Sleep(500 * time.Millisecond)
	ap.sendKey(ci.AgentRTP, 101, '*', false)
	ap.sendKey(ci.AgentRTP, 101, '1', false)
	time.Sleep(time.Second)
	ap.sendKey(ci.AgentRTP, 101, '*', false)
	ap.sendKey(ci.AgentRTP, 101, '2', false)
	mustSucceed(t, c)
	m := env.finalManifest(t)
	if len(m.Recording.Paused) != 1 || m.Recording.Paused[0].By != "dtmf" || m.Recording.Paused[0].End == nil {
		t.Fatalf("got paused intervals %+v, want one closed interval by dtmf", m.Recording.Paused)
	}
	p := m.Recording.Paused[0]
	left, right := env.recording(t, m)
	from, to := int(p.StartOffset*8000)+200, int(p.EndOffset*8000)-200
	if to-from < 4000 {
		t.Fatalf("pause lasted %.2fs, want about 1s", p.EndOffset-p.StartOffset)
	}
	for i := from; i < to; i++ {
		if left[i] != 0 || right[i] != 0 {
			t.Fatalf("sample %d (%.3fs) inside the pause is %d/%d, want silence", i, float64(i)/8000, left[i], right[i])
		}
	}
	if !dominant(left[:from], 440, 1000) || !dominant(left[to:], 440, 1000) {
		t.Error("the caller's tone is missing before or after the pause")
	}
	for _, pk := range cp.packets() {
		if pk.pt == 101 {
			t.Fatalf("the caller heard the agent's pause keys (event %d)", pk.payload[0])
		}
	}
}

// bridgeSpoolHeld is bridge with the spool's writer held from the call's
// first batch on (the rest queue behind it) until let is called, at the
// latest at the test's end: the call is bridged and its recording begun
// with neither its data key nor its manifest durable.
func bridgeSpoolHeld(t *testing.T, hold time.Duration) (b *bridgeEnv, let func()) {
	t.Helper()
	ap := newRTPPeer(t)
	ag := agent(t, "uas.xml", ap, 1)
	env := startServer(t, envOptions{notice: 400 * time.Millisecond, optOutWait: "200ms",
		agent: fmt.Sprintf("sip:agent@127.0.0.1:%d", ag.Port())})
	held, release := make(chan struct{}), make(chan struct{})
	var once, free sync.Once
	let = func() { free.Do(func() { close(release) }) }
	t.Cleanup(let)
	env.spool.OnCommit(func(int, time.Duration) {
		once.Do(func() {
			close(held)
			select {
			case <-release:
			case <-time.After(20 * time.Second):
			}
		})
	})
	cp := newRTPPeer(t)
	c := caller(t, env, "uac.xml", agentLine, cp, hold, nil)
	ci := env.waitCall(t, "bridged")
	select {
	case <-held:
	case <-time.After(5 * time.Second):
		t.Fatal("the call made no spool batch to hold")
	}
	return &bridgeEnv{env: env, callerPeer: cp, agentPeer: ap, caller: c, agentP: ag, call: ci}, let
}

// TestRecordingDoesNotWaitForTheSpool: a recording's audio reaches its
// sealed file while the spool's writer is held, before the data key and
// the manifest naming the file are durable (in a storm's ramp the
// spool's batches took seconds, and audio that waited for them past the
// recorder's ring was lost); once the writer goes on, the final manifest
// names the whole recording, both tones in it, and no wait.
func TestRecordingDoesNotWaitForTheSpool(t *testing.T) {
	b, let := bridgeSpoolHeld(t, 4*time.Second)
	env, ap, cp, c, ci := b.env, b.agentPeer, b.callerPeer, b.caller, b.call
	go ap.sendTone(ci.AgentRTP, 1000, 2*time.Second, nil)
	cp.sendTone(ci.CallerRTP, 440, 2*time.Second, nil)
	fi, err := os.Stat(env.spool.SealedPath(ci.ID))
	if err != nil || fi.Size() < 32000 {
		t.Errorf("while the spool's writer was held: sealed file %v, want a second of audio (32,000 bytes) or more in it", err)
	} else {
		t.Logf("%d bytes sealed while the writer was held", fi.Size())
	}
	if m, err := env.spool.ReadManifest(ci.ID); err == nil && m.Recording != nil {
		t.Error("the manifest naming the recording was durable while the writer was held: the test held nothing")
	}
	let()
	mustSucceed(t, c)
	m := env.finalManifest(t)
	left, right := env.recording(t, m)
	if first := min(len(left), 8000); !dominant(left[:first], 440, 1000) || !dominant(right[:first], 1000, 440) {
		t.Errorf("first second: caller 440 Hz %.0f, agent 1000 Hz %.0f; want both tones from the start", power(left[:first], 440), power(right[:first], 1000))
	}
	if m.Recording.OpenWaitMs != 0 {
		t.Errorf("open_wait_ms %d, want none", m.Recording.OpenWaitMs)
	}
	for _, ch := range m.Recording.Channels {
		if ch.Packets < 95 || ch.Overrun != 0 {
			t.Errorf("channel %s: %d packets, %d overrun; want ~100 and none", ch.Side, ch.Packets, ch.Overrun)
		}
	}
}

// TestRecordingKeyRefused: when the spool refuses the recording's data
// key (here its name is taken by a folder) while its audio is being
// written, the audio could never be opened: at the call's end it is
// removed, and the final manifest says the call was not recorded and
// why, rather than naming audio nothing can read.
func TestRecordingKeyRefused(t *testing.T) {
	b, let := bridgeSpoolHeld(t, 3*time.Second)
	env, ap, cp, c, ci := b.env, b.agentPeer, b.callerPeer, b.caller, b.call
	// The key is queued behind the held batch: its name is taken first.
	if err := os.Mkdir(filepath.Join(env.spool.Path(), ci.ID+".key"), 0o700); err != nil {
		t.Fatal(err)
	}
	go ap.sendTone(ci.AgentRTP, 1000, time.Second, nil)
	cp.sendTone(ci.CallerRTP, 440, time.Second, nil)
	if fi, err := os.Stat(env.spool.SealedPath(ci.ID)); err != nil || fi.Size() == 0 {
		t.Errorf("sealed audio while the writer was held: %v; want it being written", err)
	}
	let()
	mustSucceed(t, c)
	m := env.finalManifest(t)
	if m.Recording != nil || !strings.Contains(m.NotRecorded, "data key") {
		t.Errorf("got recording %+v, not recorded %q; want none, saying the data key was not kept", m.Recording, m.NotRecorded)
	}
	if _, err := os.Stat(env.spool.SealedPath(ci.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the unreadable audio is still in the spool (%v)", err)
	}
}
