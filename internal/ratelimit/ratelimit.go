// Package ratelimit is the one shape of a store-backed rate limit the
// flows share (sign-in, sign-up): count one event under a key, and refuse
// with the flow's own Clerk error and a Retry-After when over the limit.
// The limits live in the store, so every instance counts together.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/store"
)

// Limiter is the store call a limit needs.
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, period time.Duration) (store.RateResult, error)
}

// Allow counts one event under key (stored as "rl:"+key) against limit
// per window. Over the limit it returns deny with Retry-After, at least
// one second (a client told "0" would retry at once); a store failure is
// returned wrapped, for the caller's outage handling.
func Allow(ctx context.Context, st Limiter, key string, limit int, window time.Duration, deny *apierr.Error) error {
	r, err := st.Allow(ctx, "rl:"+key, limit, window)
	if err != nil {
		return fmt.Errorf("checking rate limit: %w", err)
	}
	if !r.Allowed {
		return deny.WithRetryAfter(max(r.RetryAfter, time.Second))
	}
	return nil
}
