package metrics

import "github.com/prometheus/client_golang/prometheus"

// ListenEndReasons are the values of kiroku_listen_ended_total's reason
// label: the call ended; the listener left (closed the stream, or its
// connection failed); it was too slow (a chunk of audio could not be
// written to it in time: it is cut off, as the recorder never waits for
// it); a reload took its access away.
var ListenEndReasons = []string{"call_ended", "listener_left", "slow_listener", "access_withdrawn"}

// listen are the listen-in instruments.
type listen struct {
	active  prometheus.Gauge
	ended   *prometheus.CounterVec
	refused prometheus.Counter
	dropped prometheus.Counter
}

func newListen(reg prometheus.Registerer) *listen {
	l := &listen{
		active: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kiroku_listeners_active",
			Help: "Listen-ins streaming a call's audio now (bounded by api.max_listeners)."}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiroku_listen_ended_total",
			Help: "Listen-ins ended, by reason: call_ended, listener_left (closed or its connection failed), slow_listener (a write took longer than its limit: cut off), access_withdrawn (a reload took the token's access away)."}, []string{"reason"}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "kiroku_listen_refused_total",
			Help: "Listen-ins refused with 503 because api.max_listeners were already streaming."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "kiroku_listen_dropped_bytes_total",
			Help: "Audio bytes of ended listen-ins that the recorder dropped because the listener had fallen behind (the recording itself lost none)."}),
	}
	for _, r := range ListenEndReasons {
		l.ended.WithLabelValues(r)
	}
	reg.MustRegister(l.active, l.ended, l.refused, l.dropped)
	return l
}

// ListenStarted counts a listen-in that began streaming.
func (m *Metrics) ListenStarted() { m.listen.active.Inc() }

// ListenEnded counts a listen-in's end, with why (one of
// ListenEndReasons) and the bytes dropped for it.
func (m *Metrics) ListenEnded(reason string, droppedBytes int64) {
	m.listen.active.Dec()
	m.listen.ended.WithLabelValues(reason).Inc()
	m.listen.dropped.Add(float64(droppedBytes))
}

// ListenRefused counts a listen-in refused at api.max_listeners.
func (m *Metrics) ListenRefused() { m.listen.refused.Inc() }
