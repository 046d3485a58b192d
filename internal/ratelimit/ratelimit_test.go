package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/bolt/bolttest"
)

func TestAllow(t *testing.T) {
	st := bolttest.Open(t)
	ctx := context.Background()
	for i := range 2 {
		if err := Allow(ctx, st, "k", 2, time.Minute, apierr.TooManyRequests); err != nil {
			t.Fatalf("event %d: %v", i+1, err)
		}
	}
	err := Allow(ctx, st, "k", 2, time.Minute, apierr.TooManyRequests)
	var e *apierr.Error
	if !errors.As(err, &e) || !errors.Is(e, apierr.TooManyRequests) {
		t.Fatalf("third event: %v, want too_many_requests", err)
	}
	if e.RetryAfter < time.Second {
		t.Fatalf("Retry-After %v, want at least 1 s", e.RetryAfter)
	}
	// Another key counts apart.
	if err := Allow(ctx, st, "other", 2, time.Minute, apierr.TooManyRequests); err != nil {
		t.Fatalf("other key: %v", err)
	}
	st.Close()
	if err := Allow(ctx, st, "k", 2, time.Minute, apierr.TooManyRequests); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("closed store: %v, want ErrUnavailable wrapped", err)
	}
}
