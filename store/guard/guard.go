// Package guard wraps a store.Store so that a sick backend makes requests
// fail fast instead of queueing behind it.
//
// A hung Redis (SIGSTOP, a full network buffer, a failover in progress)
// does not refuse connections: commands simply never answer. Without a
// guard every request waits for the client's own timeouts and retries,
// seconds each, and the gateway piles up goroutines. The guard adds three
// things, all in front of the backend:
//
//   - a deadline on every call (Options.ReadTimeout for the calls the gate
//     path makes, Options.WriteTimeout for the others), never later than
//     the caller's own deadline; a call that hits it fails with an error
//     wrapping store.ErrUnavailable;
//   - a circuit breaker: after FailureThreshold consecutive unavailable
//     failures, or a FailureRate of failures over Window, every call fails
//     at once without I/O (an *OpenError, which wraps store.ErrUnavailable
//     and carries a RetryAfter hint) until a cool-down has passed; then one
//     probe call goes through, and its success closes the breaker again;
//   - a throttled error log: at most one line per LogInterval per kind of
//     failure, with the number of failures it stood for.
//
// Only unavailability counts against the backend: store.ErrNotFound,
// store.ErrExists, store.ErrConflict and other refusals are answers, and
// a call whose caller cancelled it tells nothing about the backend.
// Neither does a write the backend refused at once while it still serves
// reads (an error with a WriteRefused() bool method that reports true:
// Redis READONLY or NOREPLICAS while a Sentinel switches masters). The
// call still fails with its error, so the write fails closed, but it
// does not trip the breaker: tripping would take the reads, and with them
// every gated request, down with the writes, and a refusal that answers
// at once queues nothing the breaker must protect against.
//
// The guard relies on the backend honouring ctx (store/redis does with
// ContextTimeoutEnabled, see its ParseURL); it does not run calls on
// goroutines of its own, so a backend that ignored ctx would still block.
package guard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/store"
)

// Defaults of Options. They follow issue 9: the gate path gets at most
// 500 ms from the store, writes 1 s.
const (
	DefaultReadTimeout      = 500 * time.Millisecond
	DefaultWriteTimeout     = time.Second
	DefaultFailureThreshold = 5
	DefaultFailureRate      = 0.5
	DefaultMinRequests      = 20
	DefaultWindow           = 10 * time.Second
	DefaultCooldown         = time.Second
	DefaultMaxCooldown      = 30 * time.Second
	DefaultLogInterval      = time.Second
)

// Options configure New. Zero (or negative) fields take the defaults above.
type Options struct {
	// ReadTimeout bounds Get, Members, Allow and Ping: the calls a gated
	// request makes before it may reach the upstream.
	ReadTimeout time.Duration
	// WriteTimeout bounds every other call.
	WriteTimeout time.Duration

	// FailureThreshold consecutive unavailable failures open the breaker.
	FailureThreshold int
	// FailureRate (0 to 1) of unavailable failures among at least
	// MinRequests calls within one Window also opens it; it catches a
	// backend that fails every other call and so never reaches the
	// threshold. A rate above 1 turns this rule off.
	FailureRate float64
	// MinRequests is how many calls a Window needs before FailureRate
	// applies, so that 1 failure out of 2 calls does not open the breaker.
	MinRequests int
	// Window is the length of the fixed window FailureRate is measured in.
	Window time.Duration

	// Cooldown is how long the breaker stays open before it lets a probe
	// through. Each failed probe doubles it, up to MaxCooldown; a
	// successful probe resets it.
	Cooldown    time.Duration
	MaxCooldown time.Duration

	// Logger receives the throttled failure lines and the breaker's state
	// changes. Nil logs nothing.
	Logger *zap.Logger
	// LogInterval is the minimum time between two lines of one kind.
	LogInterval time.Duration

	// Now is the clock of the breaker and the log throttle (time.Now when
	// nil). Deadlines always use real time, as the backend's I/O does.
	Now func() time.Time

	// OnStateChange, when set, is called with the new state at every
	// transition (for a metrics gauge). It runs with the breaker's lock
	// held so that calls arrive in order: keep it short and do not call
	// the Store from it.
	OnStateChange func(State)
	// Observe, when set, is called after every call that reached the
	// backend with its operation, duration and error kind ("" for an answer, not-found and
	// exists included; "deadline", "unavailable", or "other"), for
	// latency and error metrics. Calls refused by the open breaker are
	// not observed (they cost no I/O); State tells about those.
	Observe func(op string, d time.Duration, kind string)
}

