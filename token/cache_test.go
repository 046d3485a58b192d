package token

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/store/bolt/bolttest"
)

// cachedToken is a keyring with a 64-entry verify cache on a fake clock,
// and a token it has verified once, so that the token is in the cache.
func cachedToken(t *testing.T) (*Keyring, *testenv.Clock, string, Claims) {
	t.Helper()
	clk := testenv.NewClock(testStart)
	k := newLoaded(t, bolttest.Open(t), Config{Alg: AlgEdDSA, CacheSize: 64}, clk)
	tok, cl := mint(t, k, baseClaims())
	if _, err := k.Verify(context.Background(), tok, testIssuer); err != nil {
		t.Fatal(err)
	}
	return k, clk, tok, cl
}

// TestVerifyCache: a cached token still gets the clock and issuer checks,
// repeated verifications are served from the cache, and the cache is
// bounded.
func TestVerifyCache(t *testing.T) {
	k, clk, tok, cl := cachedToken(t)
	ctx := context.Background()
	if n := k.cache.len(); n != 1 {
		t.Fatalf("cache has %d entries, want 1", n)
	}
	if _, err := k.Verify(ctx, tok, "https://other.example.com"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("cached token with wrong issuer: %v", err)
	}
	if got, err := k.Verify(ctx, tok, testIssuer); err != nil || got != cl {
		t.Errorf("cached verify: %+v %v", got, err)
	}
	// A cache hit costs no allocations.
	if allocs := testing.AllocsPerRun(100, func() { _, _ = k.Verify(ctx, tok, testIssuer) }); allocs != 0 {
		t.Errorf("cached Verify allocates %v times", allocs)
	}
	clk.Set(cl.Expiry.Add(k.cfg.Leeway))
	if _, err := k.Verify(ctx, tok, testIssuer); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("cached token after exp+leeway: %v", err)
	}

	// Bounded: many distinct valid tokens never grow it past its size.
	clk.Set(cl.IssuedAt)
	for range 300 {
		tk, _ := mint(t, k, baseClaims())
		if _, err := k.Verify(ctx, tk, testIssuer); err != nil {
			t.Fatal(err)
		}
	}
	if n := k.cache.len(); n > 64 {
		t.Errorf("cache grew to %d entries, bound 64", n)
	}
}

// TestCachedTokenEndsAtExp: a token served from the verify cache stops
// passing at its exp exactly, like an uncached one (revocation within
// token_lifetime).
func TestCachedTokenEndsAtExp(t *testing.T) {
	k, clk, tok, cl := cachedToken(t)
	ctx := context.Background()
	clk.Set(cl.Expiry.Add(-time.Millisecond))
	if _, err := k.Verify(ctx, tok, testIssuer); err != nil {
		t.Fatalf("cached token just before exp: %v", err)
	}
	clk.Set(cl.Expiry)
	if _, err := k.Verify(ctx, tok, testIssuer); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("cached token at exp: %v, want rejected", err)
	}
}
