package daemon

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/retention"
)

// retagRetry is how long after a failed apply of retention changes it
// is tried again, besides at the next reload.
const retagRetry = time.Minute

// retagger applies the retention limits of the configuration in force to
// recordings already stored (catalog dates and object tags), on one
// background goroutine, one change at a time. It remembers the policy the
// stored recordings were last brought to, so a failed or interrupted
// apply is tried again from there, and reloads in quick succession
// coalesce into one pass to the newest configuration.
//
// At start it does not know what the stored recordings carry (the daemon
// may have been stopped with another configuration and started with a
// shorter limit), so its first pass checks every purpose's recordings
// against the configuration in force and re-dates those off it, audited
// as by "start". The pass changes only what differs, so running it over
// a catalog already in line costs a read of it and changes nothing.
type retagger struct {
	mu      sync.Mutex
	applied *config.Config // the policy stored recordings carry; nil: not known (start)
	latest  *config.Config // the policy in force
	kick    chan struct{}  // buffered(1): wants coalesce
	passes  int            // applies finished without error (for tests)
}

func newRetagger(cfg *config.Config) *retagger {
	r := &retagger{latest: cfg, kick: make(chan struct{}, 1)}
	r.kick <- struct{}{} // the start pass
	return r
}

// want asks for stored recordings to be brought to cfg's limits.
func (r *retagger) want(cfg *config.Config) {
	r.mu.Lock()
	r.latest = cfg
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// pending tells whether stored recordings lag the policy in force.
func (r *retagger) pending() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.applied != r.latest
}

// run applies wanted changes until ctx ends.
func (r *retagger) run(ctx context.Context, d *Daemon) {
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			if r.pending() {
				d.log.Warn("retention changes not fully applied at stop")
			}
			return
		case <-r.kick:
		case <-retry:
		}
		retry = nil
		r.mu.Lock()
		from, to := r.applied, r.latest
		r.mu.Unlock()
		if from == to {
			continue
		}
		actor := "reload"
		if from == nil {
			actor = "start"
		}
		n, err := retention.ApplyPolicy(ctx, d.catalog, d.store, from, to, actor)
		if ctx.Err() != nil {
			continue // logged at stop
		}
		if err != nil {
			d.log.Error("retention changes not fully applied; tried again in a minute and at the next reload", zap.Int("recordings", n), zap.Error(err))
			retry = time.After(retagRetry)
			continue
		}
		r.mu.Lock()
		r.applied = to
		r.passes++
		r.mu.Unlock()
		if n > 0 {
			d.log.Info("retention dates changed to the configuration in force", zap.Int("recordings", n), zap.String("by", actor))
		}
	}
}
