package daemon

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/spool"
)

// teardownParallel bounds the calls torn down at once after a restart.
const teardownParallel = 32

// tearDown ends the dialogs of the calls a previous run left up (New
// found them in the spool with their dialogs kept): a BYE on both legs
// of each, so neither the caller nor the agent stays on a dead call,
// then the call's manifest is finished as interrupted with the
// teardown's outcome, and the uploader takes it.
func (d *Daemon) tearDown(ctx context.Context) {
	sem := make(chan struct{}, teardownParallel)
	var wg sync.WaitGroup
	for _, id := range d.teardown {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			d.tearDownCall(ctx, id)
		}()
	}
	wg.Wait()
	d.uploader.Kick()
}

func (d *Daemon) tearDownCall(ctx context.Context, id string) {
	log := d.log.With(zap.String("call_id", id))
	var t spool.Teardown
	ds, err := d.spool.ReadDialogs(id)
	if err != nil {
		log.Error("dialogs of an interrupted call unreadable; its legs are not hung up", zap.Error(err))
		t = spool.Teardown{At: time.Now().UTC(), Legs: []spool.TeardownLeg{{Error: "dialogs unreadable: " + err.Error()}}}
	} else {
		t = d.sip.Teardown(ctx, ds)
	}
	for _, l := range t.Legs {
		log.Info("interrupted call's leg hung up after restart", zap.String("side", l.Side), zap.Int("status", l.Status), zap.String("error", l.Error))
	}
	switch r := d.spool.FinishTeardown(id, t); {
	case r.Err != nil:
		log.Error("interrupted call not recovered; its files stay in the spool", zap.Error(r.Err))
	case r.Repaired:
		log.Warn("recording of an interrupted call repaired and spooled (cut short)")
	default:
		log.Warn("interrupted call closed without recording")
	}
}
