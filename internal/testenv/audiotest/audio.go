package audiotest

import (
	"encoding/binary"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Rate is the sample rate of the audio the package returns.
const Rate = 8000

// Audio is one generated recording: the WAV file (8 kHz, mono, 16 bit)
// in the test's temporary folder, and its samples.
type Audio struct {
	Path string
	PCM  []int16
}

// Duration is how long the audio plays.
func (a Audio) Duration() time.Duration {
	return time.Duration(len(a.PCM)) * time.Second / Rate
}

// Speech has espeak-ng read text in voice ("en", "ja", …), resampled
// to 8 kHz and normalised to a peak of -1 dBFS: speech louder than any
// caller's, which is the worst case for a tone detector.
func Speech(t testing.TB, voice, text string) Audio {
	t.Helper()
	espeak, sox := need(t, "espeak-ng"), need(t, "sox")
	dir := t.TempDir()
	raw := filepath.Join(dir, "espeak.wav")
	run(t, espeak, "-v", voice, "-w", raw, text)
	out := filepath.Join(dir, "speech-"+voice+".wav")
	run(t, sox, raw, "-r", strconv.Itoa(Rate), "-c", "1", "-b", "16", "-e", "signed-integer", out, "norm", "-1")
	return read(t, sox, out)
}

// note is one sound of the music: instruments (sox synth types) playing
// notes together for a duration, the notes of a chord started stagger
// apart as a strummed guitar's are.
type note struct {
	kind    string
	notes   []string // sox note names (A4) or Hz
	dur     float64  // seconds
	stagger float64  // seconds between the notes' starts
}

// score is the music: strummed chords, arpeggios over three octaves and
// held chords in instruments with the harmonics of real ones (plucked
// strings, sawtooth strings and brass, square reeds, an organ's
// partials), including notes that sit on DTMF frequencies (F5 is 698 Hz
// against 697, G5 784 against 770, E6 1319 against 1336, D#6 1245
// against 1209), so that only the harmonics tell them apart from a key.
var score = func() []note {
	var s []note
	for _, chord := range [][]string{
		{"G2", "B2", "D3", "G3", "D4", "G4"},
		{"C3", "E3", "G3", "C4", "E4"},
		{"D3", "A3", "D4", "F#4"},
		{"E2", "B2", "E3", "G3", "B3", "E4"},
		{"F3", "C4", "F4", "A4", "C5", "F5"},
	} {
		s = append(s, note{kind: "pluck", notes: chord, dur: 1.5, stagger: 0.04})
	}
	for _, kind := range []string{"sawtooth", "square", "pluck", "trapezium"} {
		for _, n := range []string{"C4", "E4", "G4", "C5", "E5", "F5", "G5", "A5", "C6", "D#6", "E6", "G6", "E6", "C6", "A5", "G5", "F5", "E5"} {
			s = append(s, note{kind: kind, notes: []string{n}, dur: 0.15})
		}
	}
	for _, kind := range []string{"sawtooth", "square"} {
		for _, chord := range [][]string{
			{"F5", "E6"}, {"G5", "D#6"}, {"F5", "A5", "C6"}, {"A4", "C#5", "E5", "A5"}, {"G5", "E6"},
		} {
			s = append(s, note{kind: kind, notes: chord, dur: 0.6})
		}
	}
	// An organ: each note with its octave and twelfth above it.
	for _, n := range []float64{349.2, 392, 440, 523.3, 698.5} {
		s = append(s, note{kind: "sine", notes: []string{hz(n), hz(2 * n), hz(3 * n)}, dur: 0.5})
	}
	return s
}()

func hz(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// Music synthesises the score with sox, normalised to a peak of -1
// dBFS; it plays for about 30 s.
func Music(t testing.TB) Audio {
	t.Helper()
	sox := need(t, "sox")
	dir := t.TempDir()
	var parts []string
	for i, n := range score {
		part := filepath.Join(dir, fmt.Sprintf("part%03d.wav", i))
		// One channel a note at 44.1 kHz (sox plucks at no lower rate),
		// mixed down by remix and resampled to Rate.
		args := []string{"-r", "44100", "-c", strconv.Itoa(len(n.notes)), "-n", "-r", strconv.Itoa(Rate), "-c", "1", "-b", "16", part, "synth", ftoa(n.dur)}
		for _, f := range n.notes {
			args = append(args, n.kind, f)
		}
		if n.stagger > 0 {
			args = append(args, "delay")
			for j := range n.notes {
				args = append(args, ftoa(float64(j)*n.stagger))
			}
		}
		args = append(args, "remix", "-", "fade", "0.005", "0", "0.02")
		run(t, sox, args...)
		parts = append(parts, part)
	}
	out := filepath.Join(dir, "music.wav")
	run(t, sox, append(parts, out, "norm", "-1")...)
	return read(t, sox, out)
}

// Keypad frequencies, the harness's own table (Q.23).
var (
	rows = map[rune]float64{}
	cols = map[rune]float64{}
)

func init() {
	low := []float64{697, 770, 852, 941}
	high := []float64{1209, 1336, 1477, 1633}
	for r, line := range []string{"123A", "456B", "789C", "*0#D"} {
		for c, k := range line {
			rows[k], cols[k] = low[r], high[c]
		}
	}
}

// DTMF synthesises keys with sox as a keypad sends them in band: each
// key's two sines for on, then silence for off. The tones are about
// -9 dBm0 each (their sum peaks at -6 dBFS).
func DTMF(t testing.TB, keys string, on, off time.Duration) Audio {
	t.Helper()
	sox := need(t, "sox")
	dir := t.TempDir()
	gap := filepath.Join(dir, "gap.wav")
	run(t, sox, "-n", "-r", strconv.Itoa(Rate), "-c", "1", "-b", "16", gap, "trim", "0", ftoa(off.Seconds()))
	var parts []string
	for i, k := range strings.ToUpper(keys) {
		r, ok := rows[k]
		if !ok {
			t.Fatalf("dtmf: %q is not a key", k)
		}
		part := filepath.Join(dir, fmt.Sprintf("key%02d.wav", i))
		run(t, sox, "-n", "-r", strconv.Itoa(Rate), "-c", "1", "-b", "16", part,
			"synth", ftoa(on.Seconds()), "sine", hz(r), "sine", hz(cols[k]), "norm", "-6")
		parts = append(parts, part, gap)
	}
	out := filepath.Join(dir, "dtmf.wav")
	run(t, sox, append(parts, out)...)
	return read(t, sox, out)
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// read returns the samples of a WAV file, converted by sox.
func read(t testing.TB, sox, path string) Audio {
	t.Helper()
	cmd := exec.Command(sox, path, "-t", "raw", "-L", "-e", "signed-integer", "-b", "16", "-r", strconv.Itoa(Rate), "-c", "1", "-")
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("sox %s: %v\n%s", path, err, stderr(err))
	}
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	if len(pcm) == 0 {
		t.Fatalf("sox made no audio of %s", path)
	}
	return Audio{Path: path, PCM: pcm}
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, tail(string(out), 20))
	}
}

func stderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return tail(string(ee.Stderr), 20)
	}
	return ""
}
