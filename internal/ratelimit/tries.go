package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/record"
)

// Tries is a budget of tries per fixed window, for a check an attacker
// could repeat from many places (sign-up's wrong codes for one address,
// over all the attempts that verify it): opening a new attempt buys no
// fresh tries. The record at the key, JSON {"n": tries counted, in flight
// included, "since": start of the window}, is changed atomically: a try
// is reserved (n+1) before it is checked and refused once n reaches
// Limit, so concurrent tries never get more checked than the budget; a
// try that passes gives its reservation back.
type Tries struct {
	Limit  int
	Window time.Duration
	// Deny is the answer while the budget is spent (with Retry-After, the
	// rest of the window, at least one second).
	Deny *apierr.Error
	Now  func() time.Time
	// Malformed is told of a stored record that does not decode; the
	// budget counts as spent for a window then (it fails closed: whoever
	// wrote the record had counted tries).
	Malformed func(err error)
}

type triesRecord struct {
	N     int       `json:"n"`
	Since time.Time `json:"since"`
}

// margin keeps a record a little past its window, so that the clock
// decides when the window ends, not the store's expiry.
const margin = time.Minute

// Reserve counts a try under key before it is checked. With the budget
// spent it returns Deny and counts nothing, until the window ends.
func (b Tries) Reserve(ctx context.Context, st record.Updater, key string) error {
	var left time.Duration
	err := record.UpdateOr(ctx, st, key, func(rec *triesRecord, exists bool) (*triesRecord, time.Duration, error) {
		now := b.Now()
		left = 0 // the store may call this again, after a refusal too
		end := rec.Since.Add(b.Window)
		if !exists || !now.Before(end) {
			*rec = triesRecord{Since: now}
			end = now.Add(b.Window)
		}
		if rec.N >= b.Limit {
			left = end.Sub(now)
			return nil, 0, record.Unchanged
		}
		rec.N++
		return rec, end.Sub(now) + margin, nil
	}, func(bad error) (*triesRecord, time.Duration, error) {
		b.Malformed(bad)
		left = b.Window
		return nil, 0, record.Unchanged
	})
	if err != nil {
		return fmt.Errorf("counting tries: %w", err)
	}
	if left > 0 {
		return b.Deny.WithRetryAfter(max(left, time.Second))
	}
	return nil
}

// Release gives back the reservation of a try that passed. A record that
// is gone or does not decode is left alone.
func (b Tries) Release(ctx context.Context, st record.Updater, key string) error {
	err := record.UpdateOr(ctx, st, key, func(rec *triesRecord, exists bool) (*triesRecord, time.Duration, error) {
		if !exists {
			return nil, 0, record.Unchanged // nothing to give back
		}
		rec.N = max(rec.N-1, 0)
		return rec, rec.Since.Add(b.Window).Sub(b.Now()) + margin, nil
	}, func(error) (*triesRecord, time.Duration, error) {
		return nil, 0, record.Unchanged
	})
	if err != nil {
		return fmt.Errorf("releasing a try: %w", err)
	}
	return nil
}
