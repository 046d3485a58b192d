package signup

import (
	"context"
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
	log *zap.Logger
	// tries is the failure budget: every wrong code for an identifier
	// counts, over all the sign-up attempts that verify it, so opening
	// new attempts buys no fresh guesses. A try is reserved before its
	// code is compared (concurrent guesses never get more compared than
	// the budget); a right code gives its reservation back.
	tries ratelimit.Tries
}

func newLimits(st Store, l *Limits, now func() time.Time, log *zap.Logger) *limits {
	t := &limits{st: st, l: l, log: log}
	t.tries = ratelimit.Tries{
		Limit: l.FailuresPerIdentifier, Window: l.FailureWindow, Deny: apierr.VerificationFailed, Now: now,
		Malformed: func(err error) {
			t.log.Error("malformed sign-up code budget; treating it as spent", zap.Error(err))
		},
	}
	return t
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
	limit := t.l.CreatesPerIP
	if action == actionAttempt {
		limit = t.l.AttemptsPerIP
	}
	return ratelimit.AllowIP(ctx, t.st, "signup:"+action+":ip:", ip, limit, t.l.RequestWindow, apierr.TooManyRequests)
}

// send applies the code-send limits: per identifier (one address is not
// flooded, over all its attempts) and per IP (one caller does not flood
// many addresses).
func (t *limits) send(ctx context.Context, k users.Kind, ident, ip string) error {
	sends := ratelimit.Sends{PerIdentifier: t.l.SendsPerIdentifier, PerIP: t.l.SendsPerIP, Window: t.l.SendWindow}
	return sends.Allow(ctx, t.st, "signup:send:"+string(k)+":"+ident, "signup:send:ip:", ip)
}

func budgetKey(k users.Kind, ident string) string { return "suabudget:" + string(k) + ":" + ident }

// reserve counts a try against the identifier's budget before its code is
// compared; with the budget spent it returns verification_failed (and
// counts nothing) until the window ends.
func (t *limits) reserve(ctx context.Context, k users.Kind, ident string) error {
	return t.tries.Reserve(ctx, t.st, budgetKey(k, ident))
}

// release gives back a reservation whose code was right.
func (t *limits) release(ctx context.Context, k users.Kind, ident string) {
	if err := t.tries.Release(ctx, t.st, budgetKey(k, ident)); err != nil {
		// Logged only: the budget is a little tighter than it should be.
		t.log.Warn("releasing a sign-up code reservation failed", zap.Error(err))
	}
}
