package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kiroku-voice/kiroku/apiclient"
	"github.com/kiroku-voice/kiroku/audit"
	"github.com/kiroku-voice/kiroku/internal/config"
	"github.com/kiroku-voice/kiroku/metrics"
	"github.com/kiroku-voice/kiroku/storage/fs"
)

// newListenMetricsEnv is newListenEnv counting listen-ins in real
// metrics, with api.max_listeners at limit and opts applied.
func newListenMetricsEnv(t *testing.T, limit string, opts func(*Options)) (*env, *liveCalls, *metrics.Metrics) {
	calls := newLiveCalls(t)
	m := metrics.New()
	dir := t.TempDir()
	st, err := fs.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, dir, st, listenLimitConfig(t, limit), func(o *Options) {
		o.Calls, o.Listens = calls, m
		if opts != nil {
			opts(o)
		}
	})
	return e, calls, m
}

// listenLimitConfig is the clients' configuration with api.max_listeners
// at limit.
func listenLimitConfig(t *testing.T, limit string) *config.Config {
	t.Helper()
	y := strings.Replace(clientYAML(""), "api:\n", "api:\n  max_listeners: "+limit+"\n", 1)
	cfg, err := config.Parse([]byte(y), "clients.yaml", fstest.MapFS{}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// metricValue is the value of the series line of m that starts with
// series (name and labels), "" when there is none.
func metricValue(t *testing.T, m *metrics.Metrics, series string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

// TestListenLimit: past api.max_listeners streaming at once a listen-in
// is refused 503 with a JSON error naming the key, audited as denied
// with its reason, and counted (a call not recorded is still a 409); a listen-in that ends frees its place;
// a reload lowering the bound refuses new ones and leaves those
// streaming alone; the gauge and the ends by reason add up.
func TestListenLimit(t *testing.T) {
	e, calls, m := newListenMetricsEnv(t, "2", nil)
	open := func(ctx context.Context, reason string) *http.Response {
		t.Helper()
		res := listenReq(t, ctx, e, "acme-sup", acmeCall, reason)
		if res.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(res.Body)
			t.Fatalf("listen %q: got %d %s, want 200", reason, res.StatusCode, b)
		}
		if _, err := io.ReadFull(res.Body, make([]byte, 44+1000)); err != nil {
			t.Fatal(err)
		}
		return res
	}
	refused := func(reason string) {
		t.Helper()
		before := e.head()
		res := listenReq(t, t.Context(), e, "acme-sup", acmeCall, reason)
		b, _ := io.ReadAll(res.Body)
		var ae apiclient.Error
		if res.StatusCode != http.StatusServiceUnavailable || json.Unmarshal(b, &ae) != nil || !strings.Contains(ae.Error, "api.max_listeners") {
			t.Fatalf("listen past the bound: got %d %s, want 503 with an error naming api.max_listeners", res.StatusCode, b)
		}
		denied := entries(e, before, audit.ActionDenied)
		if len(denied) != 1 || denied[0].Reason != reason || denied[0].Actor != "acme-sup" || !strings.Contains(denied[0].Detail, "listen-in limit reached") {
			t.Errorf("got denied entries %+v, want one with the reason and the limit", denied)
		}
		if got := entries(e, before, audit.ActionListen); len(got) != 0 {
			t.Errorf("got listen entries %+v for a refusal", got)
		}
	}
	firstCtx, leave := context.WithCancel(t.Context())
	first := open(firstCtx, "coaching 1")
	second := open(t.Context(), "coaching 2")
	if v := metricValue(t, m, "kiroku_listeners_active"); v != "2" {
		t.Errorf("kiroku_listeners_active %s with two streaming, want 2", v)
	}
	refused("coaching 3")
	// At the bound, a call that cannot be heard is still answered as such.
	if res := listenReq(t, t.Context(), e, "sup", optedOut, "curious"); res.StatusCode != http.StatusConflict {
		t.Errorf("a call not recorded, at the bound: got %d, want 409", res.StatusCode)
	}
	if v := metricValue(t, m, "kiroku_listen_refused_total"); v != "1" {
		t.Errorf("kiroku_listen_refused_total %s, want 1", v)
	}

	before := e.head()
	leave()
	first.Body.Close()
	listenEnds(t, e, before, 1)
	third := open(t.Context(), "coaching 4")

	// A reload to one: the two streaming go on, a new one is refused.
	e.cfg.Store(listenLimitConfig(t, "1"))
	refused("coaching 5")
	for i, res := range []*http.Response{second, third} {
		if _, err := io.ReadFull(res.Body, make([]byte, 8000)); err != nil {
			t.Errorf("listen %d after the bound was lowered: %v, want it to go on", i+2, err)
		}
	}
	calls.end()
	for _, res := range []*http.Response{second, third} {
		io.Copy(io.Discard, res.Body)
	}
	waitUntil(t, "every end counted", func() bool { return metricValue(t, m, "kiroku_listeners_active") == "0" })
	for series, want := range map[string]string{
		`kiroku_listen_ended_total{reason="call_ended"}`:    "2",
		`kiroku_listen_ended_total{reason="listener_left"}`: "1",
		`kiroku_listen_ended_total{reason="slow_listener"}`: "0",
		`kiroku_listen_refused_total`:                       "2",
	} {
		if v := metricValue(t, m, series); v != want {
			t.Errorf("%s %s, want %s", series, v, want)
		}
	}
}

// smallBuffers shrinks each accepted connection's send buffer, so that
// a listener that stops reading blocks the server's writes within a
// second of audio rather than after the megabytes loopback would hold.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// TestListenSlowListener: a listener that stops reading is cut off once
// a chunk has waited ListenWriteWait, audited as "listener too slow" and
// counted as slow_listener, while another listener of the same call goes
// on hearing it with nothing dropped: the recorder never waited.
func TestListenSlowListener(t *testing.T) {
	e, calls, m := newListenMetricsEnv(t, "5", func(o *Options) { o.ListenWriteWait = 300 * time.Millisecond })
	srv := httptest.NewUnstartedServer(e.api)
	srv.Listener = smallBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)
	get := func(client *http.Client, reason string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/v1/calls/"+acmeCall+"/listen", nil)
		req.Header.Set("Authorization", "Bearer "+token("acme-sup"))
		req.Header.Set("X-Kiroku-Reason", reason)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		if res.StatusCode != http.StatusOK {
			t.Fatalf("listen %s: got %d", reason, res.StatusCode)
		}
		return res
	}
	// The slow one's receive buffer is small too, set before it connects.
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	slowClient := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	t.Cleanup(slowClient.CloseIdleConnections)
	before := e.head()
	fast := get(http.DefaultClient, "fast")
	get(slowClient, "slow") // never read: its buffers fill and the server's write waits

	// The fast listener reads all along; the slow one's end comes first.
	var heard atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := make([]byte, 4096)
		for {
			n, err := fast.Body.Read(b)
			heard.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	ends := listenEnds(t, e, before, 1) // the slow listener cut off
	var d struct {
		End     string `json:"end"`
		Dropped int64  `json:"dropped_bytes"`
	}
	json.Unmarshal([]byte(ends[0].Detail), &d)
	if ends[0].Reason != "slow" || d.End != "listener too slow" {
		t.Fatalf("first end %+v, want the slow listener's, too slow", ends[0])
	}
	if v := metricValue(t, m, `kiroku_listen_ended_total{reason="slow_listener"}`); v != "1" {
		t.Errorf("slow_listener ends %s, want 1", v)
	}
	// The fast listener hears a second more, then the call ends; it had
	// all of it.
	cut := heard.Load()
	waitUntil(t, "a second more for the fast listener", func() bool { return heard.Load() > cut+8000*4 })
	calls.end()
	<-done
	n := heard.Load()
	ends = listenEnds(t, e, before, 2)
	json.Unmarshal([]byte(ends[1].Detail), &d)
	if ends[1].Reason != "fast" || d.End != "call ended" || d.Dropped != 0 || n < 44+8000*4 {
		t.Errorf("fast listener's end %+v after %d bytes, want the call's end, nothing dropped, over a second heard", ends[1], n)
	}
	if v := metricValue(t, m, "kiroku_listeners_active"); v != "0" {
		t.Errorf("kiroku_listeners_active %s after both ended, want 0", v)
	}
}
