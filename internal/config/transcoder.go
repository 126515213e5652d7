package config

// Transcoder configures the background transcoder: recordings of a
// purpose whose audio_format is flac or opus are stored first in a
// format cheaper to encode (g711, or pcm) while the uploader is behind,
// and converted to the purpose's format later, off the spool's path.
type Transcoder struct {
	// CPUPercent is the share of one CPU the conversions may take, in
	// percent from 5 to 100: after each conversion the worker rests for
	// the time it worked times (100-p)/p. Default 50.
	CPUPercent int `yaml:"cpu_percent"`
	// DeferBacklog is how many finished recordings may wait in the spool
	// before the uploader stores flac and opus purposes' recordings cheap
	// first: -1 never (always encoded in the uploader), 0 always, N when
	// more than N wait (counting the one being stored). Default 8.
	DeferBacklog int `yaml:"defer_backlog"`
}

// Defaults of the transcoder section.
const (
	DefaultTranscodeCPUPercent   = 50
	DefaultTranscodeDeferBacklog = 8
	MinTranscodeCPUPercent       = 5
)

func (c *Config) checkTranscoder(r *report) {
	t := &c.Transcoder
	switch {
	case t.CPUPercent == 0 && !given(r, "transcoder.cpu_percent"):
		t.CPUPercent = DefaultTranscodeCPUPercent
	case t.CPUPercent < MinTranscodeCPUPercent || t.CPUPercent > 100:
		r.add("transcoder.cpu_percent", "%d is outside %d–100 (percent of one CPU)", t.CPUPercent, MinTranscodeCPUPercent)
	}
	switch {
	case !given(r, "transcoder.defer_backlog") && t.DeferBacklog == 0: // 0 given means always
		t.DeferBacklog = DefaultTranscodeDeferBacklog
	case t.DeferBacklog < -1:
		r.add("transcoder.defer_backlog", "%d is not -1 (never), 0 (always) or a number of recordings waiting", t.DeferBacklog)
	}
}

// Defers reports whether a flac or opus purpose's recording is stored
// cheap first while pending finished recordings wait in the spool.
func (t Transcoder) Defers(pending int) bool {
	return t.DeferBacklog >= 0 && pending > t.DeferBacklog
}

// given reports whether the file set key (a Config built in code sets
// none).
func given(r *report, key string) bool {
	_, ok := r.pos[key]
	return ok
}
