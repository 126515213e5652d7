package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls the supervisor API at Base with a bearer token.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// New returns a client of the API at base (scheme and host; any path is
// dropped) sending token, over hc (nil: http.DefaultClient). Which
// servers may receive a token over plain HTTP is the caller's decision.
func New(base *url.URL, token string, hc *http.Client) *Client {
	u := *base
	u.Path, u.RawPath, u.RawQuery = "", "", ""
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: &u, token: token, http: hc}
}

// StatusError is an answer other than 2xx: its status and the API's
// error message (or the body, or the status text, when it sent none).
type StatusError struct {
	Status int
	Msg    string
}

func (e *StatusError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Msg, e.Status) }

// ReasonHeader carries the reason for an access, percent-encoded so
// that any language survives a header.
func ReasonHeader(reason string) http.Header {
	return http.Header{"X-Kiroku-Reason": {url.PathEscape(reason)}}
}

// Do sends method path?q with hdr and body (JSON-encoded when not nil)
// and returns the response, whose body the caller closes, or a
// *StatusError for a non-2xx answer.
func (c *Client) Do(ctx context.Context, method, path string, q url.Values, hdr http.Header, body any) (*http.Response, error) {
	u := *c.base
	u.Path = path
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		cancel()
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		cancel()
		var op *net.OpError
		if errors.As(err, &op) {
			return nil, fmt.Errorf("cannot reach %s: %v", c.base, op.Err)
		}
		return nil, err
	}
	res.Body = cancelOnClose{res.Body, cancel}
	if res.StatusCode/100 != 2 {
		defer res.Body.Close()
		var e Error
		b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
			if e.Error == "" {
				e.Error = http.StatusText(res.StatusCode)
			}
		}
		return nil, &StatusError{Status: res.StatusCode, Msg: e.Error}
	}
	return res, nil
}

// cancelOnClose ends a request's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// jsonTimeout bounds a call answered with JSON (downloads are not
// bounded: they take as long as their size).
const jsonTimeout = 60 * time.Second

// JSON sends a request and decodes its JSON answer into out (when not
// nil); it returns the answer as it came too, for printing it as is.
func (c *Client) JSON(ctx context.Context, method, path string, q url.Values, hdr http.Header, body, out any) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, jsonTimeout)
	defer cancel()
	res, err := c.Do(ctx, method, path, q, hdr, body)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if out == nil {
		return b, nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return b, fmt.Errorf("answer of %s: %w", path, err)
	}
	return b, nil
}
