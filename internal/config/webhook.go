package config

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Webhook configures the optional notification of what became of each
// recording: events kept in the catalog's outbox until delivered, each an
// HTTP POST of JSON signed with HMAC-SHA-256 under the secret in the
// environment variable SecretEnv, retried with back-off across restarts
// and dead-lettered after MaxTries tries or MaxAge.
type Webhook struct {
	URL        string   `yaml:"url"`
	SecretEnv  string   `yaml:"secret_env"`  // required with url: the variable holding the signing secret
	MaxTries   int      `yaml:"max_tries"`   // default 100
	MaxAge     Duration `yaml:"max_age"`     // default 72h
	MinBackoff Duration `yaml:"min_backoff"` // default 1s
	MaxBackoff Duration `yaml:"max_backoff"` // default 1h
	Timeout    Duration `yaml:"timeout"`     // one try; default 10s
}

// Defaults of webhook.
const (
	DefaultWebhookTries      = 100
	DefaultWebhookMaxAge     = Duration(72 * time.Hour)
	DefaultWebhookMinBackoff = Duration(time.Second)
	DefaultWebhookMaxBackoff = Duration(time.Hour)
	DefaultWebhookTimeout    = Duration(10 * time.Second)
)

// MinWebhookKey is the shortest signing key accepted, in bytes.
const MinWebhookKey = 16

// webhookSecretPrefix marks a secret given as base64, as Standard
// Webhooks' libraries write it.
const webhookSecretPrefix = "whsec_"

// Tries is max_tries or its default.
func (w Webhook) Tries() int {
	if w.MaxTries > 0 {
		return w.MaxTries
	}
	return DefaultWebhookTries
}

// Age is max_age or its default.
func (w Webhook) Age() time.Duration { return orDefault(w.MaxAge, DefaultWebhookMaxAge) }

// Backoff is min_backoff and max_backoff or their defaults.
func (w Webhook) Backoff() (lo, hi time.Duration) {
	return orDefault(w.MinBackoff, DefaultWebhookMinBackoff), orDefault(w.MaxBackoff, DefaultWebhookMaxBackoff)
}

// TryTimeout is timeout or its default.
func (w Webhook) TryTimeout() time.Duration { return orDefault(w.Timeout, DefaultWebhookTimeout) }

func orDefault(d, def Duration) time.Duration {
	if d > 0 {
		return time.Duration(d)
	}
	return time.Duration(def)
}

// Key returns the signing key from the environment variable secret_env
// names: the bytes after "whsec_" decoded from base64 (so that Standard
// Webhooks' libraries verify with the same string), else the value's
// bytes as they are; at least MinWebhookKey bytes. Errors name the
// variable, never its value.
func (w Webhook) Key() ([]byte, error) {
	key, why := w.lookupKey()
	if why != "" {
		return nil, fmt.Errorf("webhook.secret_env: %s", why)
	}
	return key, nil
}

func (w Webhook) lookupKey() ([]byte, string) {
	v, ok := os.LookupEnv(w.SecretEnv)
	switch {
	case !ok:
		return nil, fmt.Sprintf("environment variable %s is not set (it holds the webhook signing secret)", w.SecretEnv)
	case v == "":
		return nil, fmt.Sprintf("environment variable %s is empty (it holds the webhook signing secret)", w.SecretEnv)
	}
	key := []byte(v)
	if rest, ok := strings.CutPrefix(v, webhookSecretPrefix); ok {
		var err error
		if key, err = base64.StdEncoding.DecodeString(rest); err != nil {
			return nil, fmt.Sprintf("environment variable %s starts with whsec_ but the rest is not base64", w.SecretEnv)
		}
	}
	if len(key) < MinWebhookKey {
		return nil, fmt.Sprintf("environment variable %s holds a secret of %d bytes; want at least %d (such as the output of openssl rand -hex 32)", w.SecretEnv, len(key), MinWebhookKey)
	}
	return key, ""
}

// checkWebhook checks the webhook section's shape; the secret itself is
// CheckEnv's (and the start's).
func (c *Config) checkWebhook(r *report) {
	w := c.Webhook
	if w.URL == "" {
		if w.SecretEnv != "" {
			r.add("webhook.secret_env", "set, but webhook.url is not: there is nothing to sign")
		}
		return
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.add("webhook.url", "%q is not an http(s) URL", w.URL)
	}
	switch {
	case w.SecretEnv == "":
		r.add("webhook.secret_env", "required with webhook.url: the name of the environment variable holding the signing secret, such as KIROKU_WEBHOOK_SECRET")
	case !envName.MatchString(w.SecretEnv):
		// The value may be the secret itself: never repeat it.
		r.add("webhook.secret_env", "is not an environment variable name (letters, digits and _): give the variable's name, such as KIROKU_WEBHOOK_SECRET, and put the secret in it")
	}
	if w.MaxTries < 0 {
		r.add("webhook.max_tries", "%d is negative", w.MaxTries)
	}
	if lo, hi := w.Backoff(); lo > hi {
		r.add("webhook.min_backoff", "%s is longer than webhook.max_backoff (%s)", lo, hi)
	}
}

// checkWebhookEnv is CheckEnv's part for the webhook.
func (c *Config) checkWebhookEnv(r *report) {
	if c.Webhook.URL == "" || !envName.MatchString(c.Webhook.SecretEnv) {
		return
	}
	if _, why := c.Webhook.lookupKey(); why != "" {
		r.add("webhook.secret_env", "%s", why)
	}
}
