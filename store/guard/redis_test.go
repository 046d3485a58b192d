package guard_test

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/guard"
	redisstore "github.com/authgate/authgate/store/redis"
)

// quietLogger drops go-redis's own log lines (failed dials while Redis is
// paused); the assertions report what matters.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	goredis.SetLogger(quietLogger{})
	os.Exit(m.Run())
}

// TestHungRedis pauses a real redis-server with SIGSTOP, which keeps its
// socket accepting connections while no command is ever answered (the
// case of issue 9, where each request waited 5-10 s). Through the guard
// and the store/redis client defaults every call must fail with
// ErrUnavailable within 1 s, and once the breaker is open within a few
// milliseconds; after SIGCONT the store must recover, and no goroutine
// may be left behind.
//
// The breaker runs on a frozen test clock: it stays open for the whole
// outage whatever the machine's speed, and the test moves it on to let
// the recovery probe through instead of sleeping through cool-downs.
func TestHungRedis(t *testing.T) {
	srv := testenv.Redis(t)
	opts, err := redisstore.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	c := newClock()
	g := guard.New(redisstore.New(goredis.NewUniversalClient(opts), "guardtest:"), guard.Options{Now: c.Now})
	t.Cleanup(func() { _ = g.Close() })
	ctx := context.Background()
	if err := g.Put(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if _, err := g.Get(ctx, "k"); err != nil {
		t.Fatalf("Get: %v", err)
	}
	before := runtime.NumGoroutine()

	srv.Pause(t)

	getsDuringOutage(t, g)

	srv.Resume(t)
	awaitRecovery(t, g, c)
	if n, err := g.Incr(ctx, "n", time.Minute); err != nil || n != 1 {
		t.Fatalf("Incr after recovery = %d, %v", n, err)
	}

	// Timed-out calls must not leave goroutines (timers, dialers) behind.
	const tolerance = 3
	after := runtime.NumGoroutine()
	for i := 0; after > before+tolerance && i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
		after = runtime.NumGoroutine()
	}
	if after > before+tolerance {
		t.Fatalf("goroutines grew from %d to %d over the outage", before, after)
	}
	t.Logf("goroutines: %d before the outage, %d after recovery", before, after)
}

// getsDuringOutage makes 20 sequential Gets against the paused server:
// each must fail with ErrUnavailable within 1 s, and every one made with
// the breaker open within fastLimit and with a RetryAfter hint.
func getsDuringOutage(t *testing.T, g *guard.Store) {
	t.Helper()
	const calls, fastLimit = 20, 20 * time.Millisecond
	fast := 0
	var slowest, slowestFast time.Duration
	for i := range calls {
		wasOpen := g.State() == guard.Open
		start := time.Now()
		_, err := g.Get(context.Background(), "k")
		took := time.Since(start)
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Get %d from a paused Redis = %v, want ErrUnavailable", i, err)
		}
		if took > time.Second {
			t.Fatalf("Get %d took %s, want at most 1s", i, took)
		}
		slowest = max(slowest, took)
		if !wasOpen {
			continue
		}
		if took > fastLimit {
			t.Fatalf("Get %d took %s with the breaker open, want under %s", i, took, fastLimit)
		}
		if guard.RetryAfter(err) <= 0 {
			t.Fatalf("Get %d refused by the open breaker without a RetryAfter hint: %v", i, err)
		}
		slowestFast = max(slowestFast, took)
		fast++
	}
	t.Logf("paused Redis: slowest call %s, slowest with the breaker open %s", slowest, slowestFast)
	if want := calls - guard.DefaultFailureThreshold; fast != want {
		t.Fatalf("%d of %d calls were refused by the open breaker, want %d", fast, calls, want)
	}
}

// awaitRecovery polls (bounded) until a Get succeeds again, moving the
// breaker's clock past the cool-down before each attempt so that it
// probes at once.
func awaitRecovery(t *testing.T, g *guard.Store, c *testenv.Clock) {
	t.Helper()
	for range 100 {
		c.Advance(guard.DefaultMaxCooldown)
		v, err := g.Get(context.Background(), "k")
		if err == nil {
			if string(v) != "v" {
				t.Fatalf("Get after recovery = %q, want %q", v, "v")
			}
			if g.State() != guard.Closed {
				t.Fatalf("state after a successful probe = %s, want closed", g.State())
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("store did not recover after SIGCONT (state %s)", g.State())
}

// TestRedisRefusingWrites: a real redis-server told to take writes only
// with a replica in sync (min-replicas-to-write 1, and it has none)
// answers every write NOREPLICAS at once, as a master does while a
// Sentinel switchover cuts it off. The writes fail as unavailable, fail
// closed, but the reads keep working: 100 refused writes do not open the
// breaker.
func TestRedisRefusingWrites(t *testing.T) {
	srv := testenv.Redis(t)
	opts, err := redisstore.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	client := goredis.NewUniversalClient(opts)
	g := guard.New(redisstore.New(client, "guardtest:"), guard.Options{Now: newClock().Now})
	t.Cleanup(func() { _ = g.Close() })
	ctx := context.Background()
	if err := g.Put(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if err := client.ConfigSet(ctx, "min-replicas-to-write", "1").Err(); err != nil {
		t.Fatalf("CONFIG SET: %v", err)
	}
	for i := range 100 {
		err := g.Put(ctx, "k", []byte("w"), 0)
		if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "NOREPLICAS") {
			t.Fatalf("Put %d = %v, want NOREPLICAS as ErrUnavailable", i, err)
		}
	}
	if g.State() != guard.Closed {
		t.Fatalf("state after 100 refused writes = %s, want closed", g.State())
	}
	if v, err := g.Get(ctx, "k"); err != nil || string(v) != "v" {
		t.Fatalf("Get while writes are refused = %q, %v; want %q", v, err, "v")
	}
}
