package trigger

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/api"
)

// brokerState is whether a trigger reaches its broker, kept beside the
// gauge so that a subscribed function's status (`ferry describe`) says so
// too: a function that gets no events is otherwise a mystery.
type brokerState struct {
	up     bool
	since  time.Time
	detail string // why it is down, or which broker answers
}

// SetConnected records whether a trigger (kafka, nats) reaches its broker;
// detail says why not, or where.
func (m *Metrics) SetConnected(source string, up bool, detail string) {
	if m == nil {
		return
	}
	v := 0.0
	if up {
		v = 1
	}
	m.connected.WithLabelValues(source).Set(v)
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.state[source]; ok && s.up == up {
		s.detail = detail
		m.state[source] = s
		return
	}
	m.state[source] = brokerState{up: up, since: time.Now(), detail: detail}
}

// Decorate adds a condition per broker-fed trigger the function subscribes
// to (NatsTrigger, KafkaTrigger): True while its broker answers, False
// with the reason while the trigger reconnects. Cron needs no broker.
func (m *Metrics) Decorate(_ context.Context, st *api.FunctionStatus) {
	if m == nil {
		return
	}
	f, err := parseFunction(st.Name, st.Namespace, st.Annotations)
	if err != nil || len(f.Topics) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, src := range slices.Sorted(maps.Keys(m.state)) {
		if src == "kafka" && !slices.ContainsFunc(f.Topics, KafkaTopic) {
			continue // only NATS wildcards: the Kafka trigger ignores them
		}
		s := m.state[src]
		c := api.Condition{Type: strings.ToUpper(src[:1]) + src[1:] + "Trigger", Status: "True", Reason: "BrokerReachable",
			Message: s.detail, Time: s.since}
		if !s.up {
			c.Status, c.Reason = "False", "BrokerDown"
		}
		st.Conditions = append(st.Conditions, c)
	}
}

// KafkaTopic reports whether a topic entry names a Kafka topic (not a
// NATS wildcard).
func KafkaTopic(t string) bool { return !strings.ContainsAny(t, "*>") }
