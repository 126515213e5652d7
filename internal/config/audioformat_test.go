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
	for i, want := range []string{"pcm", "g711", "flac", DefaultAudioFormat} {
		if got := c.Purposes[i].AudioFormat; got != want {
			t.Errorf("purpose %d: got audio_format %q, want %q", i, got, want)
		}
	}
}

func TestAudioFormatInvalid(t *testing.T) {
	_, err := Load("testdata/audioformat/invalid.yaml")
	if err == nil {
		t.Fatal("got no error")
	}
	for _, want := range []string{
		`invalid.yaml:4: purposes[0].audio_format: "mp3" is not an audio format (want pcm, g711 or flac)`,
		`invalid.yaml:5: purposes[1].audio_format: "FLAC" is not an audio format (want pcm, g711 or flac)`,
		`invalid.yaml:6: purposes[2].audio_format: opus is not available: this build has no Ogg Opus encoder (want pcm, g711 or flac)`,
		`invalid.yaml:7: purposes[3].audio_format`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("got\n%s\nwant a line %s", err, want)
		}
	}
}
