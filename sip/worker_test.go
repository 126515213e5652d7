package sip

import (
	"context"
	"testing"
)

// TestLegWorker: jobs run in order under the worker's context; the
// worker stops when that context ends, also in the middle of a job that
// honours it, and a full queue refuses more work instead of blocking.
func TestLegWorker(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	w := startLegWorker(ctx)
	got := make(chan int, 2)
	for i := range 2 {
		if !w.do(func(context.Context) { got <- i }) {
			t.Fatalf("job %d refused by an empty queue", i)
		}
	}
	for want := range 2 {
		if i := <-got; i != want {
			t.Errorf("got job %d, want %d", i, want)
		}
	}
	running := make(chan struct{})
	w.do(func(ctx context.Context) {
		close(running)
		<-ctx.Done()
	})
	<-running
	for i := range legQueue {
		if !w.do(func(context.Context) {}) {
			t.Fatalf("job %d refused with room in the queue", i)
		}
	}
	if w.do(func(context.Context) {}) {
		t.Error("a job beyond the queue was taken, want it refused")
	}
	cancel()
	w.wait() // returns: the blocked job saw the end of the context
}
