package redis

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/defaults"
	"github.com/authgate/authgate/store"
)

// TestParseURLDefaultTimeouts pins the fail-fast client defaults every
// URL form gets, and that the context deadline reaches the socket in the
// client go-redis builds from them: without it store/guard's deadlines
// could not cut a hung read short.
func TestParseURLDefaultTimeouts(t *testing.T) {
	for _, url := range []string{"redis://h:1/0", "redis+sentinel://h:1/mymaster", "redis+cluster://h:1,h:2"} {
		t.Run(url, func(t *testing.T) {
			o, err := ParseURL(url)
			if err != nil {
				t.Fatal(err)
			}
			if o.DialTimeout != defaults.RedisDialTimeout || o.ReadTimeout != defaults.RedisReadTimeout ||
				o.WriteTimeout != defaults.RedisWriteTimeout || o.PoolTimeout != defaults.RedisPoolTimeout {
				t.Errorf("timeouts dial=%s read=%s write=%s pool=%s, want %s/%s/%s/%s",
					o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout,
					defaults.RedisDialTimeout, defaults.RedisReadTimeout, defaults.RedisWriteTimeout, defaults.RedisPoolTimeout)
			}
			if o.DialerRetries != 1 || o.MaxRetries != 1 {
				t.Errorf("retries dialer=%d commands=%d, want 1 and 1", o.DialerRetries, o.MaxRetries)
			}
			if !o.ContextTimeoutEnabled {
				t.Error("ContextTimeoutEnabled is off")
			}
			switch {
			case o.IsClusterMode:
				if !o.Cluster().ContextTimeoutEnabled {
					t.Error("cluster client options lost ContextTimeoutEnabled")
				}
			case o.MasterName != "":
				if !o.Failover().ContextTimeoutEnabled {
					t.Error("failover client options lost ContextTimeoutEnabled")
				}
			default:
				if !o.Simple().ContextTimeoutEnabled {
					t.Error("client options lost ContextTimeoutEnabled")
				}
			}
		})
	}
}

func TestParseURLTimeoutOverrides(t *testing.T) {
	o, err := ParseURL("redis://h?read_timeout=2s&pool_timeout=3s")
	if err != nil {
		t.Fatal(err)
	}
	if o.ReadTimeout != 2*time.Second || o.PoolTimeout != 3*time.Second {
		t.Errorf("read=%s pool=%s, want the URL's 2s and 3s", o.ReadTimeout, o.PoolTimeout)
	}
	if o.WriteTimeout != defaults.RedisWriteTimeout || o.DialTimeout != defaults.RedisDialTimeout || !o.ContextTimeoutEnabled {
		t.Errorf("options the URL did not name changed: %+v", o)
	}
}

// TestContextDeadlineCutsRead: with the default options a caller's
// deadline shorter than the read timeout ends a command to a server that
// never answers at that deadline (ContextTimeoutEnabled), not at the
// socket timeout. The gate relies on it to keep its total store budget.
func TestContextDeadlineCutsRead(t *testing.T) {
	s := New(newClient(t, "redis://"+silentServer(t)), "")
	defer s.Close()
	const budget = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	start := time.Now()
	_, err := s.Get(ctx, "k")
	took := time.Since(start)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Get from a silent server = %v, want ErrUnavailable", err)
	}
	if took > defaults.RedisReadTimeout-100*time.Millisecond {
		t.Fatalf("Get with a %s deadline took %s: the context deadline did not reach the socket", budget, took)
	}
}
