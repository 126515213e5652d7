package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

// TestRecordingsShared: the parts that count recordings share one
// kiroku_recordings_total on the registry, whoever registers it first.
func TestRecordingsShared(t *testing.T) {
	m := New()
	Recordings(m.Registerer()).WithLabelValues("spooled").Inc()
	m.Stored(0)
	m.UploadFailed()
	body := scrape(t, m)
	for _, want := range []string{
		`kiroku_recordings_total{outcome="spooled"} 1`,
		`kiroku_recordings_total{outcome="stored"} 1`,
		`kiroku_recordings_total{outcome="failed"} 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestListen: the listen-in gauge follows starts and ends, every end
// reason is exported from the start (at 0), and refusals and dropped
// bytes add up.
func TestListen(t *testing.T) {
	m := New()
	body := scrape(t, m)
	for _, r := range ListenEndReasons {
		if want := `kiroku_listen_ended_total{reason="` + r + `"} 0`; !strings.Contains(body, want+"\n") {
			t.Errorf("fresh /metrics lacks %s", want)
		}
	}
	m.ListenStarted()
	m.ListenStarted()
	m.ListenEnded("slow_listener", 6400)
	m.ListenRefused()
	body = scrape(t, m)
	for _, want := range []string{
		`kiroku_listeners_active 1`,
		`kiroku_listen_ended_total{reason="slow_listener"} 1`,
		`kiroku_listen_ended_total{reason="call_ended"} 0`,
		`kiroku_listen_refused_total 1`,
		`kiroku_listen_dropped_bytes_total 6400`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
