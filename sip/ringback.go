package sip

import (
	"context"
	"sync"

	"github.com/kiroku-voice/kiroku/media"
)

// ringback plays the ringback cadence to the caller until stopped.
type ringback struct {
	ep     *media.Endpoint
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

func newRingback(ep *media.Endpoint) *ringback { return &ringback{ep: ep} }

func (r *ringback) start(ctx context.Context) {
	if r == nil {
		return // a transfer's target rings while the caller still talks
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		return
	}
	ctx, r.cancel = context.WithCancel(ctx)
	done := make(chan struct{})
	r.done = done
	go func() {
		defer close(done)
		tone := media.Ringback()
		for r.ep.Play(ctx, tone) == nil {
		}
	}()
}

// stop ends the tone and waits for its last frame, so that nothing it
// sends interleaves with the bridged audio.
func (r *ringback) stop() {
	if r == nil {
		return
	}
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.cancel, r.done = nil, nil // so that it can start again (the next downstream rings)
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}
