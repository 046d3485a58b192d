package guard

import (
	"time"

	"go.uber.org/zap"
)

// admit decides whether a call may reach the backend. It returns an
// *OpenError when the breaker refuses the call, and probe = true for the
// single call let through to test a half-open backend.
func (s *Store) admit(op string) (probe bool, err error) {
	st := State(s.state.Load())
	if st == Closed {
		return false, nil
	}
	now := s.opts.Now()
	if st == Open {
		if wait := time.Duration(s.openUntil.Load() - now.UnixNano()); wait > 0 {
			return false, s.reject(op, wait)
		}
		if s.startProbe(now) {
			return true, nil
		}
	}
	// Another caller won the probe, or it already closed the breaker.
	if State(s.state.Load()) == Closed {
		return false, nil
	}
	// While a probe is out the true wait is unknown; the base cool-down is
	// the shortest honest hint.
	return false, s.reject(op, s.opts.Cooldown)
}

// startProbe moves an open breaker whose cool-down has passed to
// half-open and reports whether this caller is the probe.
func (s *Store) startProbe(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if State(s.state.Load()) != Open || now.UnixNano() < s.openUntil.Load() {
		return false
	}
	s.setState(HalfOpen)
	return true
}

// reject fails a call without I/O.
func (s *Store) reject(op string, wait time.Duration) error {
	err := &OpenError{Op: op, Wait: wait}
	s.logFailure(op, kindBreakerOpen, err)
	return err
}

// record feeds the outcome of an admitted call to the breaker.
func (s *Store) record(probe bool, out outcome) {
	if probe {
		s.settleProbe(out)
		return
	}
	// A result that arrives while the breaker is not closed began before
	// it opened: it says nothing the breaker does not know already.
	if out == outcomeNeutral || out == outcomeWriteRefused || State(s.state.Load()) != Closed {
		return
	}
	now := s.opts.Now().UnixNano()
	s.rollWindow(now)
	s.winTotal.Add(1)
	if out == outcomeSuccess {
		// Load first: a store on every success would bounce the cache
		// line between cores for nothing.
		if s.consecutive.Load() != 0 {
			s.consecutive.Store(0)
		}
		return
	}
	s.winFailed.Add(1)
	if n := s.consecutive.Add(1); n >= int64(s.opts.FailureThreshold) || s.rateExceeded() {
		s.trip(now)
	}
}

// rollWindow starts a new failure-rate window when the current one is
// over. Counts added by racing calls around the switch may land in either
// window; the rate is a heuristic and that much slack does not matter.
func (s *Store) rollWindow(now int64) {
	start := s.winStart.Load()
	if now-start < int64(s.opts.Window) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.winStart.Load() == start {
		s.resetWindow(now)
	}
}

func (s *Store) resetWindow(now int64) {
	s.winTotal.Store(0)
	s.winFailed.Store(0)
	s.winStart.Store(now)
}

func (s *Store) rateExceeded() bool {
	total := s.winTotal.Load()
	return total >= int64(s.opts.MinRequests) &&
		float64(s.winFailed.Load()) >= s.opts.FailureRate*float64(total)
}

// trip opens a closed breaker for the base cool-down.
func (s *Store) trip(now int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if State(s.state.Load()) != Closed {
		return
	}
	s.cooldown = s.opts.Cooldown
	s.openUntil.Store(now + int64(s.cooldown))
	s.setState(Open)
	s.opts.Logger.Warn("store circuit breaker opened: calls fail at once until a probe succeeds",
		zap.Int64("consecutive_failures", s.consecutive.Load()),
		zap.Int64("window_failures", s.winFailed.Load()),
		zap.Int64("window_calls", s.winTotal.Load()),
		zap.Duration("retry_after", s.cooldown))
}

// settleProbe closes the breaker after a successful probe, or opens it
// again with a doubled cool-down after a failed one. A probe its caller
// cancelled proves nothing: the breaker reopens with the cool-down already
// served, so the next call probes at once.
func (s *Store) settleProbe(out outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if State(s.state.Load()) != HalfOpen {
		return
	}
	now := s.opts.Now().UnixNano()
	switch out {
	case outcomeNeutral, outcomeWriteRefused:
		// Neither says the backend is back: reopen with the cool-down
		// served, so that the next call (a read, say) probes at once.
		s.openUntil.Store(now)
		s.setState(Open)
	case outcomeSuccess:
		s.cooldown = s.opts.Cooldown
		s.consecutive.Store(0)
		s.resetWindow(now)
		s.setState(Closed)
		s.opts.Logger.Info("store circuit breaker closed: the backend answers again")
		s.flushSuppressed()
	default:
		s.cooldown = min(2*s.cooldown, s.opts.MaxCooldown)
		s.openUntil.Store(now + int64(s.cooldown))
		s.setState(Open)
		s.opts.Logger.Warn("store circuit breaker probe failed: staying open",
			zap.Duration("retry_after", s.cooldown))
	}
}

// setState stores st and tells the hook. Callers hold mu, which keeps the
// hook's calls in transition order.
func (s *Store) setState(st State) {
	s.state.Store(int32(st))
	if s.opts.OnStateChange != nil {
		s.opts.OnStateChange(st)
	}
}
