package signin

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/users"
)

// maxPasswordLen bounds what is hashed: a longer password is wrong
// without spending a hash on it.
const maxPasswordLen = 1024

// checkPassword verifies a password first factor and completes the
// attempt on success.
//
// Unknown identifiers (under enumeration protection) and users without a
// password go through the same lockout as users with one, keyed by their
// own subject, and take as long as a wrong password does: the sequence of
// answers is the same for all of them.
func (s *Service) checkPassword(ctx context.Context, rq Request, res *Result, pw string) error {
	u := res.User
	wrong := apierr.FormPasswordIncorrect.WithParam("password")
	if s.cfg.EnumerationProtection {
		wrong = apierr.FormPasswordOrIdentifierIncorrect.WithParam("password")
	}
	if len(pw) > maxPasswordLen {
		return wrong
	}
	who, err := s.passwordSubject(ctx, rq, res.Attempt)
	if err != nil {
		return err
	}
	if err := s.lockout.check(ctx, who); err != nil {
		return err
	}
	// Count the try before verifying, so concurrent guesses cannot get
	// past the lockout limit; a success clears the count.
	tries, err := s.lockout.reserve(ctx, who)
	if err != nil {
		return err
	}
	ok, rehash := false, false
	if u == nil || u.PasswordDigest == "" {
		s.hasher.VerifyDummy(ctx, pw)
	} else if ok, rehash, err = s.hasher.Verify(ctx, pw, u.PasswordDigest); err != nil {
		return s.hashFailed(err, "verifying password")
	}
	if !ok {
		s.emit(ctx, "sign_in", who.with(zap.String("strategy", StrategyPassword), zap.String("result", "failed"))...)
		if err := s.lockout.reached(ctx, who, tries); err != nil {
			return err
		}
		return wrong
	}
	s.lockout.clear(ctx, who)
	if rehash {
		s.upgradeDigest(ctx, u.ID, pw)
	}
	if u.PasswordCompromised {
		return s.compromised(ctx, rq, res)
	}
	if err := s.breachedAtSignIn(ctx, u.ID, pw); err != nil {
		return err
	}
	a := res.Attempt
	if a.Verification == nil || a.Verification.Strategy != StrategyPassword {
		a.Verification = &Verification{Strategy: StrategyPassword}
	}
	a.Verification.Status = VerVerified
	return s.firstFactorDone(ctx, rq, res)
}

// compromised handles a right password that was marked compromised: the
// user must prove who they are another way before choosing a new one.
func (s *Service) compromised(ctx context.Context, rq Request, res *Result) error {
	u := res.User
	s.emit(ctx, "sign_in", zap.String("strategy", StrategyPassword), zap.String("result", "password_compromised"), zap.String("user_id", u.ID))
	if len(u.Emails)+len(u.Phones) > 0 {
		// The password was right: the user may now get a code at any
		// of their addresses, whatever identifier they typed.
		res.Attempt.PasswordVerified = true
		return apierr.FormPasswordCompromised.WithParam("password")
	}
	// No other way to prove who they are: sign in (after the second
	// factor, if they have one), but pending.
	return s.firstFactorDone(ctx, rq, res)
}

// breachedAtSignIn refuses a right password found in the breach source
// (when breach_on_sign_in is set). A breach source that cannot answer
// does not keep users out.
func (s *Service) breachedAtSignIn(ctx context.Context, uid, pw string) error {
	if !s.cfg.BreachOnSignIn || s.rules == nil {
		return nil
	}
	breached, err := s.rules.Breached(ctx, pw)
	if err != nil {
		s.log.Warn("breach check at sign-in failed; allowing the sign-in", zap.String("user_id", uid), zap.Error(err))
		return nil
	}
	if breached {
		s.emit(ctx, "breach_hit", zap.String("where", "sign_in"), zap.String("user_id", uid))
		return apierr.FormPasswordPwnedSignIn.WithParam("password")
	}
	return nil
}

// upgradeDigest rehashes a right password whose digest uses old
// parameters. It is best effort: the sign-in does not wait on it failing.
func (s *Service) upgradeDigest(ctx context.Context, uid, pw string) {
	digest, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return // try again next time
	}
	_, err = s.users.Update(ctx, uid, func(u *users.User) error {
		u.PasswordDigest = digest
		return nil
	})
	if err != nil {
		s.log.Warn("upgrading password digest failed", zap.String("user_id", uid), zap.Error(err))
		return
	}
	s.emit(ctx, "password_rehashed", zap.String("user_id", uid))
}

// hashFailed maps a hashing error: a saturated hashing pool is a 429 with
// a short retry, anything else an internal error saying what failed.
func (s *Service) hashFailed(err error, doing string) error {
	if s.hasher.Busy(err) {
		return apierr.TooManyRequests.WithRetryAfter(time.Second)
	}
	return fmt.Errorf("%s: %w", doing, err)
}
