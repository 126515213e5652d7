package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/catalog"
)

// Defaults of Options.
const (
	DefaultTries      = 100
	DefaultMaxAge     = 72 * time.Hour
	DefaultTimeout    = 10 * time.Second
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = time.Hour
	DefaultPoll       = 5 * time.Second
)

// batch is how many due events one claim takes.
const batch = 50

// Options configure a Sender.
type Options struct {
	URL     string           // endpoint; required
	Key     []byte           // signing key (see Key); required
	Catalog *catalog.Catalog // holds the outbox; required
	// MaxTries and MaxAge dead-letter an event: after that many failed
	// tries, or once it is that old at a failed try. Defaults
	// DefaultTries, DefaultMaxAge.
	MaxTries int
	MaxAge   time.Duration
	// MinBackoff is the wait after the first failed try, doubled after
	// each up to MaxBackoff, with jitter (half of it random).
	MinBackoff, MaxBackoff time.Duration
	// Poll is how often the outbox is looked at without a Kick
	// (events added by another node); default DefaultPoll.
	Poll   time.Duration
	Client *http.Client // default: one with DefaultTimeout
	Log    *zap.Logger
}

// Sender delivers the outbox's events to one endpoint. Enqueue adds,
// Run delivers.
type Sender struct {
	o    Options
	kick chan struct{}

	delivered atomic.Uint64
	dead      atomic.Uint64
}

// New returns a Sender; nothing is delivered until Run.
func New(o Options) *Sender {
	if o.MaxTries <= 0 {
		o.MaxTries = DefaultTries
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: DefaultTimeout}
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	return &Sender{o: o, kick: make(chan struct{}, 1)}
}

// Enqueue adds an event of kind about recording, v encoded as JSON now,
// to the outbox through q: the transaction of the change it reports, or
// the catalog's database right after it. Kick after the commit delivers
// it at once; otherwise the next poll does.
func (s *Sender) Enqueue(ctx context.Context, q catalog.Querier, kind, recording string, v any) error {
	e, err := outboxEvent(kind, recording, v)
	if err != nil {
		return err
	}
	return catalog.AddOutbox(ctx, q, e)
}

// EnqueueOnce is Enqueue unless an event of kind about recording is
// still pending (catalog.AddOutboxOnce), then kicks.
func (s *Sender) EnqueueOnce(ctx context.Context, kind, recording string, v any) error {
	e, err := outboxEvent(kind, recording, v)
	if err != nil {
		return err
	}
	if _, err := s.o.Catalog.AddOutboxOnce(ctx, e); err != nil {
		return err
	}
	s.Kick()
	return nil
}

func outboxEvent(kind, recording string, v any) (*catalog.OutboxEvent, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("webhook %s %s: %w", kind, recording, err)
	}
	return &catalog.OutboxEvent{Recording: recording, Type: kind, Body: body}, nil
}

// Kick asks for a look at the outbox now (an event was committed).
func (s *Sender) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Delivered counts the events the endpoint took, in this process.
func (s *Sender) Delivered() uint64 { return s.delivered.Load() }

// DeadLettered counts the events given up, in this process.
func (s *Sender) DeadLettered() uint64 { return s.dead.Load() }

// Figures returns the outbox's pending and dead counts and its oldest
// pending event.
func (s *Sender) Figures(ctx context.Context) (catalog.OutboxStats, error) {
	return s.o.Catalog.OutboxFigures(ctx)
}

// lease is how long a claimed event is kept from other senders: longer
// than a try can take.
func (s *Sender) lease() time.Duration {
	if s.o.Client.Timeout > 0 {
		return 2*s.o.Client.Timeout + 5*time.Second
	}
	return 2*DefaultTimeout + 5*time.Second
}

