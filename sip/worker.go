package sip

import "context"

// legWorker runs one leg's outgoing work in order on one goroutine: keys
// sent to it as RFC 4733 (which take up to their duration to send) and the
// re-INVITEs that pass a hold on to it. The call starts one per leg with
// its own context; the goroutine stops when that context ends, and the
// call waits for it before it releases the leg's media.
type legWorker struct {
	jobs chan func(context.Context)
	done chan struct{}
}

// legQueue bounds the work waiting for a leg; more than this is dropped
// (a caller pressing keys faster than they can be sent).
const legQueue = 16

func startLegWorker(ctx context.Context) *legWorker {
	w := &legWorker{jobs: make(chan func(context.Context), legQueue), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			select {
			case <-ctx.Done():
				return
			case f := <-w.jobs:
				f(ctx)
			}
		}
	}()
	return w
}

// do queues f; it reports false when the queue is full. f runs with the
// call's context and must return soon after it ends.
func (w *legWorker) do(f func(context.Context)) bool {
	select {
	case w.jobs <- f:
		return true
	default:
		return false
	}
}

// wait returns once the worker has stopped (its context ended).
func (w *legWorker) wait() { <-w.done }
