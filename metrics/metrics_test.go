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
