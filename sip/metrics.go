package sip

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kiroku-voice/kiroku/metrics"
)

// Metrics are the SIP side's Prometheus instruments. It is the Observer
// the daemon gives the server; NewMetrics registers them.
type Metrics struct {
	calls        *prometheus.CounterVec
	sipResponses *prometheus.CounterVec
	rtpPackets   *prometheus.CounterVec
	rtpLost      *prometheus.CounterVec
	recordings   *prometheus.CounterVec
	rateLimited  *prometheus.CounterVec
	sipAuth      *prometheus.CounterVec
	downUp       *prometheus.GaugeVec
	downChanges  *prometheus.CounterVec
	attempts     *prometheus.CounterVec
	rtpForeign   *prometheus.CounterVec
	silent       *prometheus.CounterVec
	truncated    *prometheus.CounterVec
	overload     *prometheus.CounterVec
	setupStage   *prometheus.HistogramVec
	schedWait    *prometheus.GaugeVec
	throttled    prometheus.Gauge

	mu      sync.Mutex
	upState map[string]bool // last state told per downstream
}

// NewMetrics registers the SIP side's instruments on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_calls_total",
			Help: "Calls ended, by line and consent decision."}, []string{"line", "decision"}),
		sipResponses: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_sip_responses_total",
			Help: "SIP responses sent by kirokud, by request method and status code."}, []string{"method", "code"}),
		rtpPackets: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_rtp_packets_total",
			Help: "RTP packets of ended calls by leg and what happened to them (received, sent, rejected; unauthenticated: SRTP packets that failed authentication or replay checks, also counted as rejected)."}, []string{"leg", "outcome"}),
		rtpLost: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_rtp_packets_lost_total",
			Help: "RTP packets missing by sequence number in recordings, by leg."}, []string{"leg"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_sip_rate_limited_total",
			Help: "SIP requests refused by sip.rate_limit: INVITEs over the per-source or global limit, stateless 400s withheld from a source over its limit (malformed)."}, []string{"scope"}),
		sipAuth: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_sip_auth_total",
			Help: "Digest authentication of INVITEs by outcome: challenged, accepted, failed, stale (expired nonce), replayed (credentials used before), locked_out."}, []string{"outcome"}),
		downUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kiroku_downstream_up",
			Help: "1 while a downstream (agent platform) is marked up by its health checks, 0 while down."}, []string{"downstream"}),
		downChanges: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_downstream_state_changes_total",
			Help: "Downstreams marked up or down by their health checks, by downstream and new state."}, []string{"downstream", "state"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_downstream_attempts_total",
			Help: "Downstreams tried or skipped for calls, by outcome: answered, no-response, no-answer, busy, failed, skipped (Retry-After), cancelled (the caller left)."}, []string{"outcome"}),
		rtpForeign: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_rtp_foreign_source_total",
			Help: "Legs of ended calls whose RTP kept coming from an address other than their SDP's, by leg and media latching (strict: dropped; learn: taken)."}, []string{"leg", "latching"}),
		silent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_recording_silent_channels_total",
			Help: "Recordings with a channel that received no RTP packet while recording, by channel (caller, agent)."}, []string{"channel"}),
		overload: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_sip_overloaded_total",
			Help: "INVITEs refused by sip.overload (too many calls being set up, or one waiting too long), by action: reject (503 Overloaded with Retry-After) or drop (no answer)."}, []string{"action"}),
		truncated: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_recordings_truncated_total",
			Help: "Recordings whose audio stopped before the call ended, by reason (disk_full: the spool disk reached half its reserve, or refused a write); what was written is kept and stored."}, []string{"reason"}),
		setupStage: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kiroku_sip_setup_stage_seconds",
			Help:    "kirokud's own part of call set-up, by stage: answer (the INVITE received to the answer sent to the caller), agent (the consent decided to the INVITE sent to the agent platform). What sip.overload bounds; waiting on the caller, the notice or the agent platform is not in it.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}}, []string{"stage"}),
		schedWait: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kiroku_sched_wait_seconds",
			Help: "How long kirokud's runnable goroutines waited for a CPU over the last second, by quantile (0.5, 0.99): what sip.overload.max_sched_wait bounds (the median). High while the node's CPU is used up."}, []string{"quantile"}),
		throttled: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kiroku_cpu_throttled_ratio",
			Help: "Share of the last second's CFS periods in which kirokud's cgroup ran out of its CPU quota (0 without a quota): what sip.overload.max_cpu_throttled_percent bounds (as a share)."}),
		recordings: metrics.Recordings(reg),
		upState:    map[string]bool{},
	}
	reg.MustRegister(m.calls, m.sipResponses, m.rtpPackets, m.rtpLost, m.rateLimited, m.sipAuth, m.downUp, m.downChanges, m.attempts,
		m.rtpForeign, m.silent, m.overload, m.truncated, m.setupStage, m.schedWait, m.throttled)
	m.truncated.WithLabelValues("disk_full") // 0 from the start, for alerts on its increase
	return m
}

