package media

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kiroku-voice/kiroku/internal/testenv/audiotest"
)

// The test's own keypad table (Q.23), not the detector's.
var testKeys = map[rune][2]float64{
	'1': {697, 1209}, '2': {697, 1336}, '3': {697, 1477}, 'A': {697, 1633},
	'4': {770, 1209}, '5': {770, 1336}, '6': {770, 1477}, 'B': {770, 1633},
	'7': {852, 1209}, '8': {852, 1336}, '9': {852, 1477}, 'C': {852, 1633},
	'*': {941, 1209}, '0': {941, 1336}, '#': {941, 1477}, 'D': {941, 1633},
}

// tone is one stretch of test signal: a key's tones (or none) for dur.
type tone struct {
	key   rune // 0: silence
	dur   time.Duration
	level float64 // dBm0 of the row tone; 0 means -10
	twist float64 // dB the row tone is above the column tone
	shift float64 // relative frequency error of both tones (0.015: 1.5 % high)
	// harm is the level, in dB below each tone, of a second harmonic
	// added to it (0: none).
	harm float64
}

// synth returns the stretches one after the other at 8 kHz, through a
// G.711 μ-law encoder and decoder as a gateway's audio arrives.
func synth(parts ...tone) []int16 {
	var out []int16
	n := 0
	for _, p := range parts {
		samples := int(p.dur.Seconds() * 8000)
		level := p.level
		if level == 0 {
			level = -10
		}
		ar := 22652 * math.Pow(10, level/20)
		ac := ar * math.Pow(10, -p.twist/20)
		f := testKeys[p.key]
		for range samples {
			var s float64
			if p.key != 0 {
				t := float64(n) / 8000
				fr, fc := f[0]*(1+p.shift), f[1]*(1+p.shift)
				s = ar*math.Sin(2*math.Pi*fr*t) + ac*math.Sin(2*math.Pi*fc*t+1)
				if p.harm != 0 {
					h := math.Pow(10, -p.harm/20)
					s += h * (ar*math.Sin(4*math.Pi*fr*t) + ac*math.Sin(4*math.Pi*fc*t))
				}
			}
			s = max(-32768, min(32767, math.Round(s)))
			out = append(out, DecodeULaw(EncodeULaw(int16(s))))
			n++
		}
	}
	return out
}

// detect feeds pcm to a new detector in packets of frame samples and
// returns the keys it reports.
func detect(pcm []int16, frame int) string {
	var (
		d    ToneDetector
		keys []rune
	)
	for off := 0; off < len(pcm); off += frame {
		if k, ok := d.Feed(pcm[off:min(off+frame, len(pcm))]); ok {
			keys = append(keys, k)
		}
	}
	return string(keys)
}

const ms = time.Millisecond

func TestToneDetectorKeys(t *testing.T) {
	for k := range testKeys {
		t.Run(string(k), func(t *testing.T) {
			pcm := synth(tone{dur: 30 * ms}, tone{key: k, dur: 60 * ms}, tone{dur: 60 * ms})
			if got := detect(pcm, 160); got != string(k) {
				t.Errorf("got %q, want %q", got, string(k))
			}
		})
	}
}