// Run delivers due events until ctx ends, and returns ctx's error. A
// try cut by the stop is not counted: its event is due again at once, at
// the next start (the endpoint may have taken it, so may see its id
// twice).
func (s *Sender) Run(ctx context.Context) error {
	for {
		full, err := s.pass(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			s.o.Log.Warn("webhook outbox not read; retrying", zap.Duration("in", s.o.Poll), zap.Error(err))
		}
		wait := s.o.Poll
		if full {
			wait = 0
		} else if next, ok, err := s.o.Catalog.NextOutboxDue(ctx); err == nil && ok {
			wait = min(wait, max(time.Until(next), 0))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-s.kick:
			t.Stop()
		case <-t.C:
		}
	}
}

// pass claims and tries one batch of due events; full says the batch
// was full, so more may be due.
func (s *Sender) pass(ctx context.Context) (full bool, err error) {
	evs, err := s.o.Catalog.ClaimOutbox(ctx, time.Now(), s.lease(), batch)
	if err != nil {
		return false, err
	}
	for _, e := range evs {
		if ctx.Err() != nil {
			s.release(e)
			continue
		}
		s.deliver(ctx, e)
	}
	return len(evs) == batch, nil
}

// deliver tries e once and records the outcome.
func (s *Sender) deliver(ctx context.Context, e *catalog.OutboxEvent) {
	log := s.o.Log.With(zap.String("event", e.Type), zap.String("call_id", e.Recording), zap.String("event_id", e.ID))
	err := s.post(ctx, e)
	// The outcome is written even when the stop cut the try short.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err == nil {
		if err := s.o.Catalog.OutboxDelivered(wctx, e.ID); err != nil {
			log.Error("webhook event delivered but still in the outbox: it will be delivered again", zap.Error(err))
			return
		}
		s.delivered.Add(1)
		return
	}
	if ctx.Err() != nil {
		log.Warn("webhook delivery cut by the stop; tried again at the next start")
		s.release(e)
		return
	}
	tries := e.Tries + 1
	now := time.Now()
	if tries >= s.o.MaxTries || now.Sub(e.CreatedAt) >= s.o.MaxAge {
		if err2 := s.o.Catalog.OutboxDeadLetter(wctx, e.ID, tries, now, err.Error()); err2 != nil {
			log.Error("webhook event not dead-lettered", zap.Error(err2))
			return
		}
		s.dead.Add(1)
		log.Error("webhook event dead-lettered", zap.Int("tries", tries), zap.Duration("age", now.Sub(e.CreatedAt)), zap.Error(err))
		return
	}
	wait := s.backoff(tries)
	if err2 := s.o.Catalog.OutboxRetry(wctx, e.ID, tries, now.Add(wait), err.Error()); err2 != nil {
		log.Error("webhook try not recorded", zap.Error(err2))
		return
	}
	log.Warn("webhook delivery failed", zap.Int("try", tries), zap.Duration("retry_in", wait), zap.Error(err))
}

// release makes a claimed event due again now, its tries unchanged.
func (s *Sender) release(e *catalog.OutboxEvent) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.o.Catalog.OutboxRetry(ctx, e.ID, e.Tries, time.Now(), e.LastError); err != nil {
		s.o.Log.Warn("webhook event not released; due again when its claim ends", zap.String("event_id", e.ID), zap.Error(err))
	}
}

// backoff is the wait after the tries-th failed try: MinBackoff doubled
// per try up to MaxBackoff, of which the second half is random (full
// jitter keeps retries of many events, or nodes, from coming in step).
func (s *Sender) backoff(tries int) time.Duration {
	d := s.o.MinBackoff
	for i := 1; i < tries && d < s.o.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.o.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// post sends one try of e, signed.
func (s *Sender) post(ctx context.Context, e *catalog.OutboxEvent) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.o.URL, bytes.NewReader(e.Body))
	if err != nil {
		return err
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderID, e.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(s.o.Key, e.ID, ts, e.Body))
	res, err := s.o.Client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
	res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode >= 300 {
		return fmt.Errorf("status %s", res.Status)
	}
	return nil
}
