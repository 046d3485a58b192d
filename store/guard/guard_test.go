package guard_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/guard"
	"github.com/authgate/authgate/store/storetest"
)

var errDown = fmt.Errorf("fake: connection refused: %w", store.ErrUnavailable)

// newGuard guards a fake store with a settable clock and records the
// breaker's transitions.
func newGuard(t *testing.T, opts guard.Options) (*guard.Store, *fakeStore, *testenv.Clock, *[]guard.State) {
	t.Helper()
	f := &fakeStore{}
	c := newClock()
	var mu sync.Mutex
	states := &[]guard.State{}
	opts.Now = c.Now
	opts.OnStateChange = func(s guard.State) {
		mu.Lock()
		defer mu.Unlock()
		*states = append(*states, s)
	}
	return guard.New(f, opts), f, c, states
}

func wantOpenError(t *testing.T, err error, wait time.Duration) {
	t.Helper()
	var oe *guard.OpenError
	if !errors.As(err, &oe) || !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, guard.ErrOpen) {
		t.Fatalf("err = %v, want an *OpenError matching ErrUnavailable and ErrOpen", err)
	}
	if got := guard.RetryAfter(err); got != wait {
		t.Fatalf("RetryAfter = %s, want %s", got, wait)
	}
}

// trip fails n calls through g.
func trip(t *testing.T, g *guard.Store, f *fakeStore, n int) {
	t.Helper()
	f.fail(errDown)
	for i := range n {
		if _, err := g.Get(context.Background(), "k"); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("failure %d: %v, want ErrUnavailable", i, err)
		}
	}
}

func TestDefaults(t *testing.T) {
	o := guard.New(&fakeStore{}, guard.Options{}).Options()
	if o.ReadTimeout != 500*time.Millisecond || o.WriteTimeout != time.Second ||
		o.FailureThreshold != 5 || o.Cooldown != time.Second || o.MaxCooldown != 30*time.Second ||
		o.LogInterval != time.Second || o.Logger == nil || o.Now == nil {
		t.Fatalf("defaults = %+v", o)
	}
}

// TestDeadline: a backend that never answers costs a read ReadTimeout and
// a write WriteTimeout, and the bare context error comes back as
// unavailability.
func TestDeadline(t *testing.T) {
	const read, write = 50 * time.Millisecond, 120 * time.Millisecond
	g, f, _, _ := newGuard(t, guard.Options{ReadTimeout: read, WriteTimeout: write})
	f.hang()
	for _, tc := range []struct {
		name string
		want time.Duration
		call func() error
	}{
		{"Get", read, func() error { _, err := g.Get(context.Background(), "k"); return err }},
		{"Allow", read, func() error { _, err := g.Allow(context.Background(), "k", 1, time.Second); return err }},
		{"Put", write, func() error { return g.Put(context.Background(), "k", []byte("v"), 0) }},
		{"Update", write, func() error {
			return g.Update(context.Background(), "k", func([]byte, bool) ([]byte, time.Duration, error) { return nil, 0, nil })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := tc.call()
			took := time.Since(start)
			if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want ErrUnavailable wrapping DeadlineExceeded", err)
			}
			if took < tc.want || took > tc.want+time.Second {
				t.Fatalf("took %s, want about %s", took, tc.want)
			}
		})
	}
}

