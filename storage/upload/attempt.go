package upload

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// attempt uploads id within AttemptTimeout.
func (u *Uploader) attempt(ctx context.Context, id string) error {
	clk := &attemptClock{parent: ctx, d: u.o.AttemptTimeout}
	defer clk.stop()
	err := u.upload(clk, id)
	if err != nil && ctx.Err() == nil && errors.Is(clk.ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("the store did not finish the upload within %s: %w", u.o.AttemptTimeout, err)
	}
	return err
}

// attemptClock bounds an attempt's work on the catalog and the store by
// AttemptTimeout, counted afresh once the audio is encoded: encoding
// takes time in proportion to the recording's length and the machine's
// load, not to the store's health, and counted in, it would fail a long
// recording at every attempt (TestUploadSlowEncodeNotTimedOut).
type attemptClock struct {
	parent context.Context
	d      time.Duration
	ctx    context.Context
	cancel context.CancelFunc
}

// restart cancels the running clock and starts it again.
func (c *attemptClock) restart() context.Context {
	c.stop()
	c.ctx, c.cancel = context.WithTimeout(c.parent, c.d)
	return c.ctx
}

func (c *attemptClock) stop() {
	if c.cancel != nil {
		c.cancel()
	}
}
