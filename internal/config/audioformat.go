package config

import "slices"

// AudioFormats are the values of a purpose's audio_format, as package
// audiofile names them (a test holds the two lists together).
var AudioFormats = []string{"pcm", "g711", "flac"}

// DefaultAudioFormat is the format of a purpose that names none: the
// spool's WAV as it is, which is what every recording stored before
// audio_format existed is, so an upgrade changes nothing unasked.
const DefaultAudioFormat = "pcm"

// defaultAudioFormats gives each purpose without audio_format the default.
func (c *Config) defaultAudioFormats() {
	for i := range c.Purposes {
		if c.Purposes[i].AudioFormat == "" {
			c.Purposes[i].AudioFormat = DefaultAudioFormat
		}
	}
}

// checkAudioFormat checks purpose p's audio_format, at key.
func checkAudioFormat(r *report, key string, p *Purpose) {
	switch {
	case p.AudioFormat == "" || slices.Contains(AudioFormats, p.AudioFormat): // "": a Config built in code, before defaults
	case p.AudioFormat == "opus":
		r.add(child(key, "audio_format"), "opus is not available: this build has no Ogg Opus encoder (want pcm, g711 or flac)")
	default:
		r.add(child(key, "audio_format"), "%q is not an audio format (want pcm, g711 or flac)", p.AudioFormat)
	}
}
