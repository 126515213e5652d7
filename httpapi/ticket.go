package httpapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ticketTTL is how long an audio ticket opens its recording: long enough
// to listen to a long call and seek in it, short enough that a copied URL
// soon stops working.
const ticketTTL = 30 * time.Minute

// tickets issues and checks audio tickets: short-lived, HMAC-signed
// permissions to fetch one recording's audio for one actor and reason.
// The browser's <audio> cannot send an Authorization header, so the UI
// asks for a ticket with its token and gives the element the ticket URL;
// the bearer token itself never goes into a URL. The signing key is
// random per process, so a restart ends every ticket.
type tickets struct {
	key []byte
	ttl time.Duration
}

// ticket is what a ticket grants.
type ticket struct {
	Name     string   `json:"n"`
	Roles    []string `json:"ro"`
	Clients  []string `json:"c,omitempty"`
	ID       string   `json:"id"` // recording
	Reason   string   `json:"r"`
	Download bool     `json:"d,omitempty"`
	Exp      int64    `json:"e"` // Unix seconds
}

// maxTicketLen bounds a presented ticket.
const maxTicketLen = 4096

func newTickets(ttl time.Duration) (*tickets, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("httpapi: ticket key: %w", err)
	}
	return &tickets{key: key, ttl: ttl}, nil
}

func (t *tickets) sign(payload string) string {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// issue returns tk as a ticket string valid until now + ttl.
func (t *tickets) issue(tk ticket, now time.Time) (string, time.Time) {
	exp := now.Add(t.ttl)
	tk.Exp = exp.Unix()
	b, _ := json.Marshal(tk)
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + t.sign(payload), exp
}

// errBadTicket is wrapped by every refusal of a ticket.
var errBadTicket = errors.New("audio ticket not accepted")

// open checks s and returns what it grants.
func (t *tickets) open(s string, now time.Time) (*ticket, error) {
	if len(s) > maxTicketLen {
		return nil, fmt.Errorf("%w: too long", errBadTicket)
	}
	payload, sig, ok := strings.Cut(s, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(t.sign(payload))) {
		return nil, fmt.Errorf("%w: bad signature", errBadTicket)
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadTicket, err)
	}
	var tk ticket
	if err := json.Unmarshal(b, &tk); err != nil {
		return nil, fmt.Errorf("%w: %v", errBadTicket, err)
	}
	if now.Unix() >= tk.Exp {
		return nil, fmt.Errorf("%w: expired", errBadTicket)
	}
	return &tk, nil
}
