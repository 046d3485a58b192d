package redis

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/storetest"
)

// quietLogger drops go-redis's internal log lines (dial retries during the
// outage tests); failures show up as errors in the assertions instead.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	goredis.SetLogger(quietLogger{})
	os.Exit(m.Run())
}

// prefixes gives every store of a test run its own key space on the shared
// server.
var prefixes atomic.Int64

func uniquePrefix() string {
	return "test" + strconv.FormatInt(prefixes.Add(1), 10) + ":"
}

func newClient(t testing.TB, url string) goredis.UniversalClient {
	t.Helper()
	opts, err := ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	return goredis.NewUniversalClient(opts)
}

// silentServer is the address of a socket that accepts connections and
// never answers, like a paused Redis; it closes when the test ends.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return l.Addr().String()
}

func TestConformance(t *testing.T) {
	srv := testenv.Redis(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return New(newClient(t, srv.URL()), uniquePrefix())
	})
}

// TestConformanceCluster runs the suite through a ClusterClient against a
// one-node Redis Cluster, which refuses multi-key commands whose keys hash
// to different slots: it proves the prefix keeps the callers' hash tags.
func TestConformanceCluster(t *testing.T) {
	srv := testenv.RedisCluster(t)
	url := "redis+cluster://" + srv.Addr
	storetest.Run(t, func(t *testing.T) store.Store {
		c := newClient(t, url)
		if _, ok := c.(*goredis.ClusterClient); !ok {
			t.Fatalf("%s gave a %T, want *redis.ClusterClient", url, c)
		}
		return New(c, uniquePrefix())
	})
	t.Run("CrossSlot", func(t *testing.T) { testCrossSlot(t, url) })
}

// TestConformanceCluster3 runs the suite on a real three-master cluster,
// where single-key calls land on different nodes (and List must walk all
// of them) while the multi-key calls stay on their hash tag's node.
func TestConformanceCluster3(t *testing.T) {
	c := testenv.RedisCluster3(t)
	storetest.Run(t, func(t *testing.T) store.Store { return New(newClient(t, c.URL()), uniquePrefix()) })
	t.Run("CrossSlot", func(t *testing.T) { testCrossSlot(t, c.URL()) })
}

// testCrossSlot checks that keys without a shared hash tag are refused by
// the cluster, as a caller error rather than unavailability.
func testCrossSlot(t *testing.T, url string) {
	s := New(newClient(t, url), "")
	defer s.Close()
	ctx := context.Background()
	err := s.CreateIndexed(ctx, "{a}:rec", []byte("v"), map[string]string{"{b}:idx": "rec"})
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("CreateIndexed across hash tags = %v, want a CROSSSLOT error (not unavailability)", err)
	}
	if _, err := s.Get(ctx, "{a}:rec"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after a refused CreateIndexed = %v, want ErrNotFound", err)
	}
}

func TestPrefixAndHashTags(t *testing.T) {
	srv := testenv.Redis(t)
	ctx := context.Background()
	s := New(newClient(t, srv.URL()), "")
	defer s.Close()
	if s.Prefix() != DefaultPrefix {
		t.Fatalf("Prefix() = %q, want %q", s.Prefix(), DefaultPrefix)
	}
	if err := s.Put(ctx, "{users}:user:1", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	raw := s.Client()
	if v, err := raw.Get(ctx, "authgate:{users}:user:1").Result(); err != nil || v != "v" {
		t.Fatalf("raw GET of the prefixed key = %q, %v", v, err)
	}
	if _, err := raw.Get(ctx, "{users}:user:1").Result(); !errors.Is(err, goredis.Nil) {
		t.Fatalf("raw GET of the unprefixed key = %v, want redis.Nil", err)
	}
	if _, err := s.Allow(ctx, "{ip}:1.2.3.4", 3, time.Minute); err != nil {
		t.Fatal(err)
	}
	if n, err := raw.Exists(ctx, "rate:authgate:{ip}:1.2.3.4").Result(); err != nil || n != 1 {
		t.Fatalf("rate limit key not at rate:authgate:{ip}:...: %d, %v", n, err)
	}
	// Two stores with different prefixes do not see each other's keys.
	other := New(newClient(t, srv.URL()), "other:")
	defer other.Close()
	if _, err := other.Get(ctx, "{users}:user:1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get through another prefix = %v, want ErrNotFound", err)
	}
}

