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
		events: prometheus.NewCounterVec(prometheus.CounterOpts(opts("events_total",
			"Audit events (sign-ins, codes sent, resets, breach hits, compromised set/unset, tasks) by result.")),
			[]string{"event", "result"}),
		gate: prometheus.NewCounterVec(prometheus.CounterOpts(opts("gate_decisions_total",
			"Gate decisions for requests outside the prefix.")), []string{"decision"}),
		hashing: prometheus.NewGaugeVec(prometheus.GaugeOpts(opts("hashing_jobs",
			"Password hashing jobs running and queued.")), []string{"state"}),
		storeCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: subsystem, Name: "store_call_seconds",
			Help:    "Latency of store calls that reached the backend, by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"op"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts(opts("store_errors_total",
			"Store calls that failed, by kind (deadline, unavailable, other), and breaker openings (breaker_open).")),
			[]string{"kind"}),
		deliveries: prometheus.NewGauge(prometheus.GaugeOpts(opts("deliveries_in_flight",
			"Background deliveries (codes, notices) running now; at the pool's size new ones are dropped."))),
		sendFailures: prometheus.NewCounterVec(prometheus.CounterOpts(opts("delivery_failures_total",
			"Messages the email or SMS sender failed to send, by channel.")), []string{"channel"}),
		breakerState: prometheus.NewGauge(prometheus.GaugeOpts(opts("store_breaker_state",
			"The store circuit breaker: 0 closed, 1 half-open, 2 open."))),
	}
})

// namespace and subsystem prefix every collector's name: caddy_authgate_,
// beside Caddy's own caddy_http_ metrics.
const namespace, subsystem = "caddy", "authgate"

// opts names a counter or gauge (prometheus.CounterOpts and GaugeOpts are
// both Opts) under namespace and subsystem.
func opts(name, help string) prometheus.Opts {
	return prometheus.Opts{Namespace: namespace, Subsystem: subsystem, Name: name, Help: help}
}

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

// countingEmailer counts the emailer's failures (channel "email").
type countingEmailer struct {
	notify.Emailer
	m *metrics
}

func (c countingEmailer) SendEmail(ctx context.Context, msg notify.Message) error {
	return c.m.sent("email", c.Emailer.SendEmail(ctx, msg))
}

// countingTexter counts the SMS sender's failures (channel "sms").
type countingTexter struct {
	notify.Texter
	m *metrics
}

func (c countingTexter) SendSMS(ctx context.Context, msg notify.Message) error {
	return c.m.sent("sms", c.Texter.SendSMS(ctx, msg))
}

// sent counts a failed send on channel and returns err unchanged.
func (m *metrics) sent(channel string, err error) error {
	if err != nil {
		m.sendFailures.WithLabelValues(channel).Inc()
	}
	return err
}
