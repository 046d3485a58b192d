// Package ratelimit is the one shape of a store-backed rate limit the
// flows share (sign-in, sign-up): count one event under a key, and refuse
// with the flow's own Clerk error and a Retry-After when over the limit;
// and the claims a single request takes (a resend wait, the right to
// finish an attempt).
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

// AllowIP is Allow for a limit per caller IP, counted under key+ip. A
// caller without an IP (a test, an internal call) is not limited.
func AllowIP(ctx context.Context, st Limiter, key, ip string, limit int, window time.Duration, deny *apierr.Error) error {
	if ip == "" {
		return nil
	}
	return Allow(ctx, st, key+ip, limit, window, deny)
}

// Sends are the code-send limits of a flow, each per Window: per
// identifier, so that one address or number is not flooded, and per IP,
// so that one caller does not flood many.
type Sends struct {
	PerIdentifier int
	PerIP         int
	Window        time.Duration
}

// Allow counts one code send under idKey (the identifier's) and, for a
// caller with an IP, under ipKey+ip (AllowIP); over either limit it
// answers verification-code too_many_requests.
func (l Sends) Allow(ctx context.Context, st Limiter, idKey, ipKey, ip string) error {
	deny := apierr.VerificationCodeTooManyRequests
	if err := Allow(ctx, st, idKey, l.PerIdentifier, l.Window, deny); err != nil {
		return err
	}
	return AllowIP(ctx, st, ipKey, ip, l.PerIP, l.Window, deny)
}
