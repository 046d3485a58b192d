// Package workcount counts the work a service does, for the tests that
// compare two requests' work one for one (enumeration safety: a request
// about an unknown identifier must cost what one about a known identifier
// costs). Store wraps a store.Store and counts each call as its method
// and key prefix ("Put sia"), so that requests whose keys differ only
// after the prefix compare equal when they do the same; Work counts
// anything else a test wants counted beside (key uses, deliveries).
package workcount

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/authgate/authgate/store"
)

// Work is a set of counters safe for concurrent use (background jobs
// count too).
type Work struct {
	mu     sync.Mutex
	counts map[string]int
}

// Add counts one of what.
func (w *Work) Add(what string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.counts == nil {
		w.counts = map[string]int{}
	}
	w.counts[what]++
}

// Take returns the counts so far and starts over.
func (w *Work) Take() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.counts
	w.counts = nil
	return c
}

// Calls is how many calls of method counts holds, over all key prefixes.
func Calls(counts map[string]int, method string) int {
	n := 0
	for k, v := range counts {
		if m, _, _ := strings.Cut(k, " "); m == method {
			n += v
		}
	}
	return n
}

// Store is a store.Store whose calls are counted into W.
type Store struct {
	store.Store
	W *Work
}

func (c *Store) n(method, key string) {
	prefix, _, _ := strings.Cut(key, ":")
	c.W.Add(method + " " + prefix)
}

func (c *Store) Get(ctx context.Context, key string) ([]byte, error) {
	c.n("Get", key)
	return c.Store.Get(ctx, key)
}

func (c *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	c.n("Put", key)
	return c.Store.Put(ctx, key, value, ttl)
}

func (c *Store) Create(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	c.n("Create", key)
	return c.Store.Create(ctx, key, value, ttl)
}

func (c *Store) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		c.n("Delete", k)
	}
	return c.Store.Delete(ctx, keys...)
}

func (c *Store) CompareAndDelete(ctx context.Context, key string, expected []byte) (bool, error) {
	c.n("CompareAndDelete", key)
	return c.Store.CompareAndDelete(ctx, key, expected)
}

func (c *Store) Update(ctx context.Context, key string, fn store.UpdateFunc) error {
	c.n("Update", key)
	return c.Store.Update(ctx, key, fn)
}

func (c *Store) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	c.n("Incr", key)
	return c.Store.Incr(ctx, key, ttl)
}

func (c *Store) Allow(ctx context.Context, key string, limit int, period time.Duration) (store.RateResult, error) {
	c.n("Allow", key)
	return c.Store.Allow(ctx, key, limit, period)
}

func (c *Store) CreateIndexed(ctx context.Context, key string, value []byte, index map[string]string) error {
	c.n("CreateIndexed", key)
	return c.Store.CreateIndexed(ctx, key, value, index)
}

func (c *Store) DeleteIndexed(ctx context.Context, key string, index []string) error {
	c.n("DeleteIndexed", key)
	return c.Store.DeleteIndexed(ctx, key, index)
}

func (c *Store) AddMember(ctx context.Context, key, member string, ttl time.Duration) error {
	c.n("AddMember", key)
	return c.Store.AddMember(ctx, key, member, ttl)
}

func (c *Store) RemoveMember(ctx context.Context, key string, members ...string) error {
	c.n("RemoveMember", key)
	return c.Store.RemoveMember(ctx, key, members...)
}

func (c *Store) Members(ctx context.Context, key string) ([]string, error) {
	c.n("Members", key)
	return c.Store.Members(ctx, key)
}
