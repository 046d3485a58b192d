package caddymodule

import (
	"errors"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are authgate's Prometheus collectors in Caddy's registry:
// caddy_authgate_events_total{event,result},
// caddy_authgate_gate_decisions_total{decision} and
// caddy_authgate_hashing_jobs{state}. Labels have low cardinality only.
type metrics struct {
	events  *prometheus.CounterVec
	gate    *prometheus.CounterVec
	hashing *prometheus.GaugeVec
	// gateByDecision holds the gate counters resolved once: the gate
	// counts every request.
	gateByDecision sync.Map // string -> prometheus.Counter
}

func newMetrics(ctx caddy.Context) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "authgate", Name: "events_total",
			Help: "Audit events (sign-ins, codes sent, resets, breach hits, compromised set/unset, tasks) by result.",
		}, []string{"event", "result"}),
		gate: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "authgate", Name: "gate_decisions_total",
			Help: "Gate decisions for requests outside the prefix.",
		}, []string{"decision"}),
		hashing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "caddy", Subsystem: "authgate", Name: "hashing_jobs",
			Help: "Password hashing jobs running and queued.",
		}, []string{"state"}),
	}
	reg := ctx.GetMetricsRegistry()
	if reg == nil {
		return m
	}
	m.events = register(reg, m.events)
	m.gate = register(reg, m.gate)
	m.hashing = register(reg, m.hashing)
	return m
}

// register tolerates a collector registered by an earlier config load.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

func (m *metrics) Event(name, result string) { m.events.WithLabelValues(name, result).Inc() }
func (m *metrics) Gate(decision string) {
	c, ok := m.gateByDecision.Load(decision)
	if !ok {
		c, _ = m.gateByDecision.LoadOrStore(decision, m.gate.WithLabelValues(decision))
	}
	c.(prometheus.Counter).Inc()
}
func (m *metrics) Hashing(running, queued int) {
	m.hashing.WithLabelValues("running").Set(float64(running))
	m.hashing.WithLabelValues("queued").Set(float64(queued))
}
