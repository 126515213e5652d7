package config

import "slices"

// AudioFormats are the values of a purpose's audio_format, as package
// audiofile names them (a test holds the two lists together).
var AudioFormats = []string{"pcm", "g711", "flac", "opus"}

// Bounds of opus_bitrate, bits a second for both channels: below 6 kb/s a
// channel, Opus speech is hard to follow; above 64 kb/s it is larger
// than FLAC of telephone audio.
const (
	MinOpusBitrate     = 12000
	MaxOpusBitrate     = 64000
	DefaultOpusBitrate = 24000
)

// DefaultAudioFormat is the format of a purpose that names none: the
// spool's WAV as it is, which is what every recording stored before
// audio_format existed is, so an upgrade changes nothing unasked.
const DefaultAudioFormat = "pcm"

// defaultAudioFormats gives each purpose without audio_format the default.
func (c *Config) defaultAudioFormats() {
	for i := range c.Purposes {
		p := &c.Purposes[i]
		if p.AudioFormat == "" {
			p.AudioFormat = DefaultAudioFormat
		}
		if p.AudioFormat == "opus" && p.OpusBitrate == 0 {
			p.OpusBitrate = DefaultOpusBitrate
		}
	}
}

// checkAudioFormat checks purpose p's audio_format, at key.
func checkAudioFormat(r *report, key string, p *Purpose) {
	switch {
	case p.AudioFormat == "" || slices.Contains(AudioFormats, p.AudioFormat): // "": a Config built in code, before defaults
	default:
		r.add(child(key, "audio_format"), "%q is not an audio format (want pcm, g711, flac or opus)", p.AudioFormat)
	}
	switch {
	case p.OpusBitrate == 0:
	case p.AudioFormat != "opus":
		r.add(child(key, "opus_bitrate"), "set for audio_format %q: it applies to opus only", p.AudioFormat)
	case p.OpusBitrate < MinOpusBitrate || p.OpusBitrate > MaxOpusBitrate:
		r.add(child(key, "opus_bitrate"), "%d is outside %d–%d bits a second", p.OpusBitrate, MinOpusBitrate, MaxOpusBitrate)
	}
}
