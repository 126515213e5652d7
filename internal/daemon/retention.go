package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/retention"
)

// newPurger builds the retention purger on the daemon's parts.
func (d *Daemon) newPurger() *retention.Purger {
	return retention.New(retention.Options{Catalog: d.catalog, Store: d.store, Spool: d.spool,
		RetainUntil: d.retainUntil, Log: d.log.Named("retention")})
}

func (d *Daemon) retainUntil(client, purpose string, started time.Time) (time.Time, bool) {
	return d.currentConfig().RetainUntil(client, purpose, started)
}

// currentConfig is the configuration in force.
func (d *Daemon) currentConfig() *config.Config { return d.live.Load() }

// schedulePurge runs the purge on the configured cron schedule until ctx
// ends. An overlapping run is skipped and logged.
func (d *Daemon) schedulePurge(ctx context.Context) {
	job := d.cfg.Retention
	c := cron.New(cron.WithLocation(job.Location))
	var id cron.EntryID
	// Prev is the activation the job runs for: the same instant on every
	// node with this schedule, which PurgeScheduled claims once.
	id, err := c.AddFunc(job.Schedule, func() { d.runPurge(ctx, c.Entry(id).Prev) })
	if err != nil { // validated at load; kept for safety
		d.log.Error("purge schedule", zap.Error(err))
		return
	}
	c.Start()
	d.log.Info("purge scheduled", zap.String("schedule", job.Schedule), zap.String("time_zone", job.TimeZone))
	<-ctx.Done()
	<-c.Stop().Done()
}

// runPurge runs the purge scheduled for slot and the orphan sweep,
// reporting to the log and the metrics.
func (d *Daemon) runPurge(ctx context.Context, slot time.Time) {
	res, err := d.purger.PurgeScheduled(ctx, slot)
	switch {
	case errors.Is(err, retention.ErrBusy):
		d.log.Warn("purge skipped: the previous one is still running")
		d.metrics.PurgeSkipped()
		return
	case errors.Is(err, retention.ErrElsewhere):
		if err != retention.ErrElsewhere { //nolint:errorlint // anything more is a failure beside it (this node's spool purge)
			d.log.Error("purge skipped for another node, with an error", zap.Error(err))
		}
		d.log.Info("purge skipped: another node sharing the catalog runs it; this node's spool purged",
			zap.Time("slot", slot), zap.Int("spool_deleted", res.Spool))
		d.metrics.PurgeElsewhere()
		return
	case err != nil:
		d.log.Error("purge failed", zap.Error(err))
	}
	d.metrics.Purged(res.Deleted+res.Spool, res.Held, res.Failed, res.Duration, err == nil)
	d.log.Info("purge done", zap.Int("deleted", res.Deleted), zap.Int("spool_deleted", res.Spool),
		zap.Int("held", res.Held), zap.Int("failed", res.Failed), zap.Duration("took", res.Duration))
	job := d.currentConfig().Retention
	remove := job.DeleteOrphans && d.mayDeleteOrphans()
	if job.DeleteOrphans && !remove {
		d.log.Warn("orphan sweep lists only: the catalog is not known to match its store, or is damaged")
	}
	orphans, err := d.purger.Sweep(ctx, retention.Sweep{Grace: time.Duration(job.OrphanGrace), Remove: remove, MaxShare: float64(job.OrphanMaxPercent) / 100})
	if err != nil {
		d.log.Error("orphan sweep failed", zap.Error(err))
	}
	deleted := remove && err == nil // a refused sweep (retention.ErrTooManyOrphans) deleted none
	for _, o := range orphans {
		d.log.Warn("object without a catalog row", zap.String("key", o.Key), zap.Time("modified", o.Modified),
			zap.Bool("deleted", deleted))
	}
}

// Hold sets or releases legal holds (the control API).
func (d *Daemon) Hold(ctx context.Context, req retention.HoldRequest) (int, error) {
	return retention.SetHold(ctx, d.catalog, d.store, req)
}

// Plan reports what the next purge would do.
func (d *Daemon) Plan(ctx context.Context) ([]retention.PurposePlan, error) {
	return d.purger.Plan(ctx)
}

// PurgeNow runs a purge at once.
func (d *Daemon) PurgeNow(ctx context.Context) (retention.Result, error) {
	res, err := d.purger.Purge(ctx)
	if err == nil {
		d.metrics.Purged(res.Deleted+res.Spool, res.Held, res.Failed, res.Duration, true)
	}
	return res, err
}
