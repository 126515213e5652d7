package config

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/kiroku-voice/kiroku/internal/wav"
)

// makeWAV returns a 16-bit PCM WAV file of frames frames of a ramp,
// written with wav.Writer.
func makeWAV(t *testing.T, rate, channels, frames int) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gen.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := wav.NewWriter(f, rate, channels)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]byte, 2*channels*frames)
	for i := range channels * frames {
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(i*37))
	}
	if _, err := w.Write(pcm); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// promptFS returns a file system with the notices the fixtures under
// testdata/invalid name: a good one and one of each kind of bad one.
func promptFS(t *testing.T) fstest.MapFS {
	t.Helper()
	good, err := os.ReadFile("testdata/prompts/notice.wav")
	if err != nil {
		t.Fatal(err)
	}
	ulaw := makeWAV(t, 8000, 1, 400) // 800 bytes: 800 μ-law frames once relabelled
	binary.LittleEndian.PutUint16(ulaw[20:], wav.FormatMuLaw)
	binary.LittleEndian.PutUint16(ulaw[32:], 1)
	binary.LittleEndian.PutUint16(ulaw[34:], 8)
	return fstest.MapFS{
		"prompts/notice.wav": {Data: good},
		"prompts/stereo.wav": {Data: makeWAV(t, 44100, 2, 100)},
		"prompts/ulaw.wav":   {Data: ulaw},
		"prompts/silent.wav": {Data: makeWAV(t, 8000, 1, 0)},
		"prompts/text.wav":   {Data: []byte("hello, I am not a WAV file\n")},
		"prompts/zero.wav":   {Data: nil},
		"prompts/cut.wav":    {Data: good[:1000]},
	}
}
