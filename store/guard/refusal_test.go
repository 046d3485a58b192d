package guard_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/guard"
)

// refusedWrite is a backend's instant write refusal, as store/redis
// reports Redis NOREPLICAS or READONLY.
type refusedWrite struct{}

func (refusedWrite) Error() string      { return "NOREPLICAS Not enough good replicas to write." }
func (refusedWrite) WriteRefused() bool { return true }

var errRefused = fmt.Errorf("fake: put: %w: %w", store.ErrUnavailable, refusedWrite{})

// TestWriteRefusalsDoNotTrip: a backend that refuses writes at once while
// it serves reads (a Sentinel switchover) fails those writes as
// unavailable but never opens the breaker, which would take the reads
// down too. As a probe a refusal proves nothing: the breaker stays open
// with its cool-down served, and the next call probes.
func TestWriteRefusalsDoNotTrip(t *testing.T) {
	g, f, c, _ := newGuard(t, guard.Options{})
	ctx := context.Background()
	f.fail(errRefused)
	for i := range 3 * guard.DefaultMinRequests {
		if err := g.Put(ctx, "k", []byte("v"), 0); !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, errRefused) {
			t.Fatalf("Put %d = %v, want the refusal, matching ErrUnavailable", i, err)
		}
	}
	if g.State() != guard.Closed {
		t.Fatalf("state after refused writes = %s, want closed", g.State())
	}
	f.fail(nil)
	if _, err := g.Get(ctx, "k"); err != nil {
		t.Fatalf("Get after refused writes = %v", err)
	}

	trip(t, g, f, guard.DefaultFailureThreshold)
	if g.State() != guard.Open {
		t.Fatalf("state = %s, want open", g.State())
	}
	c.Advance(guard.DefaultCooldown)
	f.fail(errRefused)
	if err := g.Put(ctx, "k", []byte("v"), 0); !errors.Is(err, errRefused) {
		t.Fatalf("probe Put = %v, want the refusal", err)
	}
	if g.State() != guard.Open {
		t.Fatalf("state = %s, want open", g.State())
	}
	f.fail(nil)
	if _, err := g.Get(ctx, "k"); err != nil {
		t.Fatalf("Get right after the refused probe = %v, want a probe that succeeds", err)
	}
	if g.State() != guard.Closed {
		t.Fatalf("state = %s, want closed", g.State())
	}
}
