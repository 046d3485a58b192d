package caddymodule

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/bolt"
	"github.com/authgate/authgate/store/guard"
	redisstore "github.com/authgate/authgate/store/redis"
)

// storePool shares one store per backend configuration across config
// reloads: a new config is provisioned before the old one is cleaned up,
// and a bbolt file can only be opened once.
var storePool = caddy.NewUsagePool()

type pooledStore struct {
	store.Store
}

// Destruct closes the store when the last config using it is gone.
func (p pooledStore) Destruct() error { return p.Close() }

// acquireStore returns the shared store for a backend configuration and
// the pool key to release it with.
func acquireStore(backend, path, url string) (store.Store, string, error) {
	key := backend + "|" + path + "|" + url
	v, _, err := storePool.LoadOrNew(key, func() (caddy.Destructor, error) {
		switch backend {
		case "file":
			st, err := bolt.Open(path)
			if err != nil {
				return nil, err
			}
			return pooledStore{guarded(st)}, nil
		case "redis":
			redisLogOnce.Do(func() { goredis.SetLogger(newRedisLogger(caddy.Log().Named("authgate.redis"))) })
			opts, err := redisstore.ParseURL(url)
			if err != nil {
				return nil, err
			}
			// A client connects lazily: no network I/O here.
			return pooledStore{guarded(redisstore.New(goredis.NewUniversalClient(opts), ""))}, nil
		}
		return nil, fmt.Errorf("unknown storage backend %q", backend)
	})
	if err != nil {
		return nil, "", err
	}
	return v.(pooledStore).Store, key, nil
}

var redisLogOnce sync.Once

// redisLogger sends go-redis's own messages (connection errors) to
// Caddy's log instead of stderr, at most one line a second with the count
// of the ones left out: during an outage go-redis reports every failed
// dial, which would flood the log.
type redisLogger struct {
	l          *zap.Logger
	next       *atomic.Int64 // unix ns before which lines are left out
	suppressed *atomic.Int64
}

func newRedisLogger(l *zap.Logger) redisLogger {
	return redisLogger{l: l, next: new(atomic.Int64), suppressed: new(atomic.Int64)}
}

func (r redisLogger) Printf(_ context.Context, format string, v ...any) {
	now := time.Now().UnixNano()
	next := r.next.Load()
	if now < next || !r.next.CompareAndSwap(next, now+int64(time.Second)) {
		r.suppressed.Add(1)
		return
	}
	r.l.Warn(fmt.Sprintf(format, v...), zap.Int64("suppressed", r.suppressed.Swap(0)))
}

// guarded puts deadlines and a circuit breaker around a backend, so that a
// hung store answers 503 fast instead of queueing requests, and its errors
// are logged once a second per kind instead of once a request. The guard
// is pooled with the store: one breaker per backend across reloads.
func guarded(st store.Store) store.Store {
	// A 2 s cap on the breaker's cool-down: after an outage the store is
	// back in use within about 2 s (the probe that finds it healthy closes
	// the breaker).
	m := processMetrics()
	// Writes get 900 ms, not the guard's default 1 s, so that a request
	// that ends in one failed write still answers within 1 s.
	return guard.New(st, guard.Options{
		Logger: caddy.Log().Named("authgate.store"), MaxCooldown: 2 * time.Second, WriteTimeout: 900 * time.Millisecond,
		Observe: m.storeCall, OnStateChange: m.breaker,
	})
}