func TestToneDetectorRules(t *testing.T) {
	quiet := tone{dur: 50 * ms}
	for _, c := range []struct {
		name  string
		parts []tone
		want  string
	}{
		{"loud, -4 dBm0 a tone", []tone{quiet, {key: '9', dur: 80 * ms, level: -4}, quiet}, "9"},
		{"-20 dBm0", []tone{quiet, {key: '9', dur: 80 * ms, level: -20}, quiet}, "9"},
		{"quiet, -30 dBm0", []tone{quiet, {key: '9', dur: 80 * ms, level: -30}, quiet}, "9"},
		{"too quiet, -36 dBm0", []tone{quiet, {key: '9', dur: 80 * ms, level: -36}, quiet}, ""},
		{"normal twist 6 dB", []tone{quiet, {key: '1', dur: 80 * ms, twist: 6}, quiet}, "1"},
		{"reverse twist 3 dB", []tone{quiet, {key: 'D', dur: 80 * ms, twist: -3}, quiet}, "D"},
		{"normal twist 10 dB out of range", []tone{quiet, {key: '1', dur: 80 * ms, twist: 10}, quiet}, ""},
		{"reverse twist 6 dB out of range", []tone{quiet, {key: 'D', dur: 80 * ms, twist: -6}, quiet}, ""},
		{"frequencies 1.5 % high", []tone{quiet, {key: '5', dur: 80 * ms, shift: 0.015}, quiet}, "5"},
		{"frequencies 1.5 % low", []tone{quiet, {key: '#', dur: 80 * ms, shift: -0.015}, quiet}, "#"},
		{"20 ms too short", []tone{quiet, {key: '9', dur: 20 * ms}, quiet}, ""},
		{"28 ms too short", []tone{quiet, {key: '9', dur: 28 * ms}, quiet}, ""},
		{"45 ms long enough", []tone{quiet, {key: '9', dur: 45 * ms}, quiet}, "9"},
		{"held 2 s is one press", []tone{quiet, {key: '9', dur: 2 * time.Second}, quiet}, "9"},
		{"10 ms break is one press", []tone{quiet, {key: '9', dur: 60 * ms}, {dur: 10 * ms}, {key: '9', dur: 60 * ms}, quiet}, "9"},
		{"40 ms pause makes two", []tone{quiet, {key: '9', dur: 60 * ms}, {dur: 40 * ms}, {key: '9', dur: 60 * ms}, quiet}, "99"},
		{"a sequence", []tone{quiet, {key: '1', dur: 70 * ms}, quiet, {key: '2', dur: 70 * ms}, quiet, {key: '#', dur: 70 * ms}, quiet}, "12#"},
		{"key straight after another", []tone{quiet, {key: '1', dur: 70 * ms}, {key: '2', dur: 70 * ms}, quiet}, "12"},
		{"second harmonics 6 dB down rejected", []tone{quiet, {key: '5', dur: 80 * ms, harm: 6}, quiet}, ""},
		{"second harmonics 30 dB down accepted", []tone{quiet, {key: '5', dur: 80 * ms, harm: 30}, quiet}, "5"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pcm := synth(c.parts...)
			if got := detect(pcm, 160); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestToneDetectorPacketSizes: the same audio gives the same keys
// whatever the packets' sizes.
func TestToneDetectorPacketSizes(t *testing.T) {
	pcm := synth(tone{dur: 30 * ms}, tone{key: '4', dur: 70 * ms}, tone{dur: 50 * ms}, tone{key: '2', dur: 70 * ms}, tone{dur: 50 * ms})
	for _, frame := range []int{1, 37, 80, 160, 240, 480} {
		if got := detect(pcm, frame); got != "42" {
			t.Errorf("packets of %d samples: got %q, want %q", frame, got, "42")
		}
	}
}

// TestToneDetectorTwoRows: a third tone (two rows at once) is no key.
func TestToneDetectorTwoRows(t *testing.T) {
	a, b := synth(tone{dur: 30 * ms}, tone{key: '1', dur: 80 * ms}), synth(tone{dur: 30 * ms}, tone{key: '4', dur: 80 * ms})
	mix := make([]int16, len(a))
	for i := range a {
		mix[i] = int16((int(a[i]) + int(b[i])) / 2)
	}
	if got := detect(mix, 160); got != "" {
		t.Errorf("got %q, want no key for 697+770+1209 Hz", got)
	}
}

// TestToneDetectorNoise: white noise at speech levels, and noise over a
// key, which is still found.
func TestToneDetectorNoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, level := range []float64{-40, -20, -10, -3} {
		pcm := make([]int16, 10*8000)
		sd := 22652 * math.Pow(10, level/20) / math.Sqrt2
		for i := range pcm {
			pcm[i] = DecodeULaw(EncodeULaw(int16(max(-32768, min(32767, rng.NormFloat64()*sd)))))
		}
		if got := detect(pcm, 160); got != "" {
			t.Errorf("10 s of noise at %v dBm0: got %q, want no key", level, got)
		}
	}
	pcm := synth(tone{dur: 30 * ms}, tone{key: '7', dur: 80 * ms, level: -15}, tone{dur: 30 * ms})
	sd := 22652 * math.Pow(10, -35.0/20) / math.Sqrt2
	for i := range pcm {
		pcm[i] += int16(rng.NormFloat64() * sd)
	}
	if got := detect(pcm, 160); got != "7" {
		t.Errorf("key 7 at -15 dBm0 in noise at -35 dBm0: got %q, want %q", got, "7")
	}
}

// blockHits counts the blocks of pcm that hold a key on their own, and
// the longest run of them (toneHits make a press): the margin behind a
// talk-off figure of 0.
func blockHits(pcm []int16) (hits, longest int) {
	run := 0
	var b [toneBlock]float32
	for off := 0; off+toneBlock <= len(pcm); off += toneBlock {
		copy16(b[:], pcm[off:])
		if classify(&b) != 0 {
			hits++
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return hits, longest
}

// TestToneDetectorTalkOff plays real speech (espeak-ng: English and
// Japanese, male and female voices) and music (sox chords and arpeggios
// with harmonics) through the detector: no key may be found. Then sox's
// DTMF keys, which must all be.
func TestToneDetectorTalkOff(t *testing.T) {
	const (
		en = "Thank you for calling. This call will be recorded to manage and improve our customer service. " +
			"If you do not wish to be recorded, press 9. Hello, I am calling about my order. It has not arrived yet, " +
			"and the tracking number you sent me does not work. Could you check it for me? My account number is one two three four " +
			"five six seven eight nine. Yes, that is right. Nine, nine, nine. Sixty six, seventy seven, eighty eight. " +
			"Please hold the line, I will be right back. Thanks a lot, goodbye!"
		ja = "お電話ありがとうございます。このお電話は、カスタマーサービス業務の運営管理およびサービス充実のため、録音させていただきます。" +
			"録音を希望されない場合は、9を押してください。もしもし、注文した商品がまだ届いていないのですが、確認していただけますか。" +
			"お客様番号は、いち、に、さん、よん、ご、ろく、なな、はち、きゅうです。はい、そうです。よろしくお願いします。"
	)
	speech := func(voice, text string) func(testing.TB) audiotest.Audio {
		return func(t testing.TB) audiotest.Audio { return audiotest.Speech(t, voice, text) }
	}
	var total time.Duration
	for _, c := range []struct {
		name  string
		audio func(testing.TB) audiotest.Audio
	}{
		{"speech en", speech("en", en)},
		{"speech en-us female", speech("en-us+f3", en)},
		{"speech en female Annie", speech("en+Annie", en)},
		{"speech ja", speech("ja", ja)},
		{"speech ja female", speech("ja+f2", ja)},
		{"music", audiotest.Music},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := c.audio(t)
			pcm := make([]int16, len(a.PCM))
			for i, s := range a.PCM {
				pcm[i] = DecodeULaw(EncodeULaw(s))
			}
			got := detect(pcm, 160)
			hits, longest := blockHits(pcm)
			total += a.Duration()
			t.Logf("%s: %v of audio, %d keys found; %d of %d blocks held a key alone, longest run %d (%d make a press)",
				c.name, a.Duration().Round(100*ms), len(got), hits, len(pcm)/toneBlock, longest, toneHits)
			if got != "" {
				t.Errorf("got keys %q in %v of %s, want none", got, a.Duration().Round(100*ms), c.name)
			}
		})
	}
	t.Logf("talk-off: %v of speech and music in all", total.Round(100*ms))
	t.Run("sox dtmf", func(t *testing.T) {
		const keys = "0123456789*#ABCD9"
		a := audiotest.DTMF(t, keys, 100*ms, 100*ms)
		if got := detect(a.PCM, 160); got != keys {
			t.Errorf("got %q, want %q", got, keys)
		}
		short := audiotest.DTMF(t, "1234", 50*ms, 50*ms)
		if got := detect(short.PCM, 160); got != "1234" {
			t.Errorf("50 ms keys with 50 ms pauses: got %q, want %q", got, "1234")
		}
	})
}

func TestToneDetectorAllocates(t *testing.T) {
	pcm := synth(tone{dur: 30 * ms}, tone{key: '9', dur: 80 * ms}, tone{dur: 30 * ms})
	var d ToneDetector
	if n := testing.AllocsPerRun(100, func() {
		for off := 0; off+160 <= len(pcm); off += 160 {
			d.Feed(pcm[off : off+160])
		}
	}); n != 0 {
		t.Errorf("got %v allocations a run, want 0", n)
	}
}

// BenchmarkToneDetector measures one 20 ms frame of speech-like audio
// (a key among noise), the cost per packet of the notice window.
func BenchmarkToneDetector(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	pcm := synth(tone{dur: 200 * ms}, tone{key: '9', dur: 100 * ms}, tone{dur: 200 * ms})
	for i := range pcm {
		pcm[i] += int16(rng.NormFloat64() * 300)
	}
	var d ToneDetector
	frames := len(pcm) / 160
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := i % frames
		d.Feed(pcm[f*160 : f*160+160])
	}
}

// TestToneDetectorCorners: every key at the corners of what must be
// accepted — twist 6 dB normal and 3 dB reverse (the limits are 8 and
// 4 dB as measured in a block, which varies by about 1 dB), frequencies
// 1.5 % off either way, the stronger tone loud or the weaker quiet — is
// found once.
func TestToneDetectorCorners(t *testing.T) {
	for k := range testKeys {
		for _, twist := range []float64{6, 0, -3} {
			for _, shift := range []float64{-0.015, 0, 0.015} {
				// The row's level for the stronger tone at -4 dBm0, and
				// for the weaker at -28.
				loud, quiet := -4-max(0, -twist), -28+max(0, twist)
				for _, level := range []float64{loud, quiet} {
					pcm := synth(tone{dur: 30 * ms}, tone{key: k, dur: 60 * ms, twist: twist, shift: shift, level: level}, tone{dur: 60 * ms})
					if got := detect(pcm, 160); got != string(k) {
						t.Errorf("key %c, twist %v dB, frequencies %+.1f %%, row at %v dBm0: got %q, want %q",
							k, twist, shift*100, level, got, string(k))
					}
				}
			}
		}
	}
}

// ulawFrames encodes pcm as PCMU payloads of 20 ms.
func ulawFrames(pcm []int16) [][]byte {
	var out [][]byte
	for off := 0; off+160 <= len(pcm); off += 160 {
		out = append(out, PCMU.NewEncoder().Encode(nil, pcm[off:off+160]))
	}
	return out
}

// TestListenKeysInband: keys in the caller's audio are reported with Via
// inband, alongside RFC 4733 ones; after StopInband only RFC 4733 keys
// are, and a listener without in-band detection ignores the tones. Each
// step ends with an RFC 4733 press, reported after anything the tones
// before it gave, so that waiting for the packets waits for the keys.
func TestListenKeysInband(t *testing.T) {
	e := openEP(t, testPorts(t, 1))
	peer := newPeer(t)
	e.SetPeer(Peer{Addr: peer.addr(), Audio: pcmu, DTMF: telEv101})
	keys := make(chan DTMF, 10)
	e.ListenKeysInband(func(d DTMF) { keys <- d })

	s := stream{ssrc: 7}
	sent := 0
	send := func(b []byte) {
		peer.send(t, e.Addr(), b)
		sent++
	}
	sendTones := func(pcm []int16) {
		for _, f := range ulawFrames(pcm) {
			s.seq++
			s.ts += 160
			send(pkt{pt: 0, seq: s.seq, ts: s.ts, ssrc: s.ssrc, extLen: -1, payload: f}.build())
		}
	}
	collect := func() string {
		waitFor(t, "all packets", func() bool { return e.Stats().Received == uint64(sent) })
		var got []rune
		for len(keys) > 0 {
			d := <-keys
			got = append(got, d.Digit)
			if want := map[rune]string{'9': ViaInband, '5': "rfc4733", '3': "rfc4733"}[d.Digit]; d.Via != want || d.At.IsZero() {
				t.Errorf("got %+v, want Via %s and a time", d, want)
			}
		}
		return string(got)
	}

	keyTone := synth(tone{dur: 40 * ms}, tone{key: '9', dur: 100 * ms}, tone{dur: 60 * ms})
	sendTones(keyTone)
	for _, b := range s.press(101, 5) {
		send(b)
	}
	if got := collect(); got != "95" {
		t.Errorf("got keys %q, want %q (9 in band, then 5 by RFC 4733)", got, "95")
	}

	e.StopInband()
	sendTones(keyTone)
	for _, b := range s.press(101, 3) {
		send(b)
	}
	if got := collect(); got != "3" {
		t.Errorf("after StopInband: got keys %q, want %q (RFC 4733 only)", got, "3")
	}

	e.ListenKeys(func(d DTMF) { keys <- d })
	sendTones(keyTone)
	for _, b := range s.press(101, 3) {
		send(b)
	}
	if got := collect(); got != "3" {
		t.Errorf("ListenKeys: got keys %q, want %q (none from the tones)", got, "3")
	}
	if st := e.Stats(); st.Sent != 0 || e.Panics() != 0 {
		t.Errorf("got %d sent and %d panics, want none (audio is dropped during the notice)", st.Sent, e.Panics())
	}
}

// BenchmarkToneListener measures what one 20 ms PCMU packet costs the
// caller leg's reader during the notice: decoding and detection.
func BenchmarkToneListener(b *testing.B) {
	frames := ulawFrames(synth(tone{dur: 200 * ms}, tone{key: '9', dur: 100 * ms}, tone{dur: 200 * ms}))
	var l toneListener
	onKey := func(DTMF) {}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.audio(PCMU, frames[i%len(frames)], onKey)
	}
}

