package users

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/bolt"
	"github.com/authgate/authgate/store/bolt/bolttest"
	redisstore "github.com/authgate/authgate/store/redis"
)

// quietLogger drops go-redis's own log lines; failures show in asserts.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func init() { goredis.SetLogger(quietLogger{}) }

// backend is one kind of store the user suite runs on.
type backend struct {
	name string
	// pair returns two stores over the same data, as two instances have
	// them: two clients of one Redis (or cluster); on bbolt, whose file
	// has one user, the same store twice.
	pair func(t *testing.T) (a, b store.Store)
	// passTTL makes the TTL of key pass (for claims: of services made
	// withShortClaims).
	passTTL func(t *testing.T, st store.Store, key string)
	now     func() time.Time
}

// claimTTLForTests is short so that a Redis claim expires quickly in the
// stale-claim tests; on bbolt the clock is moved instead.
const claimTTLForTests = 300 * time.Millisecond

var prefixes atomic.Int64

func redisBackend(name, url string) backend {
	return backend{
		name: name,
		pair: func(t *testing.T) (store.Store, store.Store) {
			prefix := "users" + strconv.FormatInt(prefixes.Add(1), 10) + ":"
			open := func() store.Store {
				opt, err := redisstore.ParseURL(url)
				if err != nil {
					t.Fatal(err)
				}
				st := redisstore.New(goredis.NewUniversalClient(opt), prefix)
				t.Cleanup(func() { _ = st.Close() })
				return st
			}
			return open(), open()
		},
		passTTL: func(t *testing.T, st store.Store, key string) {
			t.Helper()
			// Redis expires the key by its own clock: wait for that.
			deadline := time.Now().Add(5 * time.Second)
			for {
				_, err := st.Get(context.Background(), key)
				if errors.Is(err, store.ErrNotFound) {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s still there 5 s after its TTL: %v", key, err)
				}
				time.Sleep(10 * time.Millisecond)
			}
		},
		now: time.Now,
	}
}

// backends starts each store the suite runs on once per test: bbolt (on
// a settable clock), one redis-server and a real 3-master cluster.
func backends(t *testing.T) []backend {
	clock := testenv.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	boltBackend := backend{
		name: "bolt",
		pair: func(t *testing.T) (store.Store, store.Store) {
			st := bolttest.Open(t, bolt.WithClock(clock.Now))
			return st, st
		},
		passTTL: func(*testing.T, store.Store, string) { clock.Advance(time.Minute) },
		now:     clock.Now,
	}
	return []backend{
		boltBackend,
		redisBackend("redis", testenv.Redis(t).URL()),
		redisBackend("cluster3", testenv.RedisCluster3(t).URL()),
	}
}

// plainPasswords is a Passwords without the cost of hashing: the suite
// is about storage.
type plainPasswords struct{}

func (plainPasswords) Hash(_ context.Context, pw string) (string, error) { return "plain:" + pw, nil }
func (plainPasswords) Validate(context.Context, string, []string) error  { return nil }
func (plainPasswords) CheckDigest(string, string) error                  { return nil }

func newTestService(b backend, st store.Store) *Service {
	return NewService(st, plainPasswords{}, b.now)
}

// plainService is a Service over st with plainPasswords and the real
// clock, for the tests on one bbolt store outside the backend suite.
func plainService(st store.Store, opts ...Option) *Service {
	return NewService(st, plainPasswords{}, time.Now, opts...)
}

// withShortClaims gives s claims that expire after claimTTLForTests, for
// the tests that wait for a claim to lapse. The others keep the default,
// which a loaded machine (or the race detector) never outlasts.
func withShortClaims(s *Service) *Service {
	s.claimTTL = claimTTLForTests
	return s
}

func bg() context.Context { return context.Background() }

// publicCode is the API error code of err, or "".
func publicCode(err error) string {
	var e *apierr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// wantCode fails unless err is the API error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if publicCode(err) != code {
		t.Fatalf("got %v, want %s", err, code)
	}
}

func mustCreate(t *testing.T, s *Service, nu NewUser) *User {
	t.Helper()
	u, err := s.Create(bg(), nu)
	if err != nil {
		t.Fatalf("Create(%+v): %v", nu, err)
	}
	return u
}

// wantFound fails unless Find gives the user with id.
func wantFound(t *testing.T, s *Service, k Kind, v, id string) {
	t.Helper()
	u, err := s.Find(bg(), k, v)
	if err != nil || u.ID != id {
		t.Fatalf("Find(%s %s) = %v, %v; want user %s", k, v, u, err, id)
	}
}

func wantNotFound(t *testing.T, s *Service, k Kind, v string) {
	t.Helper()
	if u, err := s.Find(bg(), k, v); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Find(%s %s) = %v, %v; want ErrNotFound", k, v, u, err)
	}
}

// indexOf returns the index key of an identifier.
func indexOf(t *testing.T, s *Service, k Kind, v string) string {
	t.Helper()
	key, err := s.indexKey(bg(), k, v)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// faulty wraps a store and fails the calls fail picks with an error
// wrapping store.ErrUnavailable, as an outage mid-operation would.
type faulty struct {
	store.Store
	mu   sync.Mutex
	fail func(op, key string) bool
}

func (f *faulty) set(fail func(op, key string) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
}

func (f *faulty) check(op, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil && f.fail(op, key) {
		return fmt.Errorf("injected %s %s: %w", op, key, store.ErrUnavailable)
	}
	return nil
}

func (f *faulty) Create(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if err := f.check("create", key); err != nil {
		return err
	}
	return f.Store.Create(ctx, key, v, ttl)
}

func (f *faulty) Update(ctx context.Context, key string, fn store.UpdateFunc) error {
	if err := f.check("update", key); err != nil {
		return err
	}
	return f.Store.Update(ctx, key, fn)
}

func (f *faulty) CompareAndDelete(ctx context.Context, key string, v []byte) (bool, error) {
	if err := f.check("cad", key); err != nil {
		return false, err
	}
	return f.Store.CompareAndDelete(ctx, key, v)
}

func (f *faulty) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if err := f.check("delete", k); err != nil {
			return err
		}
	}
	return f.Store.Delete(ctx, keys...)
}

// Unwrap lets Repair and Migrate list keys through the wrapper.
func (f *faulty) Unwrap() store.Store { return f.Store }

func isIndex(key string) bool  { return len(key) > 3 && key[:3] == indexPrefix }
func isRecord(key string) bool { return len(key) > 3 && key[:3] == recordPrefix }
