package daemon

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// strandedEvery is how often the final manifests a full spool disk
// refused are tried again.
const strandedEvery = time.Second

// retryStranded writes, every strandedEvery, the final manifests the
// spool disk refused (spool.WriteFinal) and kicks the uploader when it
// wrote any: a call that ended while the disk was full is stored, with
// its end reason, once there is room, without a restart. With none
// waiting it makes the spool's ballast again once it was given up.
func (d *Daemon) retryStranded(ctx context.Context) {
	t := time.NewTicker(strandedEvery)
	defer t.Stop()
	failing := false
	spent := false // the ballast given up, not yet made again
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if d.spool.Stranded() == 0 {
			// The ballast back once the disk has room (one statfs).
			if err := d.spool.RestoreBallast(); err != nil {
				d.log.Warn("spool ballast not made again", zap.Error(err))
			}
			switch held := d.spool.Ballast() > 0; {
			case !held && !spent && d.spool.BallastSize() > 0:
				d.log.Warn("the spool's ballast was given up to write final manifests on a full disk; made again once it has room")
				spent = true
			case held && spent:
				d.log.Info("the spool's ballast is made again")
				spent = false
			}
			continue
		}
		written, left, err := d.spool.RetryStranded()
		if written > 0 {
			d.log.Info("final manifests the full spool refused are written", zap.Int("written", written), zap.Int("left", left))
			d.uploader.Kick()
		}
		switch {
		case err != nil && !failing:
			d.log.Warn("final manifests still refused by the spool disk; retrying", zap.Int("left", left), zap.Error(err))
			failing = true
		case err == nil:
			failing = false
		}
	}
}

// writeStranded tries the refused final manifests once more at stop, and
// says what a restart will find of those still refused.
func (d *Daemon) writeStranded() {
	if d.spool.Stranded() == 0 {
		return
	}
	written, left, err := d.spool.RetryStranded()
	if left > 0 {
		d.log.Error("final manifests not written at stop: the spool disk refused them; the next start recovers these calls as interrupted",
			zap.Int("written", written), zap.Int("left", left), zap.Error(err))
	}
}
