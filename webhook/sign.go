package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers of a delivery, as Standard Webhooks names them.
const (
	HeaderID        = "Webhook-Id"        // the event's id, the same at every try: a receiver's key to take it once
	HeaderTimestamp = "Webhook-Timestamp" // Unix seconds of this try
	HeaderSignature = "Webhook-Signature" // "v1," and the base64 of the HMAC-SHA-256
)

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: no signature headers")
	ErrBadSignature = errors.New("webhook: signature does not match")
	ErrStale        = errors.New("webhook: timestamp outside the tolerance (a replay, or a clock off)")
)

// Sign returns the Webhook-Signature of body sent as event id at ts
// (Unix seconds): "v1," and the base64 of HMAC-SHA-256 under key of
// id "." ts "." body.
func Sign(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery's headers against its body as a receiver
// should: the signature (any of the space-separated v1 ones) over id,
// timestamp and body, compared in constant time, and a timestamp within
// tolerance of now, against replays. A receiver then takes each id once.
func Verify(key []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return ErrNoSignature
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook: timestamp %q: %w", tsText, ErrBadSignature)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	want := Sign(key, id, ts, body)
	for _, s := range strings.Fields(sigs) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}
