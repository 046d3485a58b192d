package signup

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/secret"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/bolt"
	"github.com/authgate/authgate/users"
)

// countingStore counts the store operations made through it, by kind.
type countingStore struct {
	*bolt.Store
	mu  sync.Mutex
	ops map[string]int
}

func (c *countingStore) count(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops[op]++
}

func (c *countingStore) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.ops
	c.ops = map[string]int{}
	return out
}

func (c *countingStore) Get(ctx context.Context, key string) ([]byte, error) {
	c.count("get")
	return c.Store.Get(ctx, key)
}

func (c *countingStore) Put(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	c.count("put")
	return c.Store.Put(ctx, key, v, ttl)
}

func (c *countingStore) Create(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	c.count("create")
	return c.Store.Create(ctx, key, v, ttl)
}

func (c *countingStore) Update(ctx context.Context, key string, fn store.UpdateFunc) error {
	c.count("update")
	return c.Store.Update(ctx, key, fn)
}

func (c *countingStore) Allow(ctx context.Context, key string, limit int, period time.Duration) (store.RateResult, error) {
	c.count("allow")
	return c.Store.Allow(ctx, key, limit, period)
}

// TestKnownAddressCostsTheSameWork: sending the code to a new address
// and the notice to a known one make the same store operations, one for
// one, and the same number of deliveries (in the background): the work
// does not tell them apart either.
func TestKnownAddressCostsTheSameWork(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Enabled = true })
	cs := &countingStore{Store: e.Store, ops: map[string]int{}}
	d := e.deps
	d.Store, d.Users = cs, users.NewService(cs, e.Passwords, e.Clock.Now)
	d.CodeKey = secret.New(cs, signin.CodeKeyName)
	svc := New(e.cfg, d)
	e.user(users.NewUser{Emails: []string{"owner@example.com"}, Password: goodPass})
	work := func(addr string) map[string]int {
		rq := e.client()
		res := e.startOn(svc, rq, addr)
		e.pool.Wait()
		cs.reset()
		if _, err := svc.PrepareVerification(e.ctx, rq, res.Attempt.ID, PrepareParams{Strategy: StrategyEmailCode}); err == nil {
			t.Fatal("a resend within 30 s went through")
		}
		e.Clock.Advance(31 * time.Second)
		cs.reset()
		if _, err := svc.PrepareVerification(e.ctx, rq, res.Attempt.ID, PrepareParams{Strategy: StrategyEmailCode}); err != nil {
			t.Fatal(err)
		}
		e.pool.Wait()
		return cs.reset()
	}
	fresh, known := work("fresh@example.com"), work("owner@example.com")
	if !maps.Equal(fresh, known) || fresh["get"] == 0 {
		t.Fatalf("store work differs: new %v, known %v", fresh, known)
	}
	if n := len(e.out.All(e.pool)); n != 4 {
		t.Fatalf("%d deliveries, want 4 (two codes, two notices)", n)
	}
}