// TestListenKeysInbandPanic: a panic while a key found in band is
// handled loses that packet, not the endpoint: the next press is still
// reported.
func TestListenKeysInbandPanic(t *testing.T) {
	e := openEP(t, testPorts(t, 1))
	peer := newPeer(t)
	e.SetPeer(Peer{Addr: peer.addr(), Audio: pcmu, DTMF: telEv101})
	keys := make(chan DTMF, 10)
	first := true
	e.ListenKeysInband(func(d DTMF) {
		if first {
			first = false
			panic("handler bug")
		}
		keys <- d
	})
	s := stream{ssrc: 9}
	press := synth(tone{dur: 40 * ms}, tone{key: '9', dur: 100 * ms}, tone{dur: 60 * ms})
	for range 2 {
		for _, f := range ulawFrames(press) {
			s.seq++
			s.ts += 160
			peer.send(t, e.Addr(), pkt{pt: 0, seq: s.seq, ts: s.ts, ssrc: s.ssrc, extLen: -1, payload: f}.build())
		}
	}
	select {
	case d := <-keys:
		if d.Digit != '9' || d.Via != ViaInband {
			t.Errorf("got %+v, want 9 via inband", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no key after the panic: the endpoint stopped listening")
	}
	if got := e.Panics(); got != 1 {
		t.Errorf("got %d panics counted, want 1", got)
	}
}