// TestCallerDeadlineKept: the guard never extends a shorter deadline of
// the caller.
func TestCallerDeadlineKept(t *testing.T) {
	g, f, _, _ := newGuard(t, guard.Options{ReadTimeout: 10 * time.Second})
	f.hang()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := g.Get(ctx, "k")
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Get took %s with a 30ms caller deadline", took)
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

// TestBreakerOpens: after FailureThreshold consecutive failures calls
// fail at once, without reaching the backend, with the cool-down as hint.
func TestBreakerOpens(t *testing.T) {
	g, f, c, states := newGuard(t, guard.Options{})
	trip(t, g, f, 4)
	if g.State() != guard.Closed {
		t.Fatalf("state after 4 failures = %s, want closed", g.State())
	}
	trip(t, g, f, 1)
	if g.State() != guard.Open {
		t.Fatalf("state after 5 failures = %s, want open", g.State())
	}
	reached := f.calls.Load()
	f.fail(nil)
	_, err := g.Get(context.Background(), "k")
	wantOpenError(t, err, time.Second)
	c.Advance(400 * time.Millisecond)
	for _, call := range []func() error{
		func() error { return g.Put(context.Background(), "k", nil, 0) },
		func() error { _, err := g.Incr(context.Background(), "k", 0); return err },
		func() error { _, err := g.Members(context.Background(), "k"); return err },
		func() error { return g.Ping(context.Background()) },
	} {
		wantOpenError(t, call(), 600*time.Millisecond)
	}
	if n := f.calls.Load(); n != reached {
		t.Fatalf("the open breaker let %d calls reach the backend", n-reached)
	}
	if fmt.Sprint(*states) != "[open]" {
		t.Fatalf("transitions = %v", *states)
	}
}

// TestBreakerProbe: after the cool-down one call probes while the others
// still fail at once; its success closes the breaker.
func TestBreakerProbe(t *testing.T) {
	g, f, c, states := newGuard(t, guard.Options{})
	trip(t, g, f, 5)
	c.Advance(time.Second)
	f.fail(nil)
	release := f.hold()
	defer release()

	probe := make(chan error, 1)
	go func() {
		_, err := g.Get(context.Background(), "k")
		probe <- err
	}()
	for i := 0; g.State() != guard.HalfOpen; i++ {
		if i > 1000 {
			t.Fatal("the probe never started")
		}
		time.Sleep(time.Millisecond)
	}
	reached := f.calls.Load()
	_, err := g.Get(context.Background(), "k")
	wantOpenError(t, err, time.Second)
	if f.calls.Load() != reached {
		t.Fatal("a second call reached the backend while the probe was out")
	}
	release()
	if err := <-probe; err != nil {
		t.Fatalf("probe: %v", err)
	}
	if g.State() != guard.Closed {
		t.Fatalf("state after a good probe = %s, want closed", g.State())
	}
	if v, err := g.Get(context.Background(), "k"); err != nil || string(v) != "v" {
		t.Fatalf("Get after closing = %q, %v", v, err)
	}
	if fmt.Sprint(*states) != "[open half-open closed]" {
		t.Fatalf("transitions = %v", *states)
	}
}

// TestBreakerBackoff: each failed probe doubles the cool-down up to
// MaxCooldown; closing resets it.
func TestBreakerBackoff(t *testing.T) {
	g, f, c, _ := newGuard(t, guard.Options{})
	trip(t, g, f, 5)
	for _, want := range []time.Duration{2, 4, 8, 16, 30, 30} {
		want *= time.Second
		c.Advance(time.Hour) // any wait is over: the next call probes
		if _, err := g.Get(context.Background(), "k"); errors.As(err, new(*guard.OpenError)) || !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("probe = %v, want the backend's failure", err)
		}
		_, err := g.Get(context.Background(), "k")
		wantOpenError(t, err, want)
	}
	c.Advance(time.Hour)
	f.fail(nil)
	if _, err := g.Get(context.Background(), "k"); err != nil {
		t.Fatalf("probe: %v", err)
	}
	trip(t, g, f, 5)
	_, err := g.Get(context.Background(), "k")
	wantOpenError(t, err, time.Second)
}

// TestAnswersDoNotTrip: refusals are answers from a working backend; only
// unavailability counts. Their errors come back unchanged.
func TestAnswersDoNotTrip(t *testing.T) {
	g, f, _, _ := newGuard(t, guard.Options{})
	abort := errors.New("abort by fn")
	for _, want := range []error{store.ErrNotFound, store.ErrExists, store.ErrConflict,
		&store.IndexTakenError{Key: "idx"}, errors.New("WRONGTYPE")} {
		f.fail(want)
		for range 20 {
			if _, err := g.Get(context.Background(), "k"); err != want {
				t.Fatalf("Get = %v, want %v as is", err, want)
			}
		}
	}
	f.fail(nil)
	for range 20 {
		err := g.Update(context.Background(), "k", func([]byte, bool) ([]byte, time.Duration, error) { return nil, 0, abort })
		if err != abort {
			t.Fatalf("Update = %v, want the fn's error as is", err)
		}
	}
	if g.State() != guard.Closed {
		t.Fatalf("state = %s, want closed", g.State())
	}
}

// TestSuccessResetsCount: the threshold counts consecutive failures.
func TestSuccessResetsCount(t *testing.T) {
	g, f, _, _ := newGuard(t, guard.Options{FailureRate: 2})
	for range 10 {
		trip(t, g, f, 4)
		f.fail(nil)
		if _, err := g.Get(context.Background(), "k"); err != nil {
			t.Fatal(err)
		}
	}
	if g.State() != guard.Closed {
		t.Fatalf("state = %s, want closed", g.State())
	}
}