func (o Options) withDefaults() Options {
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setDur(&o.ReadTimeout, DefaultReadTimeout)
	setDur(&o.WriteTimeout, DefaultWriteTimeout)
	setDur(&o.Window, DefaultWindow)
	setDur(&o.Cooldown, DefaultCooldown)
	setDur(&o.MaxCooldown, DefaultMaxCooldown)
	setDur(&o.LogInterval, DefaultLogInterval)
	if o.MaxCooldown < o.Cooldown {
		o.MaxCooldown = o.Cooldown
	}
	if o.FailureThreshold <= 0 {
		o.FailureThreshold = DefaultFailureThreshold
	}
	if o.FailureRate <= 0 {
		o.FailureRate = DefaultFailureRate
	}
	if o.MinRequests <= 0 {
		o.MinRequests = DefaultMinRequests
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// State is the state of the circuit breaker.
type State int32

const (
	// Closed: calls go to the backend.
	Closed State = iota
	// Open: calls fail at once until the cool-down ends.
	Open
	// HalfOpen: one probe call is at the backend; the others fail at once.
	HalfOpen
)

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// Store is a store.Store guarded by deadlines, a circuit breaker and a
// throttled error log. It is safe for concurrent use.
type Store struct {
	inner store.Store
	opts  Options

	// The hot path (a closed breaker and a healthy backend) only reads
	// and adds to these atomics; mu serialises the rare transitions.
	state       atomic.Int32
	openUntil   atomic.Int64 // unix ns; when Open, the earliest probe time
	consecutive atomic.Int64
	winStart    atomic.Int64 // unix ns
	winTotal    atomic.Int64
	winFailed   atomic.Int64

	mu       sync.Mutex
	cooldown time.Duration // guarded by mu; the current cool-down

	throttles [numKinds]throttle
}

var _ store.Store = (*Store)(nil)

// New guards inner. The Store owns inner: Close closes it.
func New(inner store.Store, opts Options) *Store {
	s := &Store{inner: inner, opts: opts.withDefaults()}
	s.cooldown = s.opts.Cooldown
	s.winStart.Store(s.opts.Now().UnixNano())
	return s
}

// Inner returns the guarded store, for callers that need the backend's
// own methods (such as the Redis client).
func (s *Store) Inner() store.Store { return s.inner }

// State returns the breaker's current state.
func (s *Store) State() State { return State(s.state.Load()) }

// Options returns the options in effect, defaults filled in.
func (s *Store) Options() Options { return s.opts }

// run sends one call through the breaker with a deadline of timeout.
func (s *Store) run(ctx context.Context, op string, timeout time.Duration, f func(context.Context) error) error {
	probe, err := s.admit(op)
	if err != nil {
		return err
	}
	finished := false
	if probe {
		// A probe that panics (say in an Update callback) must not leave
		// the breaker half-open for ever.
		defer func() {
			if !finished {
				s.settleProbe(outcomeNeutral)
			}
		}()
	}
	cctx, cancel := withDeadline(ctx, timeout)
	start := time.Now()
	err = f(cctx)
	cancel()
	out := classify(ctx, cctx, err)
	if s.opts.Observe != nil {
		s.opts.Observe(op, time.Since(start), observedKind(out, err))
	}
	switch out {
	case outcomeDeadline:
		if !errors.Is(err, store.ErrUnavailable) {
			err = fmt.Errorf("store guard: %s: %w: deadline exceeded: %w", op, store.ErrUnavailable, err)
		}
		s.logFailure(op, kindDeadline, err)
	case outcomeUnavailable, outcomeWriteRefused:
		s.logFailure(op, kindUnavailable, err)
	}
	finished = true
	s.record(probe, out)
	return err
}

// withDeadline bounds ctx to timeout from now, keeping an earlier
// deadline of the caller. When the caller's deadline is already the
// shorter one it returns ctx itself, which saves a timer per call.
func withDeadline(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, timeout)
}

// outcome is what one call tells about the backend's health.
type outcome int

const (
	outcomeSuccess      outcome = iota // an answer, including refusals
	outcomeNeutral                     // the caller cancelled: no signal
	outcomeDeadline                    // the deadline passed first
	outcomeUnavailable                 // the backend reported unavailability
	outcomeWriteRefused                // an instant write refusal: no health signal
)

// writeRefusal is what the guard needs of a backend error to tell a
// write refused at once (the backend still reads) from an outage.
type writeRefusal interface{ WriteRefused() bool }

// writeRefused reports whether err says the backend refused a write at
// once while it still answers reads.
func writeRefused(err error) bool {
	var w writeRefusal
	return errors.As(err, &w) && w.WriteRefused()
}

func classify(ctx, cctx context.Context, err error) outcome {
	switch {
	case err == nil:
		return outcomeSuccess
	case errors.Is(ctx.Err(), context.Canceled):
		return outcomeNeutral
	case errors.Is(cctx.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return outcomeDeadline
	case errors.Is(err, store.ErrUnavailable) && writeRefused(err):
		return outcomeWriteRefused
	case errors.Is(err, store.ErrUnavailable):
		return outcomeUnavailable
	}
	return outcomeSuccess
}

// Get reads through the guard with ReadTimeout.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	return runValue(ctx, s, "get", s.opts.ReadTimeout, func(ctx context.Context) ([]byte, error) {
		return s.inner.Get(ctx, key)
	})
}

