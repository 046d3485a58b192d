package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/bolt"
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

func TestTries(t *testing.T) {
	st := bolttest.Open(t)
	ctx := context.Background()
	clock := testenv.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var malformed int
	b := Tries{Limit: 2, Window: time.Hour, Deny: apierr.VerificationFailed, Now: clock.Now, Malformed: func(error) { malformed++ }}
	spent := func(what string, err error, want time.Duration) {
		t.Helper()
		var e *apierr.Error
		if !errors.As(err, &e) || !errors.Is(e, apierr.VerificationFailed) || e.RetryAfter != want {
			t.Fatalf("%s: %v, want verification_failed with Retry-After %v", what, err, want)
		}
	}
	for i := range 2 {
		if err := b.Reserve(ctx, st, "k"); err != nil {
			t.Fatalf("try %d: %v", i+1, err)
		}
	}
	clock.Advance(10 * time.Minute)
	spent("third try", b.Reserve(ctx, st, "k"), 50*time.Minute)
	// A try that passed gives its reservation back.
	if err := b.Release(ctx, st, "k"); err != nil {
		t.Fatal(err)
	}
	if err := b.Reserve(ctx, st, "k"); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	spent("then", b.Reserve(ctx, st, "k"), 50*time.Minute)
	// A new window, a new budget.
	clock.Advance(50 * time.Minute)
	if err := b.Reserve(ctx, st, "k"); err != nil {
		t.Fatalf("next window: %v", err)
	}
	// Releasing an absent record does nothing.
	if err := b.Release(ctx, st, "absent"); err != nil {
		t.Fatal(err)
	}
	if err := b.Reserve(ctx, st, "absent"); err != nil {
		t.Fatal(err)
	}
	// A malformed record fails closed for a window and is reported.
	if err := st.Put(ctx, "bad", []byte("{nope"), time.Hour); err != nil {
		t.Fatal(err)
	}
	spent("malformed", b.Reserve(ctx, st, "bad"), time.Hour)
	if err := b.Release(ctx, st, "bad"); err != nil || malformed != 1 {
		t.Fatalf("release of a malformed record: %v; %d reports, want 1", err, malformed)
	}
}

func TestAllowIPAndSends(t *testing.T) {
	st := bolttest.Open(t)
	ctx := context.Background()
	// No IP: not limited.
	for range 3 {
		if err := AllowIP(ctx, st, "a:ip:", "", 1, time.Minute, apierr.TooManyRequests); err != nil {
			t.Fatal(err)
		}
	}
	if err := AllowIP(ctx, st, "a:ip:", "10.0.0.1", 1, time.Minute, apierr.TooManyRequests); err != nil {
		t.Fatal(err)
	}
	if err := AllowIP(ctx, st, "a:ip:", "10.0.0.1", 1, time.Minute, apierr.TooManyRequests); !errors.Is(err, apierr.TooManyRequests) {
		t.Fatalf("second request of one IP: %v", err)
	}
	s := Sends{PerIdentifier: 1, PerIP: 2, Window: time.Minute}
	if err := s.Allow(ctx, st, "send:a", "send:ip:", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Allow(ctx, st, "send:a", "send:ip:", "10.0.0.2"); !errors.Is(err, apierr.VerificationCodeTooManyRequests) {
		t.Fatalf("second send to one identifier: %v", err)
	}
	if err := s.Allow(ctx, st, "send:b", "send:ip:", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Allow(ctx, st, "send:c", "send:ip:", "10.0.0.2"); !errors.Is(err, apierr.VerificationCodeTooManyRequests) {
		t.Fatalf("third send from one IP: %v", err)
	}
}

func TestResendAndClaim(t *testing.T) {
	st := bolttest.Open(t)
	ctx := context.Background()
	if err := Resend(ctx, st, "resend:a", time.Minute); err != nil {
		t.Fatal(err)
	}
	err := Resend(ctx, st, "resend:a", time.Minute)
	var e *apierr.Error
	if !errors.As(err, &e) || !errors.Is(e, apierr.VerificationCodeTooManyRequests) || e.RetryAfter != time.Minute {
		t.Fatalf("second send within the wait: %v, want verification-code too_many_requests, Retry-After 1m", err)
	}
	taken := errors.New("taken")
	if err := Claim(ctx, st, "claim:a", time.Minute, taken); err != nil {
		t.Fatal(err)
	}
	if err := Claim(ctx, st, "claim:a", time.Minute, taken); err != taken {
		t.Fatalf("second claim: %v, want the caller's error", err)
	}
	st.Close()
	if err := Claim(ctx, st, "claim:b", time.Minute, taken); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("closed store: %v", err)
	}
}

// racedStore runs an update's function once on a value a concurrent
// writer has replaced meanwhile (what Redis' optimistic Update does when
// it loses a race), then runs the update for real.
type racedStore struct {
	*bolt.Store
	stale []byte
}

func (r racedStore) Update(ctx context.Context, key string, fn store.UpdateFunc) error {
	if r.stale != nil {
		_, _, _ = fn(r.stale, true) // its result is thrown away, as after a lost race
	}
	return r.Store.Update(ctx, key, fn)
}

// A reservation that ran first on a stale spent (or malformed) record and
// then on the live one answers by the live one: a refusal from the lost
// race is not kept.
func TestTriesRetriedAfterALostRace(t *testing.T) {
	ctx := context.Background()
	clock := testenv.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := Tries{Limit: 2, Window: time.Hour, Deny: apierr.VerificationFailed, Now: clock.Now, Malformed: func(error) {}}
	spent := []byte(`{"n":2,"since":"2026-01-01T00:00:00Z"}`)
	for name, stale := range map[string][]byte{"spent": spent, "malformed": []byte("{nope")} {
		st := bolttest.Open(t)
		if err := b.Reserve(ctx, racedStore{Store: st, stale: stale}, "k"); err != nil {
			t.Fatalf("%s record in a lost race: %v, want the live (absent) record's answer", name, err)
		}
		got, err := store.GetJSON[triesRecord](ctx, st, "k", store.ErrNotFound, "tries")
		if err != nil || got.N != 1 {
			t.Fatalf("%s: stored %+v, %v; want n=1", name, got, err)
		}
	}
	// The other way round: a stale open budget does not let a try past a
	// spent live one.
	st := bolttest.Open(t)
	if err := st.Put(ctx, "k", spent, time.Hour); err != nil {
		t.Fatal(err)
	}
	err := b.Reserve(ctx, racedStore{Store: st, stale: []byte(`{"n":0,"since":"2026-01-01T00:00:00Z"}`)}, "k")
	if !errors.Is(err, apierr.VerificationFailed) {
		t.Fatalf("spent live record after a lost race: %v, want verification_failed", err)
	}
}
