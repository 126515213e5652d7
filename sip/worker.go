package sip

import (
	"context"
	"sync"
	"sync/atomic"
)

// legWorker runs one leg's outgoing work in order on one goroutine: keys
// sent to it as RFC 4733 (which take up to their duration to send) and the
// re-INVITEs that pass a hold on to it. Its goroutine starts with the
// first job, so that the many calls that never need one cost no
// goroutine (two idle workers' stacks were ~13 KiB a call in
// bench-calls), and stops when the call's context ends; the call waits
// for it before it releases the leg's media.
type legWorker struct {
	jobs    chan func(context.Context)
	done    chan struct{}
	once    sync.Once   // the goroutine is started, or barred by wait, once
	started atomic.Bool // set inside once before the goroutine starts
	launch  func()      // starts the goroutine under the call's context
}

// legQueue bounds the work waiting for a leg; more than this is dropped
// (a caller pressing keys faster than they can be sent).
const legQueue = 16

func startLegWorker(ctx context.Context) *legWorker {
	w := &legWorker{jobs: make(chan func(context.Context), legQueue), done: make(chan struct{})}
	w.launch = func() {
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
	}
	return w
}

// do queues f; it reports false when the queue is full. f runs with the
// call's context and must return soon after it ends.
func (w *legWorker) do(f func(context.Context)) bool {
	select {
	case w.jobs <- f:
	default:
		return false
	}
	w.once.Do(func() {
		w.started.Store(true)
		w.launch()
	})
	return true
}

// wait returns once the worker has stopped (its context ended); after it,
// no goroutine is started.
func (w *legWorker) wait() {
	w.once.Do(func() {})
	if w.started.Load() {
		<-w.done
	}
}
