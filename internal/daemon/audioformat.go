package daemon

import (
	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/internal/config"
)

// audioFormat is the audio_format of purpose in the configuration in
// force, for the uploader; false for a purpose no longer configured.
func (d *Daemon) audioFormat(purpose string) (audiofile.Format, int, bool) {
	p, ok := d.currentConfig().Purpose(purpose)
	if !ok {
		return "", 0, false
	}
	if p.AudioFormat == "" {
		return audiofile.Format(config.DefaultAudioFormat), 0, true
	}
	f, err := audiofile.Parse(p.AudioFormat)
	return f, p.OpusBitrate, err == nil
}
