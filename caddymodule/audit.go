package caddymodule

import (
	"context"

	"go.uber.org/zap"
)

// audit writes authgate's audit events to the authgate.audit logger and
// counts them (and the gate's decisions) in the Prometheus metrics.
type audit struct {
	log     *zap.Logger
	metrics *metrics
}

// Event records one audit event; its "result" field is the metric label.
func (e *audit) Event(_ context.Context, name string, fields ...zap.Field) {
	e.log.Info(name, fields...)
	result := ""
	for _, f := range fields {
		if f.Key == "result" {
			result = f.String
		}
	}
	e.metrics.Event(name, result)
}

// Gate counts a gate decision.
func (e *audit) Gate(decision string) { e.metrics.Gate(decision) }
