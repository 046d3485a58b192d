package redis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	goredis "github.com/redis/go-redis/v9"

	"github.com/authgate/authgate/store"
)

// DefaultPrefix is the key prefix New uses when given an empty one.
const DefaultPrefix = "authgate:"

const (
	// updateAttempts bounds the optimistic retries of Update before it
	// gives up with store.ErrConflict.
	updateAttempts = 100
	// updateMaxBackoff caps the random pause between Update retries.
	updateMaxBackoff = 20 * time.Millisecond
)

// compareAndDeleteScript deletes KEYS[1] when its value equals ARGV[1].
// Comparing SHA-1 digests first keeps the comparison time independent of
// how many leading bytes of the secret match.
var compareAndDeleteScript = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and redis.sha1hex(v) == redis.sha1hex(ARGV[1]) and v == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

// incrScript increments KEYS[1] and, when it created the key, sets its TTL
// to ARGV[1] milliseconds (0: none) in the same step.
var incrScript = goredis.NewScript(`
local existed = redis.call('EXISTS', KEYS[1])
local n = redis.call('INCR', KEYS[1])
local ttl = tonumber(ARGV[1])
if existed == 0 and ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return n
`)

// createIndexedScript writes KEYS[i] = ARGV[i] for every i when none of
// the keys exists. It returns 0 on success, or the 1-based position of the
// first key that exists.
var createIndexedScript = goredis.NewScript(`
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    return i
  end
end
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i])
end
return 0
`)

// Store is the Redis implementation of store.Store. It is safe for
// concurrent use.
type Store struct {
	client  goredis.UniversalClient
	prefix  string
	limiter *redis_rate.Limiter
	closed  atomic.Bool

	closeOnce sync.Once
	closeErr  error
}

// Store is a store.Store and a store.Lister (List, in list.go).
var (
	_ store.Store  = (*Store)(nil)
	_ store.Lister = (*Store)(nil)
)

// New returns a store over client whose keys all start with prefix
// (DefaultPrefix when empty). The store owns the client: Close closes it.
// Use CheckPrefix first when the prefix comes from configuration.
func New(client goredis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{client: client, prefix: prefix, limiter: redis_rate.NewLimiter(client)}
}

// CheckPrefix reports whether prefix is usable as a key prefix: it must not
// contain '{' or '}', which would change the Redis Cluster hash slot of
// keys and break the multi-key operations.
func CheckPrefix(prefix string) error {
	if strings.ContainsAny(prefix, "{}") {
		return fmt.Errorf("redis: key prefix %q must not contain '{' or '}' (they would override the keys' hash tags)", prefix)
	}
	return nil
}

// Client returns the underlying client.
func (s *Store) Client() goredis.UniversalClient { return s.client }

// Prefix returns the key prefix in use.
func (s *Store) Prefix() string { return s.prefix }

func (s *Store) key(k string) string { return s.prefix + k }

// errClosed is returned (wrapped) by every method after Close.
var errClosed = errors.New("store closed")

// ready fails fast after Close, without going through the client's
// retry logic.
func (s *Store) ready(op string) error {
	if s.closed.Load() {
		return fmt.Errorf("redis: %s: %w: %w", op, store.ErrUnavailable, errClosed)
	}
	return nil
}

func (s *Store) keys(ks []string) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = s.prefix + k
	}
	return out
}

// Close closes the client. Later calls return errors wrapping
// store.ErrUnavailable. Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if err := s.client.Close(); err != nil {
			s.closeErr = fmt.Errorf("redis: close: %w", err)
		}
	})
	return s.closeErr
}

// Ping sends PING.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.ready("ping"); err != nil {
		return err
	}
	return wrap("ping", s.client.Ping(ctx).Err())
}

