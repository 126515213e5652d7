// Package metrics holds kirokud's Prometheus metrics. Parts report to it
// through small hooks (sip.Observer, the uploader's callbacks); it must
// not reach into them.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kiroku-voice/kiroku/sip"
)

// Metrics is kirokud's registry and instruments.
type Metrics struct {
	reg *prometheus.Registry

	calls        *prometheus.CounterVec
	sipResponses *prometheus.CounterVec
	rtpPackets   *prometheus.CounterVec
	rtpLost      *prometheus.CounterVec
	recordings   *prometheus.CounterVec
	uploadTime   prometheus.Histogram
	reloads      *prometheus.CounterVec
	reloadTime   prometheus.Gauge
	httpRequests *prometheus.CounterVec
	purgeRuns    *prometheus.CounterVec
	purgeDeleted prometheus.Counter
	purgeFailed  prometheus.Counter
	purgeHeld    prometheus.Gauge
	purgeLast    prometheus.Gauge
	rateLimited  *prometheus.CounterVec
	sipAuth      *prometheus.CounterVec
}

// New registers every instrument (and the Go and process collectors).
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.calls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_calls_total",
		Help: "Calls ended, by line and consent decision."}, []string{"line", "decision"})
	m.sipResponses = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_sip_responses_total",
		Help: "SIP responses sent by kirokud, by request method and status code."}, []string{"method", "code"})
	m.rtpPackets = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_rtp_packets_total",
		Help: "RTP packets of ended calls by leg and what happened to them (received, sent, rejected; unauthenticated: SRTP packets that failed authentication or replay checks, also counted as rejected)."}, []string{"leg", "outcome"})
	m.rtpLost = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_rtp_packets_lost_total",
		Help: "RTP packets missing by sequence number in recordings, by leg."}, []string{"leg"})
	m.recordings = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_recordings_total",
		Help: "Recordings by outcome: spooled, not_recorded, stored, failed (upload attempts that failed)."}, []string{"outcome"})
	m.uploadTime = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kiroku_upload_duration_seconds",
		Help: "Time from a call's end to its recording being stored.", Buckets: prometheus.ExponentialBuckets(0.05, 2, 14)})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_config_reloads_total",
		Help: "Configuration reloads by result."}, []string{"result"})
	m.reloadTime = prometheus.NewGauge(prometheus.GaugeOpts{Name: "kiroku_config_last_reload_success_timestamp_seconds",
		Help: "When the configuration was last loaded successfully."})
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_http_requests_total",
		Help: "HTTP API requests by route and status code."}, []string{"route", "code"})
	m.purgeRuns = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_purge_runs_total",
		Help: "Retention purge runs by result (ok, error, skipped: the previous run was still going, elsewhere: another node sharing the catalog held the purge lock)."}, []string{"result"})
	m.purgeDeleted = prometheus.NewCounter(prometheus.CounterOpts{Name: "kiroku_purge_deleted_total",
		Help: "Recordings deleted because their retention ended."})
	m.purgeFailed = prometheus.NewCounter(prometheus.CounterOpts{Name: "kiroku_purge_failed_total",
		Help: "Recordings past retention whose deletion failed (retried next run)."})
	m.purgeHeld = prometheus.NewGauge(prometheus.GaugeOpts{Name: "kiroku_purge_held",
		Help: "Recordings past retention kept by a legal hold, at the last run."})
	m.purgeLast = prometheus.NewGauge(prometheus.GaugeOpts{Name: "kiroku_purge_last_duration_seconds",
		Help: "How long the last purge run took."})
	for _, c := range []prometheus.Collector{m.purgeRuns, m.purgeDeleted, m.purgeFailed, m.purgeHeld, m.purgeLast, m.calls, m.sipResponses, m.rtpPackets, m.rtpLost, m.recordings,
		m.uploadTime, m.reloads, m.reloadTime, m.httpRequests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_sip_rate_limited_total",
		Help: "SIP requests refused by sip.rate_limit: INVITEs over the per-source or global limit, stateless 400s withheld from a source over its limit (malformed)."}, []string{"scope"})
	f(m.rateLimited)
	m.sipAuth = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_sip_auth_total",
		Help: "Digest authentication of INVITEs by outcome: challenged, accepted, failed, stale (expired nonce), replayed (credentials used before), locked_out."}, []string{"outcome"})
	f(m.sipAuth)
	m.reloadTime.SetToCurrentTime()
	return m
}

