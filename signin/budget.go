package signin

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/record"
)

// codeBudget is the one failure budget of an account for codes. Every
// wrong code counts against it, whatever the strategy (sign-in or reset,
// email or SMS, and second factors when they come), the attempt or the
// instance: it lives in the store, keyed by the account, so opening new
// attempts or switching channels buys an attacker nothing. A new code
// leaves it alone; only a verified code clears it.
//
// Past limit consecutive wrong codes, verification is refused, even with
// the right code, for base after the limit-th wrong code and then twice as
// long after each further one, up to max. Once a lock ends, one try is
// allowed; a wrong one locks again for twice as long.
//
// The record at budgetKey is JSON {"n": wrong codes so far, counting tries
// in flight, "until": end of the current lock}. A try is reserved (n+1)
// before the code is compared, in the same atomic update that refuses it
// while locked and sets the lock when the reservation reaches the limit,
// so concurrent guesses never get more than the budget compared.
//
// A code strategy (a second factor too) calls reserve with accountOf(the
// attempt) before it compares a code, failed after a wrong one and clear
// after a right one (release instead when a second factor is still to
// come); checkCode is the example.
type codeBudget struct {
	st     Store
	limit  int
	base   time.Duration
	max    time.Duration
	memory time.Duration
	now    func() time.Time
	log    *zap.Logger
	emit   func(ctx context.Context, name string, fields ...zap.Field)
}

type budgetRecord struct {
	N     int       `json:"n"`
	Until time.Time `json:"until,omitzero"`
}

func budgetKey(s subject) string { return "codebudget:" + s.key }

// reservation is a try counted against the budget: its number and, when
// it reached the limit, the end of the lock it set.
type reservation struct {
	n     int
	until time.Time
}

// reserve counts a try before its code is compared. While the budget is
// locked it returns too_many_requests and counts nothing.
func (b *codeBudget) reserve(ctx context.Context, who subject) (reservation, error) {
	var r reservation
	var left time.Duration
	err := record.UpdateOr(ctx, b.st, budgetKey(who), func(rec *budgetRecord, _ bool) (*budgetRecord, time.Duration, error) {
		now := b.now()
		if l := rec.Until.Sub(now); l > 0 {
			left = l
			return nil, 0, record.Unchanged // nothing is written while locked
		}
		left = 0
		rec.N++
		if rec.N >= b.limit {
			// Locked from this try on: concurrent tries wait, and a wrong
			// code leaves the lock in place; a right one clears it.
			rec.Until = now.Add(b.backoff(rec.N))
		}
		r = reservation{n: rec.N, until: rec.Until}
		return rec, b.ttl(*rec, now), nil
	}, func(bad error) (*budgetRecord, time.Duration, error) {
		// Fail closed: whoever wrote the record had counted wrong codes.
		// Start over at the limit, locked, so one try per lock is all
		// this account gets until a code is right.
		b.log.Error("malformed code budget record; locking code verification", who.with(zap.Error(bad))...)
		now := b.now()
		left = b.backoff(b.limit)
		rec := budgetRecord{N: b.limit, Until: now.Add(left)}
		return &rec, b.ttl(rec, now), nil
	})
	if err != nil {
		return reservation{}, fmt.Errorf("counting code tries: %w", err)
	}
	if left > 0 {
		return reservation{}, b.lockedError(left)
	}
	return r, nil
}

// failed is called after the code of reservation r was wrong: when r
// reached the limit, the budget is locked and the answer says until when.
func (b *codeBudget) failed(ctx context.Context, who subject, r reservation) error {
	if r.n < b.limit {
		return nil
	}
	b.emit(ctx, "codes_locked", who.with(zap.Int("wrong_codes", r.n))...)
	return b.lockedError(r.until.Sub(b.now()))
}

// clear forgets the wrong codes after a verified one. A record that could
// not be deleted is logged, not returned: the code was right, and the user
// is signed in or resetting already.
func (b *codeBudget) clear(ctx context.Context, who subject) {
	if err := b.st.Delete(ctx, budgetKey(who)); err != nil {
		b.log.Warn("clearing code budget failed", who.with(zap.Error(err))...)
	}
}

// release gives back the try of reservation r after a right code that
// does not clear the budget: a first factor of a user whose second factor
// is still to come. The right code is not a wrong one, and the wrong ones
// before it stay counted. A lock that r itself set goes with it (reserve
// refused while an earlier lock held, so none was in force before r).
// Failing to release is logged, not returned: the count is one too high,
// which errs on the safe side.
func (b *codeBudget) release(ctx context.Context, who subject, r reservation) {
	err := record.UpdateOr(ctx, b.st, budgetKey(who), func(rec *budgetRecord, exists bool) (*budgetRecord, time.Duration, error) {
		if !exists || rec.N == 0 {
			return nil, 0, record.Unchanged // nothing to give back
		}
		rec.N--
		if !r.until.IsZero() && rec.Until.Equal(r.until) {
			rec.Until = time.Time{}
		}
		return rec, b.ttl(*rec, b.now()), nil
	}, func(error) (*budgetRecord, time.Duration, error) {
		return nil, 0, record.Unchanged // reserve handles a malformed record
	})
	if err != nil {
		b.log.Warn("releasing a code try failed", who.with(zap.Error(err))...)
	}
}

// backoff is the lock set by the n-th consecutive wrong code (n >= limit):
// base, doubled for each wrong code past the limit, capped at max.
func (b *codeBudget) backoff(n int) time.Duration {
	d := b.base
	for i := b.limit; i < n && d < b.max; i++ {
		d *= 2
	}
	return min(d, b.max)
}

// ttl keeps the record through its lock and memory after it: a count that
// expired early would hand out a fresh budget.
func (b *codeBudget) ttl(rec budgetRecord, now time.Time) time.Duration {
	return max(rec.Until.Sub(now), 0) + b.memory
}

func (b *codeBudget) lockedError(left time.Duration) error {
	left = max(left, time.Second)
	secs := (left + time.Second - 1) / time.Second * time.Second
	return apierr.TooManyRequests.WithRetryAfter(left).
		WithLongMessage(fmt.Sprintf("Too many incorrect codes. You can try again in %s.", secs.String()))
}
