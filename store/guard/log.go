package guard

import (
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// kind is the class of a logged failure; each has its own throttle, so a
// flood of one kind does not hide the first line of another.
type kind int

const (
	kindDeadline kind = iota
	kindUnavailable
	kindBreakerOpen
	numKinds
)

var kindNames = [numKinds]string{"deadline", "unavailable", "breaker_open"}

// throttle lets one line through per interval and counts the rest.
type throttle struct {
	next       atomic.Int64 // unix ns before which lines are suppressed
	suppressed atomic.Int64
}

// logFailure writes one line for a failed call unless a line of the same
// kind went out less than LogInterval ago; the line carries the number of
// failures suppressed since the previous one. During an outage every
// request fails, and one line per request buried everything else in the
// log (issue 9: ~770 lines/s).
//
// Only the operation name and the error text go in the line, never keys
// or values: those can hold secrets and personal data.
func (s *Store) logFailure(op string, k kind, err error) {
	t := &s.throttles[k]
	now := s.opts.Now().UnixNano()
	next := t.next.Load()
	if now < next || !t.next.CompareAndSwap(next, now+int64(s.opts.LogInterval)) {
		t.suppressed.Add(1)
		return
	}
	level, msg := zapcore.ErrorLevel, "store call failed"
	if k == kindBreakerOpen {
		level, msg = zapcore.WarnLevel, "store call refused by the open circuit breaker"
	}
	// The count is taken even when the level is disabled, so that it
	// restarts from zero at each line either way.
	n := t.suppressed.Swap(0)
	if ce := s.opts.Logger.Check(level, msg); ce != nil {
		ce.Write(zap.String("op", op), zap.String("kind", kindNames[k]),
			zap.Int64("suppressed", n), zap.String("error", err.Error()))
	}
}

// flushSuppressed logs the failures still waiting for a next line, so the
// counts of an outage's last second are not lost when it ends.
func (s *Store) flushSuppressed() {
	for k := range numKinds {
		if n := s.throttles[k].suppressed.Swap(0); n > 0 {
			s.opts.Logger.Info("store call failures not logged before recovery",
				zap.String("kind", kindNames[k]), zap.Int64("suppressed", n))
		}
	}
}