// Gauge registers a gauge read from f at each scrape.
func (m *Metrics) Gauge(name, help string, f func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// Counter registers a counter read from f at each scrape (for counts a
// part keeps itself, such as audit entries).
func (m *Metrics) Counter(name, help string, f func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Responded counts a SIP response (sip.Observer).
func (m *Metrics) Responded(method string, code int) {
	m.sipResponses.WithLabelValues(method, strconv.Itoa(code)).Inc()
}

// CallEnded counts an ended call and its media (sip.Observer).
func (m *Metrics) CallEnded(s sip.CallSummary) {
	m.calls.WithLabelValues(s.Line, s.Decision).Inc()
	for i, leg := range []string{"caller", "agent"} {
		st := s.RTP[i]
		m.rtpPackets.WithLabelValues(leg, "received").Add(float64(st.Received))
		m.rtpPackets.WithLabelValues(leg, "sent").Add(float64(st.Sent))
		m.rtpPackets.WithLabelValues(leg, "rejected").Add(float64(st.Rejected))
		m.rtpPackets.WithLabelValues(leg, "unauthenticated").Add(float64(st.Unauthenticated))
		m.rtpLost.WithLabelValues(leg).Add(float64(s.Lost[i]))
	}
	if s.Recorded {
		m.recordings.WithLabelValues("spooled").Inc()
	} else {
		m.recordings.WithLabelValues("not_recorded").Inc()
	}
}

// Limited counts a request refused by the SIP rate limits (sip.Observer).
func (m *Metrics) Limited(scope string) { m.rateLimited.WithLabelValues(scope).Inc() }

// Authenticated counts an outcome of SIP digest authentication (sip.Observer).
func (m *Metrics) Authenticated(outcome string) { m.sipAuth.WithLabelValues(outcome).Inc() }

// Stored counts a recording stored, latency after its call ended.
func (m *Metrics) Stored(latency time.Duration) {
	m.recordings.WithLabelValues("stored").Inc()
	m.uploadTime.Observe(latency.Seconds())
}

// UploadFailed counts a failed upload attempt.
func (m *Metrics) UploadFailed() { m.recordings.WithLabelValues("failed").Inc() }

// Reloaded counts a reload attempt.
func (m *Metrics) Reloaded(ok bool) {
	if ok {
		m.reloads.WithLabelValues("success").Inc()
		m.reloadTime.SetToCurrentTime()
		return
	}
	m.reloads.WithLabelValues("failure").Inc()
}

// HTTP counts an API request.
func (m *Metrics) HTTP(route string, code int) {
	m.httpRequests.WithLabelValues(route, strconv.Itoa(code)).Inc()
}

// Purged reports one purge run.
func (m *Metrics) Purged(deleted, held, failed int, took time.Duration, ok bool) {
	if ok {
		m.purgeRuns.WithLabelValues("ok").Inc()
	} else {
		m.purgeRuns.WithLabelValues("error").Inc()
	}
	m.purgeDeleted.Add(float64(deleted))
	m.purgeFailed.Add(float64(failed))
	m.purgeHeld.Set(float64(held))
	m.purgeLast.Set(took.Seconds())
}

// PurgeSkipped counts a run skipped because the previous one still ran.
func (m *Metrics) PurgeSkipped() { m.purgeRuns.WithLabelValues("skipped").Inc() }

// PurgeElsewhere counts a run skipped because another node sharing the
// catalog held the purge lock.
func (m *Metrics) PurgeElsewhere() { m.purgeRuns.WithLabelValues("elsewhere").Inc() }