// TestFailureRate: a backend failing every other call never reaches the
// consecutive threshold but opens the breaker by rate; spread over
// windows the same pattern does not.
func TestFailureRate(t *testing.T) {
	alternate := func(g *guard.Store, f *fakeStore, c *testenv.Clock, n int, every time.Duration) {
		for i := range n {
			f.fail(nil)
			if i%2 == 0 {
				f.fail(errDown)
			}
			_, _ = g.Get(context.Background(), "k")
			c.Advance(every)
		}
	}
	g, f, c, _ := newGuard(t, guard.Options{})
	alternate(g, f, c, 19, time.Millisecond)
	if g.State() != guard.Closed {
		t.Fatalf("state after 19 calls = %s, want closed (MinRequests 20)", g.State())
	}
	alternate(g, f, c, 1, time.Millisecond)
	if g.State() != guard.Open {
		t.Fatalf("state after 20 calls half failing = %s, want open", g.State())
	}

	g, f, c, _ = newGuard(t, guard.Options{})
	alternate(g, f, c, 200, time.Second) // 10 calls per 10 s window
	if g.State() != guard.Closed {
		t.Fatalf("state with 10 calls per window = %s, want closed", g.State())
	}
}

// TestCallerCancelIsNeutral: a call its caller gave up on says nothing
// about the backend.
func TestCallerCancelIsNeutral(t *testing.T) {
	g, f, c, _ := newGuard(t, guard.Options{})
	f.hang()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 20 {
		if _, err := g.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	}
	if g.State() != guard.Closed {
		t.Fatalf("state = %s, want closed", g.State())
	}

	// A cancelled probe reopens the breaker with the wait served.
	trip(t, g, f, 5)
	c.Advance(time.Second)
	f.hang()
	_, _ = g.Get(ctx, "k")
	if g.State() != guard.Open {
		t.Fatalf("state after a cancelled probe = %s, want open", g.State())
	}
	f.fail(nil)
	if _, err := g.Get(context.Background(), "k"); err != nil || g.State() != guard.Closed {
		t.Fatalf("next call = %v, state %s; want a probe that closes the breaker", err, g.State())
	}
}

// TestProbePanic: a probe that panics must not wedge the breaker
// half-open.
func TestProbePanic(t *testing.T) {
	g, f, c, _ := newGuard(t, guard.Options{})
	trip(t, g, f, 5)
	c.Advance(time.Second)
	f.fail(nil)
	func() {
		defer func() { _ = recover() }()
		_ = g.Update(context.Background(), "k", func([]byte, bool) ([]byte, time.Duration, error) { panic("boom") })
	}()
	if g.State() != guard.Open {
		t.Fatalf("state after a panicking probe = %s, want open", g.State())
	}
	if _, err := g.Get(context.Background(), "k"); err != nil || g.State() != guard.Closed {
		t.Fatalf("next call = %v, state %s; want a probe that closes the breaker", err, g.State())
	}
}

// TestLogThrottle: a burst of failures within one interval gives one line
// per kind; the next line tells how many were suppressed. No key or value
// ever reaches the log.
func TestLogThrottle(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	g, f, c, _ := newGuard(t, guard.Options{Logger: zap.New(core), FailureThreshold: 1000, FailureRate: 2})
	const secret = "secret-value-0123"
	f.fail(errDown)
	for range 100 {
		_ = g.Put(context.Background(), "key:"+secret, []byte(secret), 0)
	}
	lines := logs.FilterField(zap.String("kind", "unavailable")).All()
	if len(lines) != 1 {
		t.Fatalf("%d lines for 100 failures within 1s, want 1", len(lines))
	}
	ctxMap := lines[0].ContextMap()
	if ctxMap["op"] != "put" || ctxMap["suppressed"] != int64(0) || ctxMap["error"] != errDown.Error() {
		t.Fatalf("first line = %v", ctxMap)
	}
	c.Advance(999 * time.Millisecond)
	_ = g.Put(context.Background(), "k", nil, 0)
	c.Advance(time.Millisecond)
	_ = g.Put(context.Background(), "k", nil, 0)
	lines = logs.FilterField(zap.String("kind", "unavailable")).All()
	if len(lines) != 2 || lines[1].ContextMap()["suppressed"] != int64(100) {
		t.Fatalf("lines after 1s = %v, want a second one with suppressed=100", lines)
	}

	// Kinds are throttled apart: a deadline still gets its own line.
	f.hang()
	g2 := guard.New(f, guard.Options{Logger: zap.New(core), Now: c.Now, ReadTimeout: time.Millisecond, FailureThreshold: 1000, FailureRate: 2})
	for range 3 {
		_, _ = g2.Get(context.Background(), "k")
	}
	if n := logs.FilterField(zap.String("kind", "deadline")).Len(); n != 1 {
		t.Fatalf("%d deadline lines for 3 deadlines, want 1", n)
	}

	for _, e := range logs.All() {
		if strings.Contains(fmt.Sprint(e.Message, e.ContextMap()), secret) {
			t.Fatalf("log line holds a key or value: %v %v", e.Message, e.ContextMap())
		}
	}
}