func TestCheckPrefix(t *testing.T) {
	for _, ok := range []string{"", "authgate:", "app1/auth:"} {
		if err := CheckPrefix(ok); err != nil {
			t.Errorf("CheckPrefix(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"{x}:", "a{", "b}"} {
		if err := CheckPrefix(bad); err == nil {
			t.Errorf("CheckPrefix(%q) = nil, want an error", bad)
		}
	}
}

func TestWrongTypeIsNotUnavailable(t *testing.T) {
	srv := testenv.Redis(t)
	s := New(newClient(t, srv.URL()), uniquePrefix())
	defer s.Close()
	ctx := context.Background()
	if err := s.AddMember(ctx, "set", "m", 0); err != nil {
		t.Fatal(err)
	}
	_, err := s.Get(ctx, "set")
	if err == nil || errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of a set = %v, want a WRONGTYPE error that is not ErrUnavailable", err)
	}
}

// TestOutage stops the server: every method must fail with ErrUnavailable,
// and the store must work again once the server is back.
func TestOutage(t *testing.T) {
	srv := testenv.Redis(t)
	s := New(newClient(t, srv.URL()+"?dial_timeout=500ms&dialer_retries=1&max_retries=-1"), uniquePrefix())
	defer s.Close()
	ctx := context.Background()
	if err := s.Put(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	for name, err := range storetest.CallEach(ctx, s) {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s with redis stopped = %v, want ErrUnavailable", name, err)
		}
	}

	srv.Start()
	deadline := time.Now().Add(5 * time.Second)
	for s.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("store did not recover within 5s of redis coming back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.Put(ctx, "k", []byte("again"), 0); err != nil {
		t.Fatalf("Put after recovery: %v", err)
	}
	if n, err := s.Incr(ctx, "n", time.Minute); err != nil || n != 1 {
		t.Fatalf("Incr after recovery = %d, %v", n, err)
	}
}

// TestUnresponsiveServer talks to a socket that accepts connections and
// never answers, like a paused Redis: calls end with ErrUnavailable at the
// read timeout or the caller's deadline.
func TestUnresponsiveServer(t *testing.T) {
	s := New(newClient(t, "redis://"+silentServer(t)+"?read_timeout=200ms&dialer_retries=1&max_retries=-1&protocol=2"), "")
	defer s.Close()
	if _, err := s.Get(context.Background(), "k"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Get from a silent server = %v, want ErrUnavailable", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := s.CreateIndexed(ctx, "{u}:r", []byte("v"), map[string]string{"{u}:i": "r"})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("CreateIndexed from a silent server = %v, want ErrUnavailable", err)
	}
}

func TestUpdateConflict(t *testing.T) {
	srv := testenv.Redis(t)
	s := New(newClient(t, srv.URL()), uniquePrefix())
	defer s.Close()
	other := New(newClient(t, srv.URL()), s.Prefix())
	defer other.Close()
	ctx := context.Background()
	calls := 0
	// Another client writes the key on every attempt: Update must give up
	// with ErrConflict instead of looping forever.
	err := s.Update(ctx, "k", func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		calls++
		if err := other.Put(ctx, "k", []byte(strconv.Itoa(calls)), 0); err != nil {
			return nil, 0, err
		}
		return []byte("mine"), 0, nil
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Update under constant interference = %v, want ErrConflict", err)
	}
	if calls != updateAttempts {
		t.Fatalf("fn called %d times, want %d", calls, updateAttempts)
	}
	v, err := s.Get(ctx, "k")
	if err != nil || string(v) == "mine" {
		t.Fatalf("value after a failed Update = %q, %v; must be the other writer's", v, err)
	}
}

func TestTTLRounding(t *testing.T) {
	for in, want := range map[time.Duration]time.Duration{
		0:                             0,
		time.Nanosecond:               time.Millisecond,
		1500 * time.Microsecond:       2 * time.Millisecond,
		time.Second:                   time.Second,
		time.Second + time.Nanosecond: time.Second + time.Millisecond,
	} {
		if got, err := checkTTL("x", in); err != nil || got != want {
			t.Errorf("checkTTL(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := checkTTL("x", -1); err == nil {
		t.Error("checkTTL(-1) succeeded")
	}
}

func BenchmarkRedis(b *testing.B) {
	srv := testenv.Redis(b)
	storetest.Bench(b, func(b *testing.B) store.Store {
		return New(newClient(b, srv.URL()), "bench:")
	})
}
