package signup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/ratelimit"
	"github.com/authgate/authgate/users"
)

// limits applies sign-up's rate limits and the failure budget of each
// identifier, shared by every instance through the store. Known and new
// identifiers pass through the same limits, so the limits tell nothing
// about which exist.
type limits struct {
	st  Store
	l   *Limits
	now func() time.Time
	log *zap.Logger
}

// Actions with a per-IP request limit.
const (
	actionCreate  = "create"
	actionAttempt = "attempt"
	// actionUpdate (a PATCH) has the create limit: each one may hash a
	// password and check it against the breach source, so an unlimited
	// PATCH loop would fill the shared hashing pool.
	actionUpdate = "update"
)

// request applies the per-IP request limit of an action (a caller
// without an IP, such as an internal call, is not limited).
func (t *limits) request(ctx context.Context, action, ip string) error {
	if ip == "" {
		return nil
	}
	limit := t.l.CreatesPerIP
	if action == actionAttempt {
		limit = t.l.AttemptsPerIP
	}
	return t.allow(ctx, "signup:"+action+":ip:"+ip, limit, t.l.RequestWindow, apierr.TooManyRequests)
}

// send applies the code-send limits: per identifier (one address is not
// flooded, over all its attempts) and per IP (one caller does not flood
// many addresses).
func (t *limits) send(ctx context.Context, k users.Kind, ident, ip string) error {
	deny := apierr.VerificationCodeTooManyRequests
	if err := t.allow(ctx, "signup:send:"+string(k)+":"+ident, t.l.SendsPerIdentifier, t.l.SendWindow, deny); err != nil {
		return err
	}
	if ip == "" {
		return nil
	}
	return t.allow(ctx, "signup:send:ip:"+ip, t.l.SendsPerIP, t.l.SendWindow, deny)
}

func (t *limits) allow(ctx context.Context, key string, limit int, window time.Duration, deny *apierr.Error) error {
	return ratelimit.Allow(ctx, t.st, key, limit, window, deny)
}

// The failure budget: every wrong code for an identifier counts, over all
// the sign-up attempts that verify it, so opening new attempts buys no
// fresh guesses. The record {"n": failures and tries in flight, "since":
// start of the window} is changed atomically: a try is reserved (n+1)
// before its code is compared and refused once n reaches the limit, so
// concurrent guesses never get more compared than the budget; a right
// code gives its reservation back.
type budgetRecord struct {
	N     int       `json:"n"`
	Since time.Time `json:"since"`
}

func budgetKey(k users.Kind, ident string) string { return "suabudget:" + string(k) + ":" + ident }

var errBudgetSpent = errors.New("sign-up code budget spent")

// reserve counts a try against the identifier's budget before its code is
// compared; with the budget spent it returns verification_failed (and
// counts nothing) until the window ends.
func (t *limits) reserve(ctx context.Context, k users.Kind, ident string) error {
	var left time.Duration
	err := t.st.Update(ctx, budgetKey(k, ident), func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		now := t.now()
		rec := budgetRecord{Since: now}
		if exists {
			if err := json.Unmarshal(cur, &rec); err != nil {
				// Fail closed: whoever wrote it had counted failures.
				t.log.Error("malformed sign-up code budget; treating it as spent", zap.Error(err))
				rec = budgetRecord{N: t.l.FailuresPerIdentifier, Since: now}
			}
		}
		end := rec.Since.Add(t.l.FailureWindow)
		if !now.Before(end) {
			rec = budgetRecord{Since: now}
			end = now.Add(t.l.FailureWindow)
		}
		if rec.N >= t.l.FailuresPerIdentifier {
			left = end.Sub(now)
			return nil, 0, errBudgetSpent
		}
		rec.N++
		data, err := json.Marshal(rec)
		return data, end.Sub(now) + margin, err
	})
	if errors.Is(err, errBudgetSpent) {
		return apierr.VerificationFailed.WithRetryAfter(max(left, time.Second))
	}
	if err != nil {
		return fmt.Errorf("counting sign-up code tries: %w", err)
	}
	return nil
}

// release gives back a reservation whose code was right.
func (t *limits) release(ctx context.Context, k users.Kind, ident string) {
	err := t.st.Update(ctx, budgetKey(k, ident), func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		rec := budgetRecord{}
		if !exists || json.Unmarshal(cur, &rec) != nil {
			return cur, 0, errBudgetSpent // leave it alone
		}
		rec.N = max(rec.N-1, 0)
		data, err := json.Marshal(rec)
		return data, rec.Since.Add(t.l.FailureWindow).Sub(t.now()) + margin, err
	})
	if err != nil && !errors.Is(err, errBudgetSpent) {
		// Logged only: the budget is a little tighter than it should be.
		t.log.Warn("releasing a sign-up code reservation failed", zap.Error(err))
	}
}
