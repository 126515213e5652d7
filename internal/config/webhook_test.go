package config

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func webhookConfig(section string) []byte {
	return []byte(`sip:
  listen: ["udp://127.0.0.1:5060"]
purposes:
  - {name: cs, retention: 6m}
lines:
  - {number: "0120000000", purpose: cs, notice: prompts/notice.wav, downstream: "echo:"}
webhook:
` + section)
}

// TestWebhookInvalid: each mistake of the section is named with its line
// and key, and a secret pasted where its variable's name belongs is
// never repeated.
func TestWebhookInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, section, want string
	}{
		{"no secret", "  url: http://127.0.0.1:9000/hook\n", `w.yaml:7: webhook.secret_env: required with webhook.url: the name of the environment variable holding the signing secret, such as KIROKU_WEBHOOK_SECRET`},
		{"secret in the file", "  url: http://127.0.0.1:9000/hook\n  secret_env: \"s3cret value!\"\n", `w.yaml:9: webhook.secret_env: is not an environment variable name (letters, digits and _): give the variable's name, such as KIROKU_WEBHOOK_SECRET, and put the secret in it`},
		{"not http", "  url: ftp://x/\n  secret_env: S\n", `w.yaml:8: webhook.url: "ftp://x/" is not an http(s) URL`},
		{"secret without url", "  secret_env: S\n", `w.yaml:8: webhook.secret_env: set, but webhook.url is not: there is nothing to sign`},
		{"backoff upside down", "  url: http://h/\n  secret_env: S\n  min_backoff: 2h\n", `w.yaml:10: webhook.min_backoff: 2h0m0s is longer than webhook.max_backoff (1h0m0s)`},
		{"negative tries", "  url: http://h/\n  secret_env: S\n  max_tries: -1\n", `w.yaml:10: webhook.max_tries: -1 is negative`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(webhookConfig(tc.section), "w.yaml", promptFS(t), ".")
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error repeats the secret: %v", err)
			}
		})
	}
}

// TestWebhookKey: the secret comes from the environment, as it is or
// base64 after whsec_; CheckEnv (-check-config) refuses what the start
// would, naming the variable and never the value.
func TestWebhookKey(t *testing.T) {
	c, err := Parse(webhookConfig("  url: http://127.0.0.1:9000/hook\n  secret_env: KIROKU_TEST_WEBHOOK_SECRET\n"), "w.yaml", promptFS(t), ".")
	if err != nil {
		t.Fatal(err)
	}
	if c.Webhook.Tries() != DefaultWebhookTries || c.Webhook.Age() != 72*time.Hour || c.Webhook.TryTimeout() != 10*time.Second {
		t.Errorf("got defaults %d, %v, %v", c.Webhook.Tries(), c.Webhook.Age(), c.Webhook.TryTimeout())
	}
	raw := bytes.Repeat([]byte{0xa5}, 24)
	for _, tc := range []struct {
		name, value string
		set         bool
		wantKey     []byte
		wantErr     string
	}{
		{"unset", "", false, nil, "environment variable KIROKU_TEST_WEBHOOK_SECRET is not set (it holds the webhook signing secret)"},
		{"empty", "", true, nil, "environment variable KIROKU_TEST_WEBHOOK_SECRET is empty (it holds the webhook signing secret)"},
		{"short", "s3cret", true, nil, "environment variable KIROKU_TEST_WEBHOOK_SECRET holds a secret of 6 bytes; want at least 16 (such as the output of openssl rand -hex 32)"},
		{"bad base64", "whsec_s3cret!!", true, nil, "environment variable KIROKU_TEST_WEBHOOK_SECRET starts with whsec_ but the rest is not base64"},
		{"as it is", "a secret of twenty bytes", true, []byte("a secret of twenty bytes"), ""},
		{"whsec_", "whsec_" + base64.StdEncoding.EncodeToString(raw), true, raw, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.set {
				t.Setenv("KIROKU_TEST_WEBHOOK_SECRET", tc.value)
			}
			key, err := c.Webhook.Key()
			envErr := c.CheckEnv()
			if tc.wantErr == "" {
				if err != nil || !bytes.Equal(key, tc.wantKey) || envErr != nil {
					t.Errorf("got %x, %v, CheckEnv %v; want %x", key, err, envErr, tc.wantKey)
				}
				return
			}
			if err == nil || err.Error() != "webhook.secret_env: "+tc.wantErr {
				t.Errorf("Key: got %v, want %s", err, tc.wantErr)
			}
			if want := "w.yaml:9: webhook.secret_env: " + tc.wantErr; envErr == nil || envErr.Error() != want {
				t.Errorf("CheckEnv: got %v\nwant %s", envErr, want)
			}
			if tc.value != "" && (strings.Contains(err.Error(), tc.value) || strings.Contains(envErr.Error(), tc.value)) {
				t.Errorf("an error repeats the secret: %v / %v", err, envErr)
			}
		})
	}
}
