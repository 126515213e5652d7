package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kiroku-voice/kiroku/audiofile"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/storage/transcode"
)

// newTranscoder builds the background transcoder on the catalog and the
// store, its work files under <data_dir>/transcode.
func (d *Daemon) newTranscoder(cfg *config.Config) (*transcode.Transcoder, error) {
	dir := filepath.Join(cfg.DataDir, "transcode")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("transcoder work folder: %w", err)
	}
	return transcode.New(transcode.Options{
		Catalog: d.catalog, Store: d.store, Keys: d.keys, TempDir: dir,
		Share:      float64(cfg.Transcoder.CPUPercent) / 100,
		ShareNow:   func() float64 { return float64(d.currentConfig().Transcoder.CPUPercent) / 100 },
		ObjectLock: cfg.Storage.S3.ObjectLock != "",
		Log:        d.log.Named("transcode"),
	}), nil
}

// deferFormat tells the uploader whether to store a flac or opus
// purpose's recording cheap first, by transcoder.defer_backlog in force.
func (d *Daemon) deferFormat(_ audiofile.Format, pending int) bool {
	return d.currentConfig().Transcoder.Defers(pending)
}

// stored counts a stored recording and has the transcoder look at its
// queue, which the uploader may have just added to.
func (d *Daemon) stored(latency time.Duration) {
	d.metrics.Stored(latency)
	d.transcoder.Kick()
}

// registerTranscodeMetrics exposes the transcoder's figures.
func (d *Daemon) registerTranscodeMetrics() {
	m := d.metrics
	m.Gauge("kiroku_transcode_pending", "Stored recordings awaiting conversion to their purpose's audio_format by the background transcoder.",
		func() float64 { return float64(d.transcoder.Stats().Pending) })
	m.Counter("kiroku_transcode_converted_total", "Stored recordings converted to their purpose's audio_format by the background transcoder.",
		func() float64 { return float64(d.transcoder.Stats().Converted) })
	m.Counter("kiroku_transcode_failed_total", "Conversions by the background transcoder that failed (each is retried).",
		func() float64 { return float64(d.transcoder.Stats().Failed) })
}
