package guard

import (
	"errors"
	"fmt"
	"time"

	"github.com/authgate/authgate/store"
)

// ErrOpen is matched (with errors.Is) by the errors of calls the open
// breaker refused without reaching the backend.
var ErrOpen = errors.New("store guard: circuit breaker open")

// OpenError is returned, without any I/O, by every call while the breaker
// is open or a probe is out. It matches both store.ErrUnavailable, so
// existing "store down" handling applies unchanged, and ErrOpen.
type OpenError struct {
	// Op is the store method refused, such as "get".
	Op string
	// Wait is how long until the breaker lets a probe through (a hint:
	// the probe may fail and the breaker stay open).
	Wait time.Duration
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("store guard: %s: %v: circuit breaker open, retry after %s", e.Op, store.ErrUnavailable, e.Wait)
}

// Is reports whether target is store.ErrUnavailable or ErrOpen.
func (e *OpenError) Is(target error) bool {
	return target == store.ErrUnavailable || target == ErrOpen
}

// RetryAfter returns Wait.
func (e *OpenError) RetryAfter() time.Duration { return e.Wait }

// RetryAfter returns the wait hint carried by err (an *OpenError, or any
// error in its chain with a RetryAfter() time.Duration method), or 0 when
// it carries none. An HTTP handler answering 503 sends it, rounded up to
// whole seconds and at least 1, as Retry-After.
func RetryAfter(err error) time.Duration {
	var h interface{ RetryAfter() time.Duration }
	if errors.As(err, &h) {
		return h.RetryAfter()
	}
	return 0
}
