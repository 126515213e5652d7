package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// Defaults of Options.
const (
	DefaultQueue   = 1024
	DefaultTries   = 5
	DefaultTimeout = 10 * time.Second
	DefaultBackoff = time.Second
)

// Options configure a Sender.
type Options struct {
	URL     string        // endpoint; required
	Queue   int           // events held while the endpoint is slow; default DefaultQueue
	Tries   int           // deliveries tried per event; default DefaultTries
	Backoff time.Duration // wait after the first failed try, doubled after each; default DefaultBackoff
	Client  *http.Client  // default: one with DefaultTimeout
	Log     *zap.Logger
}

// Sender delivers events to one endpoint. Send queues, Run delivers.
type Sender struct {
	o     Options
	queue chan event
}

// event is one queued delivery, encoded when it was sent.
type event struct {
	kind, id string
	body     []byte
}

// New returns a Sender; nothing is delivered until Run.
func New(o Options) *Sender {
	if o.Queue <= 0 {
		o.Queue = DefaultQueue
	}
	if o.Tries <= 0 {
		o.Tries = DefaultTries
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: DefaultTimeout}
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	return &Sender{o: o, queue: make(chan event, o.Queue)}
}

// Send queues v (encoded as JSON now) for delivery; kind and id only
// name it in the log. It never blocks: when the queue is full the event
// is dropped and logged.
func (s *Sender) Send(kind, id string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.o.Log.Error("webhook event not encodable; dropped", zap.String("event", kind), zap.String("call_id", id), zap.Error(err))
		return
	}
	select {
	case s.queue <- event{kind, id, body}:
	default:
		s.o.Log.Error("webhook queue full; event dropped", zap.String("event", kind), zap.String("call_id", id))
	}
}

// Run delivers queued events until ctx ends; a delivery in progress or
// waiting to be retried is abandoned then, with a log line. It returns
// ctx's error.
func (s *Sender) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			if n := len(s.queue); n > 0 {
				s.o.Log.Warn("webhook stopped with events undelivered", zap.Int("events", n))
			}
			return ctx.Err()
		case e := <-s.queue:
			s.deliver(ctx, e)
		}
	}
}

// deliver tries e up to Tries times, backing off between tries.
func (s *Sender) deliver(ctx context.Context, e event) {
	wait := s.o.Backoff
	for try := 1; ; try++ {
		err := s.post(ctx, e.body)
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			s.o.Log.Warn("webhook delivery abandoned at stop", zap.String("event", e.kind), zap.String("call_id", e.id))
			return
		}
		s.o.Log.Warn("webhook delivery failed", zap.String("event", e.kind), zap.String("call_id", e.id), zap.Int("try", try), zap.Error(err))
		if try == s.o.Tries {
			s.o.Log.Error("webhook event given up", zap.String("event", e.kind), zap.String("call_id", e.id), zap.Int("tries", try))
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			s.o.Log.Warn("webhook delivery abandoned at stop", zap.String("event", e.kind), zap.String("call_id", e.id))
			return
		case <-t.C:
		}
		wait *= 2
	}
}

// post sends one try.
func (s *Sender) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.o.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := s.o.Client.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode >= 300 {
		return fmt.Errorf("status %s", res.Status)
	}
	return nil
}