// Get returns the value at key, or store.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := s.ready("get"); err != nil {
		return nil, err
	}
	v, err := s.client.Get(ctx, s.key(key)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, wrap("get", err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// Put writes value at key with SET (PX ttl when ttl > 0).
func (s *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	ttl, err := s.readyTTL("put", ttl)
	if err != nil {
		return err
	}
	return wrap("put", s.client.Set(ctx, s.key(key), value, ttl).Err())
}

// Create writes value at key with SET NX.
func (s *Store) Create(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	ttl, err := s.readyTTL("create", ttl)
	if err != nil {
		return err
	}
	ok, err := s.client.SetNX(ctx, s.key(key), value, ttl).Result()
	if err != nil {
		return wrap("create", err)
	}
	if !ok {
		return fmt.Errorf("redis: create: %w", store.ErrExists)
	}
	return nil
}

// Delete removes the keys with one DEL (keys must share a hash tag on
// Redis Cluster).
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if err := s.ready("delete"); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	return wrap("delete", s.client.Del(ctx, s.keys(keys)...).Err())
}

// CompareAndDelete deletes key when its value equals expected, atomically
// in a Lua script.
func (s *Store) CompareAndDelete(ctx context.Context, key string, expected []byte) (bool, error) {
	if err := s.ready("compare and delete"); err != nil {
		return false, err
	}
	n, err := compareAndDeleteScript.Run(ctx, s.client, []string{s.key(key)}, expected).Int64()
	if err != nil {
		return false, wrap("compare and delete", err)
	}
	return n == 1, nil
}

// Update is an optimistic read-modify-write: WATCH key, GET, call fn, then
// MULTI/SET-or-DEL/EXEC. When another client changed the key in between it
// retries after a short random pause, up to 100 times, then returns an
// error wrapping store.ErrConflict. fn may therefore run more than once.
func (s *Store) Update(ctx context.Context, key string, fn store.UpdateFunc) error {
	if err := s.ready("update"); err != nil {
		return err
	}
	k := s.key(key)
	for attempt := range updateAttempts {
		var fnErr error
		ran := false // the callback got to the end without error
		err := s.client.Watch(ctx, func(tx *goredis.Tx) error {
			cur, err := tx.Get(ctx, k).Bytes()
			exists := true
			if errors.Is(err, goredis.Nil) {
				cur, exists = nil, false
			} else if err != nil {
				return err
			} else if cur == nil {
				cur = []byte{}
			}
			next, ttl, err := fn(cur, exists)
			if err != nil {
				fnErr = err
				return err
			}
			if next == nil && !exists {
				ran = true
				return nil
			}
			if ttl, err = checkTTL("update", ttl); err != nil {
				fnErr = err
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
				if next == nil {
					p.Del(ctx, k)
				} else {
					p.Set(ctx, k, next, ttl)
				}
				return nil
			})
			ran = err == nil
			return err
		}, k)
		if fnErr != nil {
			return fnErr
		}
		if err == nil && !ran {
			// ClusterClient.Watch can give up retrying a closed node
			// connection and still return nil; nothing was written.
			err = errors.New("watch ended without running the transaction")
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, goredis.TxFailedErr) {
			return wrap("update", err)
		}
		if err := pause(ctx, attempt); err != nil {
			return wrap("update", err)
		}
	}
	return fmt.Errorf("redis: update: gave up after %d attempts: %w", updateAttempts, store.ErrConflict)
}

// pause sleeps a random time that grows with the attempt number, or
// returns the context's error.
func pause(ctx context.Context, attempt int) error {
	limit := time.Duration(attempt+1) * time.Millisecond
	limit = min(limit, updateMaxBackoff)
	t := time.NewTimer(rand.N(limit) + 1)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Incr increments the counter at key in a Lua script that also sets the
// TTL when it creates the counter.
func (s *Store) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	ttl, err := s.readyTTL("incr", ttl)
	if err != nil {
		return 0, err
	}
	n, err := incrScript.Run(ctx, s.client, []string{s.key(key)}, ttl.Milliseconds()).Int64()
	if err != nil {
		return 0, wrap("incr", err)
	}
	return n, nil
}

// CreateIndexed writes key and its index keys in a Lua script that first
// checks that none exists. All keys must share a hash tag on Redis Cluster.
func (s *Store) CreateIndexed(ctx context.Context, key string, value []byte, index map[string]string) error {
	if err := s.ready("create indexed"); err != nil {
		return err
	}
	if _, dup := index[key]; dup {
		return errors.New("redis: create indexed: index key equals the record key")
	}
	idx := make([]string, 0, len(index))
	for k := range index {
		idx = append(idx, k)
	}
	sort.Strings(idx)
	keys := make([]string, 0, 1+len(idx))
	args := make([]any, 0, 1+len(idx))
	keys = append(keys, s.key(key))
	args = append(args, value)
	for _, k := range idx {
		keys = append(keys, s.key(k))
		args = append(args, index[k])
	}
	pos, err := createIndexedScript.Run(ctx, s.client, keys, args...).Int64()
	if err != nil {
		return wrap("create indexed", err)
	}
	switch {
	case pos == 0:
		return nil
	case pos == 1:
		return fmt.Errorf("redis: create indexed: %w", store.ErrExists)
	case pos >= 2 && int(pos) <= len(keys):
		return &store.IndexTakenError{Key: idx[pos-2]}
	default:
		return fmt.Errorf("redis: create indexed: unexpected script result %d", pos)
	}
}

