package ratelimit

import (
	"context"
	"errors"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/store"
)

// Creator is the store call Resend needs.
type Creator interface {
	Create(ctx context.Context, key string, value []byte, ttl time.Duration) error
}

// Resend is the resend wait of a code: one send under key per wait; a
// second one within the wait answers verification-code
// too_many_requests with Retry-After wait.
func Resend(ctx context.Context, st Creator, key string, wait time.Duration) error {
	return Claim(ctx, st, key, wait, apierr.VerificationCodeTooManyRequests.WithRetryAfter(wait))
}

// Claim takes key for ttl if nobody holds it: a right that only one
// request gets (to finish an attempt, to send within a resend wait),
// however many race, on any instance. While it is held the answer is
// taken, the caller's own error.
func Claim(ctx context.Context, st Creator, key string, ttl time.Duration, taken error) error {
	err := st.Create(ctx, key, []byte("1"), ttl)
	if errors.Is(err, store.ErrExists) {
		return taken
	}
	return err
}
