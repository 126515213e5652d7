package daemon

import (
	"context"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/catalog"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/webhook"
)

// newWebhook builds the webhook's sender on the catalog's outbox, with
// the signing secret from the environment (a missing or short one fails
// the start, as -check-config says).
func newWebhook(cfg *config.Config, cat *catalog.Catalog, log *zap.Logger) (*webhook.Sender, error) {
	w := cfg.Webhook
	key, err := w.Key()
	if err != nil {
		return nil, err
	}
	lo, hi := w.Backoff()
	return webhook.New(webhook.Options{
		URL: w.URL, Key: key, Catalog: cat,
		MaxTries: w.Tries(), MaxAge: w.Age(), MinBackoff: lo, MaxBackoff: hi,
		Client: &http.Client{Timeout: w.TryTimeout()},
		Log:    log,
	}), nil
}

// registerWebhookGauges exposes the outbox's figures, read at scrape time.
func (d *Daemon) registerWebhookGauges() {
	if d.webhook == nil {
		return
	}
	m := d.metrics
	figures := func() catalog.OutboxStats {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := d.webhook.Figures(ctx)
		if err != nil {
			d.log.Warn("webhook outbox figures not read", zap.Error(err))
		}
		return st
	}
	m.Gauge("kiroku_webhook_pending", "Webhook events in the outbox waiting to be delivered.", func() float64 {
		return float64(figures().Pending)
	})
	m.Gauge("kiroku_webhook_oldest_pending_age_seconds", "Age of the oldest webhook event waiting to be delivered (0 when none).", func() float64 {
		st := figures()
		if st.Pending == 0 || st.Oldest.IsZero() {
			return 0
		}
		return time.Since(st.Oldest).Seconds()
	})
	m.Gauge("kiroku_webhook_dead_letters", "Webhook events given up (dead-lettered) and kept in the outbox.", func() float64 {
		return float64(figures().Dead)
	})
	m.Counter("kiroku_webhook_delivered_total", "Webhook events the endpoint took, since the start.", func() float64 {
		return float64(d.webhook.Delivered())
	})
	m.Counter("kiroku_webhook_dead_lettered_total", "Webhook events given up after webhook.max_tries tries or webhook.max_age, since the start.", func() float64 {
		return float64(d.webhook.DeadLettered())
	})
}
