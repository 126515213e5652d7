package sip

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/internal/testenv/audiotest"
	"github.com/kiroku-voice/kiroku/internal/testenv/sipptest"
	"github.com/kiroku-voice/kiroku/spool"
)

// audioPcap writes pcm (8 kHz) after lead of silence as a capture of
// PCMU packets of 20 ms for SIPp's play_pcap_audio, and returns its path.
func audioPcap(t *testing.T, lead time.Duration, pcm []int16) string {
	t.Helper()
	pcm = append(make([]int16, int(lead.Seconds()*8000)), pcm...)
	var frames [][]byte
	for off := 0; off < len(pcm); off += 160 {
		frame := make([]byte, 160)
		for i := range frame {
			var s int16
			if off+i < len(pcm) {
				s = pcm[off+i]
			}
			frame[i] = sipptest.EncodeULaw(s)
		}
		frames = append(frames, frame)
	}
	path := filepath.Join(t.TempDir(), "audio.pcap")
	if err := sipptest.WritePcap(path, sipptest.Paced(0, 20*time.Millisecond, sipptest.RTPStream(0, 1, 160, 0x1234, frames))); err != nil {
		t.Fatal(err)
	}
	return path
}

// withMethods sets the echo line's dtmf_methods.
func withMethods(methods ...string) func(*config.Config) {
	return func(c *config.Config) {
		for i := range c.Lines {
			if c.Lines[i].Number == echoLine {
				c.Lines[i].DTMFMethods = methods
			}
		}
	}
}

// TestOptOutInband: a caller whose gateway sends keys only as tones in
// the audio (sox's DTMF, no RFC 4733 and no INFO) opts out during the
// notice; the manifest says so, by inband, and nothing is recorded.
func TestOptOutInband(t *testing.T) {
	key := audiotest.DTMF(t, "9", 100*time.Millisecond, 500*time.Millisecond)
	env := startServer(t, envOptions{notice: 4 * time.Second})
	p := caller(t, env, "uac_pcap.xml", echoLine, nil, 2*time.Second,
		map[string]string{"pcap": audioPcap(t, 600*time.Millisecond, key.PCM)})
	mustSucceed(t, p)
	m := env.finalManifest(t)
	if m.Consent.Decision != spool.OptedOut {
		t.Fatalf("got decision %q, want %q", m.Consent.Decision, spool.OptedOut)
	}
	if o := m.Consent.OptOut; o == nil || o.Digit != "9" || o.Via != "inband" {
		t.Errorf("got opt-out %+v, want 9 via inband", o)
	}
	if m.Consent.Notice.Completed {
		t.Error("notice marked completed, want cut short by the opt-out")
	}
	if m.Recording != nil || m.NotRecorded != "caller opted-out" {
		t.Errorf("got recording %+v, not-recorded %q; want none, \"caller opted-out\"", m.Recording, m.NotRecorded)
	}
	if wavs, _ := filepath.Glob(filepath.Join(env.spool.Path(), "*"+spool.SealedExt)); len(wavs) != 0 {
		t.Errorf("got %v in the spool for an opted-out call, want no audio", wavs)
	}
}

// TestInbandTalkOff: a caller who talks (espeak-ng) or plays music (sox)
// all through the notice and the opt-out window is not taken for a key
// press: the call is notified and recorded.
func TestInbandTalkOff(t *testing.T) {
	for _, c := range []struct {
		name  string
		audio func(testing.TB) audiotest.Audio
	}{
		{"speech", func(t testing.TB) audiotest.Audio {
			return audiotest.Speech(t, "en", "Hello? Hello, is anybody there? I am calling about my order, number nine nine nine, "+
				"one two three four. It has not arrived, and I would like to know where it is. Can you hear me?")
		}},
		{"music", audiotest.Music},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := c.audio(t)
			const notice = 3 * time.Second
			if a.Duration() < notice+time.Second {
				t.Fatalf("got %v of %s, want more than the notice and window (%v)", a.Duration(), c.name, notice+time.Second)
			}
			pcm := a.PCM[:int((notice+time.Second).Seconds()*8000)]
			env := startServer(t, envOptions{notice: notice})
			p := caller(t, env, "uac_pcap.xml", echoLine, nil, 5*time.Second,
				map[string]string{"pcap": audioPcap(t, 0, pcm)})
			mustSucceed(t, p)
			m := env.finalManifest(t)
			if m.Consent.Decision != spool.Notified || m.Consent.OptOut != nil {
				t.Fatalf("got decision %q, opt-out %+v; want %q and none", m.Consent.Decision, m.Consent.OptOut, spool.Notified)
			}
			if m.Recording == nil {
				t.Errorf("got no recording (not recorded: %q), want the call recorded", m.NotRecorded)
			}
		})
	}
}

// TestDTMFMethodsNotCounted: a key by a method the line's dtmf_methods
// leave out does not opt the caller out: in-band tones on an
// rfc4733+info line, and a SIP INFO key on an inband-only line (logged
// at debug).
func TestDTMFMethodsNotCounted(t *testing.T) {
	t.Run("inband on rfc4733+info", func(t *testing.T) {
		key := audiotest.DTMF(t, "9", 100*time.Millisecond, 500*time.Millisecond)
		env := startServer(t, envOptions{notice: 2 * time.Second, tweak: withMethods(config.DTMFRFC4733, config.DTMFInfo)})
		p := caller(t, env, "uac_pcap.xml", echoLine, nil, 3*time.Second,
			map[string]string{"pcap": audioPcap(t, 600*time.Millisecond, key.PCM)})
		mustSucceed(t, p)
		if m := env.finalManifest(t); m.Consent.Decision != spool.Notified {
			t.Errorf("got decision %q, opt-out %+v; want %q", m.Consent.Decision, m.Consent.OptOut, spool.Notified)
		}
	})
	t.Run("info on inband", func(t *testing.T) {
		// INFO 9 comes 500 ms into the 1 s notice; the caller stays past
		// the notice and the window.
		env := startServer(t, envOptions{notice: time.Second, tweak: withMethods(config.DTMFInband)})
		p := caller(t, env, "uac_info.xml", echoLine, newRTPPeer(t), 2*time.Second, nil)
		mustSucceed(t, p)
		if m := env.finalManifest(t); m.Consent.Decision != spool.Notified {
			t.Errorf("got decision %q, opt-out %+v; want %q", m.Consent.Decision, m.Consent.OptOut, spool.Notified)
		}
		if !env.logged("caller key ignored for consent: its method is not in the line's dtmf_methods", "via", "sip-info") {
			t.Error("no debug log of the ignored key")
		}
	})
}
