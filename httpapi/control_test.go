package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/media"
	"github.com/kiroku-voice/kiroku/sip"
)

// oneCall is a SIP server with one call in progress that counts the
// pauses reaching it.
type oneCall struct{ pauses int }

func (c *oneCall) Calls() []sip.CallInfo {
	return []sip.CallInfo{{ID: "c1", Line: "0120000001", Purpose: "cs-quality", Caller: "0312****78", StartedAt: time.Now()}}
}
func (c *oneCall) Pause(id, by string) error  { c.pauses++; return nil }
func (c *oneCall) Resume(id, by string) error { c.pauses++; return nil }
func (c *oneCall) Listen(id string) (*media.Listener, error) {
	return nil, sip.ErrNotRecording
}

// TestControlReadsOnly: the unauthenticated control listener changes
// nothing whatever is sent to it — curl's JSON, a page's text/plain
// no-cors POST, a rebound DNS name — and the old write routes answer 405
// naming where they went; its calls list keeps the SIP server's masked
// caller; a foreign
// Host is refused on reads too.
func TestControlReadsOnly(t *testing.T) {
	calls := &oneCall{}
	srv := httptest.NewServer(NewControl(calls, zap.NewNop(), false))
	defer srv.Close()
	for _, path := range []string{"/api/v1/holds", "/api/v1/retention/purge", "/api/v1/calls/c1/pause", "/api/v1/calls/c1/resume", "/healthz"} {
		for _, ctype := range []string{"application/json", "text/plain"} {
			for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
				req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(`{"ids":["x"],"on":true,"reason":"r","actor":"csrf-page"}`))
				req.Header.Set("Content-Type", ctype)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var e apiclient.Error
				json.NewDecoder(res.Body).Decode(&e)
				res.Body.Close()
				if res.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(e.Error, "supervisor API") {
					t.Errorf("%s %s (%s): got %d %q, want 405 naming the supervisor API", method, path, ctype, res.StatusCode, e.Error)
				}
			}
		}
	}
	if calls.pauses != 0 {
		t.Errorf("%d pauses reached the SIP server", calls.pauses)
	}
	res, err := http.Get(srv.URL + "/api/v1/calls")
	if err != nil {
		t.Fatal(err)
	}
	var list apiclient.CallList
	json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || len(list.Calls) != 1 || list.Calls[0].Caller != "0312****78" {
		t.Errorf("calls list: got %d %+v, want the call with its caller masked as the SIP server gives it", res.StatusCode, list.Calls)
	}
	if res, err := http.Get(srv.URL + "/healthz"); err != nil || res.StatusCode != http.StatusOK {
		t.Errorf("healthz: got %v %v, want 200", res.StatusCode, err)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/calls", nil)
	req.Host = "rebind.evil.example"
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("calls list for a rebound name: got %v %v, want 421", res.StatusCode, err)
	}
}

// TestControlProfiles: Go's profiles are served on the control listener
// only when asked for (control.pprof), to GET alone.
func TestControlProfiles(t *testing.T) {
	for _, on := range []bool{false, true} {
		srv := httptest.NewServer(NewControl(&oneCall{}, zap.NewNop(), on))
		res, err := http.Get(srv.URL + "/debug/pprof/heap")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if want := map[bool]int{false: http.StatusNotFound, true: http.StatusOK}[on]; res.StatusCode != want || (on && len(b) == 0) {
			t.Errorf("pprof %v: heap profile answered %d (%d bytes), want %d", on, res.StatusCode, len(b), want)
		}
		res, err = http.Post(srv.URL+"/debug/pprof/symbol", "text/plain", strings.NewReader("0x1"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("pprof %v: POST answered %d, want 405", on, res.StatusCode)
		}
		srv.Close()
	}
}
