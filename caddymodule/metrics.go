package caddymodule

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/store/guard"
)

// metrics are authgate's Prometheus collectors:
// caddy_authgate_events_total{event,result},
// caddy_authgate_gate_decisions_total{decision},
// caddy_authgate_hashing_jobs{state},
// caddy_authgate_store_call_seconds{op} (histogram),
// caddy_authgate_store_errors_total{kind} and
// caddy_authgate_store_breaker_state (0 closed, 1 half-open, 2 open),
// caddy_authgate_deliveries_in_flight and
// caddy_authgate_delivery_failures_total{channel}.
// Labels have low cardinality only.
//
// Caddy gives every config load a new registry. The collectors are made
// once per process and registered into each new registry, so counters keep
// counting across `caddy reload` (as Caddy's own HTTP metrics do) instead
// of starting at zero.
type metrics struct {
	events       *prometheus.CounterVec
	gate         *prometheus.CounterVec
	hashing      *prometheus.GaugeVec
	storeCalls   *prometheus.HistogramVec
	storeErrors  *prometheus.CounterVec
	breakerState prometheus.Gauge
	deliveries   prometheus.Gauge
	sendFailures *prometheus.CounterVec
	// gateByDecision holds the gate counters resolved once: the gate
	// counts every request.
	gateByDecision sync.Map // string -> prometheus.Counter
}

// processMetrics are the collectors of this process, made on first use.
var processMetrics = sync.OnceValue(func() *metrics {
	return &metrics{
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
		storeCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "caddy", Subsystem: "authgate", Name: "store_call_seconds",
			Help:    "Latency of store calls that reached the backend, by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"op"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "authgate", Name: "store_errors_total",
			Help: "Store calls that failed, by kind (deadline, unavailable, other), and breaker openings (breaker_open).",
		}, []string{"kind"}),
		deliveries: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "caddy", Subsystem: "authgate", Name: "deliveries_in_flight",
			Help: "Background deliveries (codes, notices) running now; at the pool's size new ones are dropped.",
		}),
		sendFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "authgate", Name: "delivery_failures_total",
			Help: "Messages the email or SMS sender failed to send, by channel.",
		}, []string{"channel"}),
		breakerState: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "caddy", Subsystem: "authgate", Name: "store_breaker_state",
			Help: "The store circuit breaker: 0 closed, 1 half-open, 2 open.",
		}),
	}
})

// newMetrics registers the process's collectors in this config's registry.
func newMetrics(ctx caddy.Context) *metrics {
	m := processMetrics()
	if reg := ctx.GetMetricsRegistry(); reg != nil {
		for _, c := range []prometheus.Collector{m.events, m.gate, m.hashing, m.storeCalls, m.storeErrors, m.breakerState, m.deliveries, m.sendFailures} {
			register(reg, c)
		}
	}
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

// storeCall observes one store call (guard.Options.Observe).
func (m *metrics) storeCall(op string, d time.Duration, kind string) {
	m.storeCalls.WithLabelValues(op).Observe(d.Seconds())
	if kind != "" {
		m.storeErrors.WithLabelValues(kind).Inc()
	}
}

// breaker records the store breaker's state (guard.Options.OnStateChange).
func (m *metrics) breaker(s guard.State) {
	switch s {
	case guard.Open:
		m.breakerState.Set(2)
		m.storeErrors.WithLabelValues("breaker_open").Inc()
	case guard.HalfOpen:
		m.breakerState.Set(1)
	default:
		m.breakerState.Set(0)
	}
}

// countingEmailer counts the emailer's failures by channel.
type countingEmailer struct {
	notify.Emailer
	m *metrics
}

func (c countingEmailer) SendEmail(ctx context.Context, msg notify.Message) error {
	err := c.Emailer.SendEmail(ctx, msg)
	if err != nil {
		c.m.sendFailures.WithLabelValues("email").Inc()
	}
	return err
}

// countingTexter counts the SMS sender's failures.
type countingTexter struct {
	notify.Texter
	m *metrics
}

func (c countingTexter) SendSMS(ctx context.Context, msg notify.Message) error {
	err := c.Texter.SendSMS(ctx, msg)
	if err != nil {
		c.m.sendFailures.WithLabelValues("sms").Inc()
	}
	return err
}