// TestLogThrottleOpen: refusals of the open breaker are throttled too, and
// their count is flushed when the breaker closes.
func TestLogThrottleOpen(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	g, f, c, _ := newGuard(t, guard.Options{Logger: zap.New(core)})
	trip(t, g, f, 5)
	for range 50 {
		_, _ = g.Get(context.Background(), "k")
	}
	open := logs.FilterField(zap.String("kind", "breaker_open"))
	if open.Len() != 1 {
		t.Fatalf("%d breaker_open lines for 50 refusals, want 1", open.Len())
	}
	if logs.FilterMessageSnippet("circuit breaker opened").Len() != 1 {
		t.Fatal("no line for the breaker opening")
	}
	c.Advance(time.Second)
	f.fail(nil)
	if _, err := g.Get(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	flushed := logs.FilterMessageSnippet("not logged before recovery").FilterField(zap.String("kind", "breaker_open")).All()
	if len(flushed) != 1 || flushed[0].ContextMap()["suppressed"] != int64(49) {
		t.Fatalf("flush lines = %v, want breaker_open suppressed=49", flushed)
	}
	// Lines per second stay bounded however many calls fail.
	if n := logs.Len(); n > 10 {
		t.Fatalf("%d lines in total", n)
	}
}

// TestConcurrent hammers the breaker from many goroutines while the
// backend flaps and time moves, for the race detector and to check the
// breaker always ends in a valid state and recovers.
func TestConcurrent(t *testing.T) {
	g, f, c, _ := newGuard(t, guard.Options{})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 500 {
				switch (i + j) % 97 {
				case 0:
					f.fail(errDown)
				case 50:
					f.fail(nil)
				case 70:
					c.Advance(300 * time.Millisecond)
				}
				_, _ = g.Get(context.Background(), "k")
				_ = g.Put(context.Background(), "k", nil, 0)
				_ = g.State()
			}
		})
	}
	wg.Wait()
	f.fail(nil)
	for range 10 {
		c.Advance(time.Minute)
		if _, err := g.Get(context.Background(), "k"); err == nil && g.State() == guard.Closed {
			return
		}
	}
	t.Fatalf("breaker did not recover: state %s", g.State())
}

// BenchmarkGuarded measures the guard's own cost with the benchmarks
// every backend reports (parallel Get, the gate's hot path, and Incr),
// over a fake backend that answers at once and a closed breaker;
// BenchmarkUnguarded is the same backend alone, the baseline.
func BenchmarkGuarded(b *testing.B) {
	storetest.Bench(b, func(*testing.B) store.Store { return guard.New(&fakeStore{}, guard.Options{}) })
}

func BenchmarkUnguarded(b *testing.B) {
	storetest.Bench(b, func(*testing.B) store.Store { return &fakeStore{} })
}

// TestObserve: every call that reached the backend is observed with its
// operation and outcome kind; calls refused by the open breaker are not.
func TestObserve(t *testing.T) {
	type obs struct{ op, kind string }
	var mu sync.Mutex
	var got []obs
	f := &fakeStore{}
	g := guard.New(f, guard.Options{FailureThreshold: 1, Observe: func(op string, _ time.Duration, kind string) {
		mu.Lock()
		got = append(got, obs{op, kind})
		mu.Unlock()
	}})
	ctx := context.Background()
	_ = g.Put(ctx, "k", []byte("v"), 0)
	f.fail(store.ErrNotFound)
	_, _ = g.Get(ctx, "absent")
	f.fail(errDown)
	_, _ = g.Get(ctx, "k")
	_, _ = g.Get(ctx, "k") // refused by the open breaker: no I/O, not observed
	want := []obs{{"put", ""}, {"get", ""}, {"get", "unavailable"}}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("observed %v, want %v", got, want)
	}
}
