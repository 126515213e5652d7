package config

import (
	"strings"
	"testing"
)

func TestAudioFormatGiven(t *testing.T) {
	c, err := Load("testdata/audioformat/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		format  string
		bitrate int
	}{{"pcm", 0}, {"g711", 0}, {"flac", 0}, {DefaultAudioFormat, 0}, {"opus", DefaultOpusBitrate}, {"opus", 16000}} {
		if p := c.Purposes[i]; p.AudioFormat != want.format || p.OpusBitrate != want.bitrate {
			t.Errorf("purpose %d: got audio_format %q opus_bitrate %d, want %q %d", i, p.AudioFormat, p.OpusBitrate, want.format, want.bitrate)
		}
	}
}

func TestAudioFormatInvalid(t *testing.T) {
	_, err := Load("testdata/audioformat/invalid.yaml")
	if err == nil {
		t.Fatal("got no error")
	}
	for _, want := range []string{
		`invalid.yaml:4: purposes[0].audio_format: "mp3" is not an audio format (want pcm, g711, flac or opus)`,
		`invalid.yaml:5: purposes[1].audio_format: "FLAC" is not an audio format (want pcm, g711, flac or opus)`,
		`invalid.yaml:6: purposes[2].opus_bitrate: 8000 is outside 12000–64000 bits a second`,
		`invalid.yaml:7: purposes[3].audio_format`,
		`invalid.yaml:8: purposes[4].opus_bitrate: set for audio_format "flac": it applies to opus only`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got\n%s\nwant a line %s", err, want)
		}
	}
}
