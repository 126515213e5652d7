// Package metrics holds kirokud's Prometheus registry, the daemon-wide
// instruments (uploads, reloads, the API and its listen-ins, the purge)
// and the collectors that several parts feed (Recordings). A part with instruments of its own
// registers them on the registry itself (sip.NewMetrics), as Alertmanager's
// packages do with newMetrics(reg).
//
// It must not import the project's packages above it: they import it.
// It must not import sip, media, spool, catalog, audit, storage/... or
// httpapi.
package metrics

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is kirokud's registry and instruments.
type Metrics struct {
	reg *prometheus.Registry

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
	listen       *listen
}

// New registers every instrument (and the Go and process collectors).
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.recordings = Recordings(m.reg)
	m.listen = newListen(m.reg)
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
	for _, c := range []prometheus.Collector{m.purgeRuns, m.purgeDeleted, m.purgeFailed, m.purgeHeld, m.purgeLast,
		m.uploadTime, m.reloads, m.reloadTime, m.httpRequests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	m.reloadTime.SetToCurrentTime()
	return m
}

// Registerer is the registry, for parts that register their own
// instruments.
func (m *Metrics) Registerer() prometheus.Registerer { return m.reg }

// Recordings returns kiroku_recordings_total as registered on reg,
// registering it on first use: the SIP side counts spooled and
// not_recorded, the uploader's hooks stored and failed.
func Recordings(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_recordings_total",
		Help: "Recordings by outcome: spooled, not_recorded (opted out, a spool error), disk_full (answered but not recorded: the spool disk at its reserve), stored, failed (upload attempts that failed)."}, []string{"outcome"})
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			return are.ExistingCollector.(*prometheus.CounterVec)
		}
		panic(err) // a programming error, as MustRegister would say
	}
	return c
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
