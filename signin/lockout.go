package signin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/store"
)

// lockout locks an account for a while after too many wrong passwords.
// It keeps two records per subject (a user, a device of a user, or an
// unknown identifier; see subject.go): "fail:" counts failures (and
// expires after the duration), "lock:" holds when the lock ends. Wrong
// codes count against the code budget instead (budget.go), so either
// lock leaves the other way in open.
type lockout struct {
	st       Store
	attempts int
	duration time.Duration
	now      func() time.Time
	log      *zap.Logger
	emit     func(ctx context.Context, name string, fields ...zap.Field)
}

func lockKey(key string) string { return "lock:" + key }
func failKey(key string) string { return "fail:" + key }

// check returns user_locked while the subject is locked.
func (l *lockout) check(ctx context.Context, who subject) error {
	data, err := l.st.Get(ctx, lockKey(who.key))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading lockout: %w", err)
	}
	until, err := time.Parse(time.RFC3339Nano, string(data))
	if err != nil {
		// Fail closed: a lock record exists, so the account was locked.
		// Without a readable end it stays locked for a full duration (the
		// record's TTL ends it in the store).
		l.log.Error("malformed lockout record; treating the account as locked", who.with(zap.Error(err))...)
		return lockedError(l.duration)
	}
	if left := until.Sub(l.now()); left > 0 {
		return lockedError(left)
	}
	return nil
}

func lockedError(left time.Duration) error {
	secs := int64((left + time.Second - 1) / time.Second)
	return apierr.UserLocked.WithMeta("lockout_expires_in_seconds", secs).
		WithLongMessage(fmt.Sprintf("Your account is locked. You will be able to try again in %s.", (time.Duration(secs) * time.Second).String()))
}

// reserve counts a password try before it is verified and returns its
// number; a try past the limit locks the account at once.
func (l *lockout) reserve(ctx context.Context, who subject) (int64, error) {
	tries, err := l.st.Incr(ctx, failKey(who.key), l.duration)
	if err != nil {
		return 0, fmt.Errorf("counting sign-in attempts: %w", err)
	}
	if tries > int64(l.attempts) {
		return tries, l.lock(ctx, who)
	}
	return tries, nil
}

// reached locks the account when the n-th failure reaches the limit and
// returns user_locked then.
func (l *lockout) reached(ctx context.Context, who subject, n int64) error {
	if n >= int64(l.attempts) {
		return l.lock(ctx, who)
	}
	return nil
}

// fail counts a failed password and locks the subject when the limit is
// reached. It returns the lock error then.
func (l *lockout) fail(ctx context.Context, who subject) error {
	n, err := l.st.Incr(ctx, failKey(who.key), l.duration)
	if err != nil {
		return fmt.Errorf("counting failure: %w", err)
	}
	return l.reached(ctx, who, n)
}

// lock locks the subject for the lockout duration and returns user_locked.
func (l *lockout) lock(ctx context.Context, who subject) error {
	until := l.now().Add(l.duration).UTC()
	if err := l.st.Put(ctx, lockKey(who.key), []byte(until.Format(time.RFC3339Nano)), l.duration); err != nil {
		return fmt.Errorf("locking account: %w", err)
	}
	// The lock is in place; a counter left behind only expires later.
	l.forget(ctx, who, "clearing failure count at lock", failKey(who.key))
	l.emit(ctx, "user_locked", who.fields...)
	return lockedError(until.Sub(l.now()))
}

// clear forgets the subject's failures after a success. A counter that
// could not be deleted is logged, not returned: the user proved who they
// are, and the stale count only expires later.
func (l *lockout) clear(ctx context.Context, who subject) {
	l.forget(ctx, who, "clearing failure count", failKey(who.key))
}

// unlock ends a lockout (after the user proved who they are with a reset
// code and set a new password). Failing to is logged, not returned: the
// password is already replaced, and the lock ends on its own.
func (l *lockout) unlock(ctx context.Context, who subject) {
	l.forget(ctx, who, "ending lockout", failKey(who.key), lockKey(who.key))
}

// forget deletes the keys one by one: they do not share a Redis Cluster
// hash tag, so one multi-key Delete could not take them.
func (l *lockout) forget(ctx context.Context, who subject, doing string, keys ...string) {
	for _, k := range keys {
		if err := l.st.Delete(ctx, k); err != nil {
			l.log.Warn(doing+" failed", who.with(zap.Error(err))...)
		}
	}
}
