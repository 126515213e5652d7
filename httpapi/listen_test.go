package httpapi

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/media"
	"github.com/kiroku-voice/kiroku/sip"
	"github.com/kiroku-voice/kiroku/storage/fs"
)

// Calls of the listen tests: acme's is recorded, the one of no client
// was opted out of.
const (
	acmeCall   = "0192f3e4-5b6c-7d8e-9fa0-000000000001"
	optedOut   = "0192f3e4-5b6c-7d8e-9fa0-000000000002"
	unknownOne = "0192f3e4-5b6c-7d8e-9fa0-000000000003"
)

// liveCalls is a SIP server's calls in progress, acme's with a real
// recorder fed a tone by a sender of its own.
type liveCalls struct {
	rec  *media.Recorder
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func newLiveCalls(t *testing.T) *liveCalls {
	rec, err := media.NewRecorder(filepath.Join(t.TempDir(), "live.wav"), time.Now(), media.NarrowbandRate)
	if err != nil {
		t.Fatal(err)
	}
	c := &liveCalls{rec: rec, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		payload := bytes.Repeat([]byte{0x80, 0x00}, 80) // µ-law extremes: loud on the caller's side
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for i := 0; ; i++ {
			select {
			case <-c.stop:
				return
			case <-tk.C:
				rec.Audio(0, media.PCMU, uint16(i), uint32(160*i), 7, payload)
			}
		}
	}()
	t.Cleanup(c.end)
	return c
}

// end ends acme's call: its recording closes.
func (c *liveCalls) end() {
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		c.rec.Close(time.Now())
	})
}

func (c *liveCalls) Calls() []sip.CallInfo {
	return []sip.CallInfo{
		{ID: acmeCall, Line: "0120000001", Purpose: "cs-quality", Client: "acme", Caller: "0312****78",
			Decision: "notified", Phase: "bridged", Recording: "recording", AgentID: "agent-7", StartedAt: time.Now()},
		{ID: optedOut, Line: "0120000002", Purpose: "cs-quality", Caller: "0312****79",
			Decision: "opted-out", Phase: "bridged", Recording: "not-recorded", StartedAt: time.Now()},
	}
}
func (c *liveCalls) Pause(id, by string) error  { return nil }
func (c *liveCalls) Resume(id, by string) error { return nil }
func (c *liveCalls) Listen(id string) (*media.Listener, error) {
	switch id {
	case acmeCall:
		l, err := c.rec.Listen()
		if errors.Is(err, media.ErrRecordingEnded) {
			return nil, sip.ErrEnded
		}
		return l, err
	case optedOut:
		return nil, sip.ErrNotRecording
	}
	return nil, sip.ErrNoCall
}

func newListenEnv(t *testing.T) (*env, *liveCalls) {
	calls := newLiveCalls(t)
	dir := t.TempDir()
	st, err := fs.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	return newEnvWith(t, dir, st, clientConfig(t, ""), func(o *Options) { o.Calls = calls }), calls
}

