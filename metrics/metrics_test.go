package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestLimited: each refusal by the SIP rate limits is counted by scope.
func TestLimited(t *testing.T) {
	m := New()
	m.Limited("source")
	m.Limited("source")
	m.Limited("global")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`kiroku_sip_rate_limited_total{scope="source"} 2`,
		`kiroku_sip_rate_limited_total{scope="global"} 1`,
	} {
		if !strings.Contains(string(body), want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