// SchedLatency sets the scheduler's waits and the CPU quota's
// throttling of the last second.
func (m *Metrics) SchedLatency(p50, p99 time.Duration, throttled float64) {
	m.schedWait.WithLabelValues("0.5").Set(p50.Seconds())
	m.schedWait.WithLabelValues("0.99").Set(p99.Seconds())
	m.throttled.Set(throttled)
}

// Overloaded counts an INVITE refused by sip.overload.
func (m *Metrics) Overloaded(action string) { m.overload.WithLabelValues(action).Inc() }

// SetupStage observes how long a stage of kirokud's own set-up work took.
func (m *Metrics) SetupStage(stage string, d time.Duration) {
	m.setupStage.WithLabelValues(stage).Observe(d.Seconds())
}

// Responded counts a SIP response.
func (m *Metrics) Responded(method string, code int) {
	m.sipResponses.WithLabelValues(method, strconv.Itoa(code)).Inc()
}

// CallEnded counts an ended call and its media.
func (m *Metrics) CallEnded(s CallSummary) {
	m.calls.WithLabelValues(s.Line, s.Decision).Inc()
	for i, leg := range []string{"caller", "agent"} {
		st := s.RTP[i]
		m.rtpPackets.WithLabelValues(leg, "received").Add(float64(st.Received))
		m.rtpPackets.WithLabelValues(leg, "sent").Add(float64(st.Sent))
		m.rtpPackets.WithLabelValues(leg, "rejected").Add(float64(st.Rejected))
		m.rtpPackets.WithLabelValues(leg, "unauthenticated").Add(float64(st.Unauthenticated))
		m.rtpLost.WithLabelValues(leg).Add(float64(s.Lost[i]))
		if s.Foreign[i] {
			m.rtpForeign.WithLabelValues(leg, s.Latching[i]).Inc()
		}
	}
	for _, ch := range s.Silent {
		m.silent.WithLabelValues(ch).Inc()
	}
	if s.Truncated != "" {
		m.truncated.WithLabelValues(strings.ReplaceAll(s.Truncated, " ", "_")).Inc()
	}
	switch {
	case s.Recorded:
		m.recordings.WithLabelValues("spooled").Inc()
	case s.DiskFull:
		// Apart from opt-outs: an answered call the recorder could not
		// keep, which an operator must hear of.
		m.recordings.WithLabelValues("disk_full").Inc()
	default:
		m.recordings.WithLabelValues("not_recorded").Inc()
	}
}

// Limited counts a request refused by the SIP rate limits.
func (m *Metrics) Limited(scope string) { m.rateLimited.WithLabelValues(scope).Inc() }

// Authenticated counts an outcome of SIP digest authentication.
func (m *Metrics) Authenticated(outcome string) { m.sipAuth.WithLabelValues(outcome).Inc() }

// DownstreamState sets a downstream's up gauge and counts the change.
func (m *Metrics) DownstreamState(uri string, up bool) {
	v, state := 0.0, "down"
	if up {
		v, state = 1, "up"
	}
	m.mu.Lock()
	prev, seen := m.upState[uri]
	m.upState[uri] = up
	m.mu.Unlock()
	m.downUp.WithLabelValues(uri).Set(v)
	if seen && prev != up {
		m.downChanges.WithLabelValues(uri, state).Inc()
	}
}

// DownstreamGone drops the series of a downstream no longer configured.
func (m *Metrics) DownstreamGone(uri string) {
	m.mu.Lock()
	delete(m.upState, uri)
	m.mu.Unlock()
	m.downUp.DeleteLabelValues(uri)
}

// DownstreamAttempt counts one downstream attempt by outcome.
func (m *Metrics) DownstreamAttempt(outcome string) { m.attempts.WithLabelValues(outcome).Inc() }