// Put writes through the guard with WriteTimeout.
func (s *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return s.run(ctx, "put", s.opts.WriteTimeout, func(ctx context.Context) error {
		return s.inner.Put(ctx, key, value, ttl)
	})
}

// Create writes through the guard with WriteTimeout.
func (s *Store) Create(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return s.run(ctx, "create", s.opts.WriteTimeout, func(ctx context.Context) error {
		return s.inner.Create(ctx, key, value, ttl)
	})
}

// Delete writes through the guard with WriteTimeout.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	return s.run(ctx, "delete", s.opts.WriteTimeout, func(ctx context.Context) error {
		return s.inner.Delete(ctx, keys...)
	})
}

// CompareAndDelete writes through the guard with WriteTimeout.
func (s *Store) CompareAndDelete(ctx context.Context, key string, expected []byte) (bool, error) {
	return runValue(ctx, s, "compare and delete", s.opts.WriteTimeout, func(ctx context.Context) (bool, error) {
		return s.inner.CompareAndDelete(ctx, key, expected)
	})
}

// Update writes through the guard with WriteTimeout. The error of fn comes
// back as is, as store.Store requires.
func (s *Store) Update(ctx context.Context, key string, fn store.UpdateFunc) error {
	return s.run(ctx, "update", s.opts.WriteTimeout, func(ctx context.Context) error {
		return s.inner.Update(ctx, key, fn)
	})
}

// Incr writes through the guard with WriteTimeout.
func (s *Store) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	return runValue(ctx, s, "incr", s.opts.WriteTimeout, func(ctx context.Context) (int64, error) {
		return s.inner.Incr(ctx, key, ttl)
	})
}

// CreateIndexed writes through the guard with WriteTimeout.
func (s *Store) CreateIndexed(ctx context.Context, key string, value []byte, index map[string]string) error {
	return s.run(ctx, "create indexed", s.opts.WriteTimeout, func(ctx context.Context) error {
		return s.inner.CreateIndexed(ctx, key, value, index)
	})
}

// DeleteIndexed writes through the guard with WriteTimeout.
func (s *Store) DeleteIndexed(ctx context.Context, key string, index []string) error {
	return s.run(ctx, "delete indexed", s.opts.WriteTimeout, func(ctx context.Context) error {
		return s.inner.DeleteIndexed(ctx, key, index)
	})
}

// AddMember writes through the guard with WriteTimeout.
func (s *Store) AddMember(ctx context.Context, key, member string, ttl time.Duration) error {
	return s.run(ctx, "add member", s.opts.WriteTimeout, func(ctx context.Context) error {
		return s.inner.AddMember(ctx, key, member, ttl)
	})
}

// RemoveMember writes through the guard with WriteTimeout.
func (s *Store) RemoveMember(ctx context.Context, key string, members ...string) error {
	return s.run(ctx, "remove member", s.opts.WriteTimeout, func(ctx context.Context) error {
		return s.inner.RemoveMember(ctx, key, members...)
	})
}

// Members reads through the guard with ReadTimeout.
func (s *Store) Members(ctx context.Context, key string) ([]string, error) {
	return runValue(ctx, s, "members", s.opts.ReadTimeout, func(ctx context.Context) ([]string, error) {
		return s.inner.Members(ctx, key)
	})
}

// Allow goes through the guard with ReadTimeout: although it writes, it
// runs on the gate path (rate limits), whose budget is ReadTimeout.
func (s *Store) Allow(ctx context.Context, key string, limit int, period time.Duration) (store.RateResult, error) {
	return runValue(ctx, s, "allow", s.opts.ReadTimeout, func(ctx context.Context) (store.RateResult, error) {
		return s.inner.Allow(ctx, key, limit, period)
	})
}

// Ping goes through the guard with ReadTimeout, so a health check sees an
// open breaker as the outage it stands for.
func (s *Store) Ping(ctx context.Context) error {
	return s.run(ctx, "ping", s.opts.ReadTimeout, s.inner.Ping)
}

// runValue is run for a call that returns a value besides its error.
func runValue[T any](ctx context.Context, s *Store, op string, timeout time.Duration, call func(context.Context) (T, error)) (T, error) {
	var v T
	err := s.run(ctx, op, timeout, func(ctx context.Context) (err error) {
		v, err = call(ctx)
		return err
	})
	return v, err
}

// Close closes the guarded store, whatever the breaker's state: releasing
// resources needs no healthy backend.
func (s *Store) Close() error { return s.inner.Close() }

// observedKind names the outcome of a call for Options.Observe.
func observedKind(out outcome, err error) string {
	switch {
	case out == outcomeDeadline:
		return kindNames[kindDeadline]
	case out == outcomeUnavailable, out == outcomeWriteRefused:
		return kindNames[kindUnavailable]
	case err == nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExists):
		return "" // an answer, not an error
	case out == outcomeSuccess:
		return "other"
	}
	return ""
}

// Unwrap returns the guarded store (store.ListerOf looks through it).
func (s *Store) Unwrap() store.Store { return s.inner }
