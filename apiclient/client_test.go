package apiclient

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// TestClient: the token and reason go in headers, a JSON answer is
// decoded, and a refusal is a *StatusError with the API's message (or
// the body, or the status text).
func TestClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/recordings/r1/hold":
			if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("X-Kiroku-Reason") != "%E7%9B%A3%E6%9F%BB" || r.Method != http.MethodPut {
				http.Error(w, `{"error": "bad request"}`, http.StatusBadRequest)
				return
			}
			w.Write([]byte(`{"changed": true, "id": "r1", "legal_hold": true}`))
		case "/json":
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error": "the audit log is open to auditors"}`))
		case "/text":
			http.Error(w, "upstream down", http.StatusBadGateway)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	base, _ := url.Parse(srv.URL + "/ignored/path")
	c := New(base, "tok", srv.Client())

	res, raw, err := c.Hold(t.Context(), "r1", true, "監査")
	if err != nil || !res.Changed || !res.LegalHold || res.ID != "r1" || len(raw) == 0 {
		t.Fatalf("hold: got %+v %s %v", res, raw, err)
	}
	for _, tc := range []struct {
		path   string
		status int
		msg    string
	}{
		{"/json", 403, "the audit log is open to auditors"},
		{"/text", 502, "upstream down"},
		{"/none", 404, "Not Found"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			_, err := c.JSON(t.Context(), http.MethodGet, tc.path, nil, nil, nil, nil)
			var se *StatusError
			if !errors.As(err, &se) || se.Status != tc.status || se.Msg != tc.msg {
				t.Fatalf("got %v, want %d %q", err, tc.status, tc.msg)
			}
			if got, want := se.Error(), fmt.Sprintf("%s (HTTP %d)", tc.msg, tc.status); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}
