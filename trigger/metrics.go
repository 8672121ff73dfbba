package trigger

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the triggers' Prometheus series. A nil *Metrics counts nothing.
type Metrics struct {
	calls     *prometheus.CounterVec
	connected *prometheus.GaugeVec

	mu    sync.Mutex
	state map[string]brokerState // by trigger, see health.go
}

// NewMetrics returns the collectors; register them with Register.
func NewMetrics() *Metrics {
	return &Metrics{
		state: map[string]brokerState{},
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ferry_trigger_calls_total",
			Help: "Events a trigger delivered to a function, by outcome: ok, error (the function answered 4xx), failed (handed to the async queue), queued, dropped.",
		}, []string{"trigger", "function_name", "outcome"}),
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ferry_trigger_connected",
			Help: "1 while a trigger reaches its broker (Kafka, NATS), 0 while it is down and the trigger reconnects.",
		}, []string{"trigger"}),
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.calls.Describe(ch)
	m.connected.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.calls.Collect(ch)
	m.connected.Collect(ch)
}

func (m *Metrics) count(source string, fn *Function, outcome string) {
	if m != nil {
		m.calls.WithLabelValues(source, fn.Key(), outcome).Inc()
	}
}