// listenReq starts a listen as name with reason (percent-encoded as a
// page sends it).
func listenReq(t *testing.T, ctx context.Context, e *env, name, id, reason string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/api/v1/calls/"+id+"/listen", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token(name))
	if reason != "" {
		req.Header.Set("X-Kiroku-Reason", strings.ReplaceAll(reason, " ", "%20"))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// entries returns the audit entries after seq of action.
func entries(e *env, after int64, action audit.Action) []audit.Entry {
	var out []audit.Entry
	for _, en := range e.audit(after) {
		if en.Action == action {
			out = append(out, en)
		}
	}
	return out
}

// TestListenStreams: a supervisor of acme listening to acme's call gets
// a WAV header (8 kHz, two channels) then the caller's audio as the
// recording gets it; the stream ends when the call ends, and the audit
// has the start with the reason and the end with the bytes sent.
func TestListenStreams(t *testing.T) {
	e, calls := newListenEnv(t)
	before := e.head()
	res := listenReq(t, t.Context(), e, "acme-sup", acmeCall, "quality check")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "audio/wav" {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("got %d %s %s, want 200 audio/wav", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	hdr := make([]byte, 44)
	if _, err := io.ReadFull(res.Body, hdr); err != nil {
		t.Fatal(err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" || binary.LittleEndian.Uint16(hdr[22:]) != 2 ||
		binary.LittleEndian.Uint32(hdr[24:]) != 8000 || binary.LittleEndian.Uint32(hdr[40:]) != 0xffffffff {
		t.Fatalf("got header % x, want a streamed 8 kHz stereo WAV header", hdr)
	}
	if got := entries(e, before, audit.ActionListen); len(got) != 1 || got[0].Reason != "quality check" || got[0].Actor != "acme-sup" || got[0].Target != acmeCall {
		t.Fatalf("got listen entries %+v, want one by acme-sup with the reason", got)
	}
	// A second of audio, then the call ends.
	pcm := make([]byte, 8000*4)
	if _, err := io.ReadFull(res.Body, pcm); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(pcm, func(b byte) bool { return b != 0 }) {
		t.Error("a second of the stream is all silence, want the caller's audio")
	}
	calls.end()
	rest, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("the stream ended with %v, want a clean end with the call", err)
	}
	sent := int64(44 + len(pcm) + len(rest))
	end := listenEnds(t, e, before, 1)
	var d struct {
		Bytes   int64   `json:"bytes"`
		Seconds float64 `json:"seconds"`
		End     string  `json:"end"`
	}
	json.Unmarshal([]byte(end[0].Detail), &d)
	if end[0].Reason != "quality check" || d.Bytes != sent || d.End != "call ended" || d.Seconds <= 0 {
		t.Errorf("got end entry %+v, want the reason, %d bytes, end \"call ended\"", end[0], sent)
	}
}

// TestListenLeaves: a listener that goes away ends its listening; the
// audit says so.
func TestListenLeaves(t *testing.T) {
	e, _ := newListenEnv(t)
	before := e.head()
	ctx, cancel := context.WithCancel(t.Context())
	res := listenReq(t, ctx, e, "acme-sup", acmeCall, "coaching")
	if _, err := io.ReadFull(res.Body, make([]byte, 44+1000)); err != nil {
		t.Fatal(err)
	}
	cancel()
	waitUntil(t, "the listen's end in the audit log", func() bool {
		end := entries(e, before, audit.ActionListenEnd)
		return len(end) == 1 && strings.Contains(end[0].Detail, `"end":"listener`)
	})
}

// TestListenRefused: no reason, a reason too long, a call outside the
// token's view, a role that may not listen, an unknown call and a call
// not recorded are each refused with their own answer, no audio, and —
// but for the malformed requests — a denied entry with the reason.
func TestListenRefused(t *testing.T) {
	e, _ := newListenEnv(t)
	for _, c := range []struct {
		name, token, id, reason string
		want                    int
		audited                 bool
	}{
		{"no reason", "acme-sup", acmeCall, "", http.StatusBadRequest, false},
		{"reason too long", "acme-sup", acmeCall, strings.Repeat("x", 501), http.StatusBadRequest, false},
		{"another client's supervisor", "globex-sup", acmeCall, "curious", http.StatusNotFound, true},
		{"unscoped supervisor, a client's call", "sup", acmeCall, "curious", http.StatusNotFound, true},
		{"acme's admin", "acme-adm", acmeCall, "curious", http.StatusForbidden, true},
		{"acme's privacy officer", "acme-po", acmeCall, "curious", http.StatusForbidden, true},
		{"unknown call", "acme-sup", unknownOne, "curious", http.StatusNotFound, true},
		{"caller opted out", "sup", optedOut, "curious", http.StatusConflict, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := e.head()
			res := listenReq(t, t.Context(), e, c.token, c.id, c.reason)
			if res.StatusCode != c.want {
				t.Fatalf("got %d %s, want %d", res.StatusCode, res.Header.Get("Content-Type"), c.want)
			}
			b, _ := io.ReadAll(res.Body)
			var ae apiclient.Error
			if res.StatusCode != c.want || json.Unmarshal(b, &ae) != nil || ae.Error == "" {
				t.Fatalf("got %d %s, want %d with an error", res.StatusCode, b, c.want)
			}
			if got := entries(e, before, audit.ActionListen); len(got) != 0 {
				t.Errorf("got listen entries %+v for a refusal", got)
			}
			denied := entries(e, before, audit.ActionDenied)
			if c.audited && (len(denied) != 1 || denied[0].Reason != c.reason || denied[0].Target != c.id) {
				t.Errorf("got denied entries %+v, want one with the reason and the call", denied)
			}
			if !c.audited && len(denied) != 0 {
				t.Errorf("got denied entries %+v for a malformed request", denied)
			}
		})
	}
}

// TestCallsListenable: the calls list says which calls the token may
// listen to.
func TestCallsListenable(t *testing.T) {
	e, _ := newListenEnv(t)
	for _, c := range []struct {
		token string
		want  map[string]bool
	}{
		{"acme-sup", map[string]bool{acmeCall: true}},
		{"acme-adm", map[string]bool{acmeCall: false}},
		{"sup", map[string]bool{optedOut: false}},
	} {
		var list apiclient.CallList
		e.get(c.token, "/api/v1/calls", http.StatusOK, &list)
		got := map[string]bool{}
		for _, cl := range list.Calls {
			got[cl.ID] = cl.Listenable
			if cl.ID == acmeCall && cl.AgentID != "agent-7" {
				t.Errorf("%s: got agent %q, want agent-7", c.token, cl.AgentID)
			}
		}
		if !mapsEqual(got, c.want) {
			t.Errorf("%s: got listenable %v, want %v", c.token, got, c.want)
		}
	}
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// listenEnds waits for n listen-end entries after seq and returns them.
func listenEnds(t *testing.T, e *env, after int64, n int) []audit.Entry {
	t.Helper()
	var got []audit.Entry
	waitUntil(t, fmt.Sprintf("%d listen-end entries", n), func() bool {
		got = entries(e, after, audit.ActionListenEnd)
		return len(got) >= n
	})
	return got
}

// waitUntil waits for cond, failing after 10 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestListenAccessWithdrawn: a reload that moves the token to another
// client ends its listening, audited with why.
func TestListenAccessWithdrawn(t *testing.T) {
	e, _ := newListenEnv(t)
	before := e.head()
	res := listenReq(t, t.Context(), e, "acme-sup", acmeCall, "coaching")
	if _, err := io.ReadFull(res.Body, make([]byte, 44+1000)); err != nil {
		t.Fatal(err)
	}
	moved := strings.Replace(clientYAML(""), `name: acme-sup, roles: ["supervisor"], clients: ["acme"]`, `name: acme-sup, roles: ["supervisor"], clients: ["globex"]`, 1)
	cfg, err := config.Parse([]byte(moved), "clients.yaml", fstest.MapFS{}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e.cfg.Store(cfg)
	if _, err := io.ReadAll(res.Body); err != nil {
		t.Fatalf("the stream ended with %v, want a clean end", err)
	}
	end := entries(e, before, audit.ActionListenEnd)
	if len(end) != 1 || !strings.Contains(end[0].Detail, `"end":"access withdrawn: line run for client \"acme\"`) {
		t.Errorf("got end entries %+v, want one saying the access was withdrawn", end)
	}
}