// DeleteIndexed deletes key and the index keys with one DEL.
func (s *Store) DeleteIndexed(ctx context.Context, key string, index []string) error {
	if err := s.ready("delete indexed"); err != nil {
		return err
	}
	keys := make([]string, 0, 1+len(index))
	keys = append(keys, s.key(key))
	keys = append(keys, s.keys(index)...)
	return wrap("delete indexed", s.client.Del(ctx, keys...).Err())
}

// AddMember runs SADD and PEXPIRE (PERSIST when ttl is 0) in one MULTI.
func (s *Store) AddMember(ctx context.Context, key, member string, ttl time.Duration) error {
	ttl, err := s.readyTTL("add member", ttl)
	if err != nil {
		return err
	}
	k := s.key(key)
	_, err = s.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.SAdd(ctx, k, member)
		if ttl > 0 {
			p.PExpire(ctx, k, ttl)
		} else {
			p.Persist(ctx, k)
		}
		return nil
	})
	return wrap("add member", err)
}

// RemoveMember runs SREM.
func (s *Store) RemoveMember(ctx context.Context, key string, members ...string) error {
	if err := s.ready("remove member"); err != nil {
		return err
	}
	if len(members) == 0 {
		return nil
	}
	args := make([]any, len(members))
	for i, m := range members {
		args[i] = m
	}
	return wrap("remove member", s.client.SRem(ctx, s.key(key), args...).Err())
}

// Members runs SMEMBERS.
func (s *Store) Members(ctx context.Context, key string) ([]string, error) {
	if err := s.ready("members"); err != nil {
		return nil, err
	}
	m, err := s.client.SMembers(ctx, s.key(key)).Result()
	if err != nil {
		return nil, wrap("members", err)
	}
	if m == nil {
		m = []string{}
	}
	return m, nil
}

// Allow counts one event with redis_rate's GCRA script, burst = limit.
func (s *Store) Allow(ctx context.Context, key string, limit int, period time.Duration) (store.RateResult, error) {
	if err := s.ready("allow"); err != nil {
		return store.RateResult{}, err
	}
	if limit <= 0 || period <= 0 {
		return store.RateResult{}, fmt.Errorf("redis: allow: invalid limit %d per %s", limit, period)
	}
	res, err := s.limiter.Allow(ctx, s.key(key), redis_rate.Limit{Rate: limit, Burst: limit, Period: period})
	if err != nil {
		return store.RateResult{}, wrap("allow", err)
	}
	if res.Allowed > 0 {
		return store.RateResult{Allowed: true, Remaining: res.Remaining}, nil
	}
	retry := res.RetryAfter
	if retry <= 0 {
		// Rounding in the script can yield 0 at the very edge; never tell
		// a refused caller to retry immediately.
		retry = time.Millisecond
	}
	return store.RateResult{Allowed: false, Remaining: 0, RetryAfter: retry}, nil
}

// readyTTL is ready, then checkTTL: what every write with a TTL checks
// before it sends anything.
func (s *Store) readyTTL(op string, ttl time.Duration) (time.Duration, error) {
	if err := s.ready(op); err != nil {
		return 0, err
	}
	return checkTTL(op, ttl)
}

// checkTTL rejects negative TTLs and rounds positive ones up to whole
// milliseconds, the resolution of PX.
func checkTTL(op string, ttl time.Duration) (time.Duration, error) {
	if ttl < 0 {
		return 0, fmt.Errorf("redis: %s: negative ttl", op)
	}
	if r := ttl % time.Millisecond; r != 0 {
		ttl += time.Millisecond - r
	}
	return ttl, nil
}
