package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/retention"
	"github.com/kiroku-voice/kiroku/sip"
)

// holdRecorder stands in for the retention runner: it records the holds
// the control listener passes on (the runner itself is tested in
// retention; here what matters is what reaches it).
type holdRecorder struct{ holds []retention.HoldRequest }

func (h *holdRecorder) Hold(_ context.Context, req retention.HoldRequest) (int, error) {
	h.holds = append(h.holds, req)
	return 1, nil
}
func (h *holdRecorder) Plan(context.Context) ([]retention.PurposePlan, error) { return nil, nil }
func (h *holdRecorder) PurgeNow(context.Context) (retention.Result, error) {
	return retention.Result{}, nil
}

type noCalls struct{}

func (noCalls) Calls() []sip.CallInfo      { return nil }
func (noCalls) Pause(id, by string) error  { return sip.ErrNoCall }
func (noCalls) Resume(id, by string) error { return sip.ErrNoCall }

// TestControlRefusesBrowsersAndRebinding: what a web page in a browser on
// the host can send (a text/plain no-cors POST, another Origin) and what a
// rebound DNS name brings (a foreign Host) changes nothing; an actor or
// reason with a line break or of 300 KB is refused; a hold from curl or
// kirokuctl-like clients goes through.
func TestControlRefusesBrowsersAndRebinding(t *testing.T) {
	ret := &holdRecorder{}
	srv := httptest.NewServer(NewControl(noCalls{}, ret, zap.NewNop()))
	defer srv.Close()
	body := `{"ids":["0192f3e4-0000-7000-8000-000000000000"],"on":true,"reason":"訴訟","actor":"officer"}`
	for _, tc := range []struct {
		name        string
		host, ctype string
		origin      string
		body        string
		want        int
	}{
		{"curl", "", "application/json", "", body, http.StatusOK},
		{"localhost host", "localhost:8091", "application/json; charset=utf-8", "", body, http.StatusOK},
		{"no-cors text/plain from a page", "", "text/plain", "http://evil.example", body, http.StatusUnsupportedMediaType},
		{"no content type", "", "", "", body, http.StatusUnsupportedMediaType},
		{"json from another origin", "", "application/json", "http://evil.example", body, http.StatusForbidden},
		{"rebound DNS name", "rebind.evil.example", "application/json", "", body, http.StatusMisdirectedRequest},
		{"actor with a newline", "", "application/json", "", strings.Replace(body, `"officer"`, `"officer\nforged"`, 1), http.StatusBadRequest},
		{"huge reason", "", "application/json", "", strings.Replace(body, `"訴訟"`, `"`+strings.Repeat("x", 300<<10)+`"`, 1), http.StatusBadRequest},
		{"bidi override in the actor", "", "application/json", "", strings.Replace(body, `"officer"`, `"off\u202eicer"`, 1), http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(ret.holds)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/holds", strings.NewReader(tc.body))
			if tc.host != "" {
				req.Host = tc.host
			}
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Errorf("got %d, want %d", res.StatusCode, tc.want)
			}
			if changed := len(ret.holds) != before; changed != (tc.want == http.StatusOK) {
				t.Errorf("hold passed on: %v, want %v", changed, tc.want == http.StatusOK)
			}
		})
	}
	// Reads stay open to curl without a content type; a foreign Host is
	// refused there too.
	res, err := http.Get(srv.URL + "/healthz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("healthz: got %v %v, want 200", res.StatusCode, err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/calls", nil)
	req.Host = "rebind.evil.example"
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("calls list for a rebound name: got %v %v, want 421", res.StatusCode, err)
	}
}
