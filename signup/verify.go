package signup

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/codes"
	"github.com/authgate/authgate/internal/ids"
	"github.com/authgate/authgate/internal/ratelimit"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/users"
)

// strategyKind is the identifier kind a verification strategy verifies.
func strategyKind(strategy string) (users.Kind, error) {
	switch strategy {
	case StrategyEmailCode:
		return users.KindEmail, nil
	case StrategyPhoneCode:
		return users.KindPhone, nil
	case "":
		return "", apierr.FormParamMissing.WithParam("strategy").WithLongMessage("strategy must be included.")
	}
	return "", errStrategy()
}

// loadFor loads the caller's attempt id for a step of strategy, and names
// the kind of identifier that strategy verifies.
func (s *Service) loadFor(ctx context.Context, rq Request, id, strategy string) (*Attempt, users.Kind, error) {
	k, err := strategyKind(strategy)
	if err != nil {
		return nil, "", err
	}
	a, err := s.load(ctx, rq, id)
	return a, k, err
}

// PrepareVerification sends a code for the attempt's email address
// (email_code) or phone number (phone_code), after the resend cooldown and
// the send limits. An identifier that already has an account gets a
// notice instead, and the code stored for it matches nothing; both go out
// in the background, so the answer and its timing are the same.
func (s *Service) PrepareVerification(ctx context.Context, rq Request, id string, p PrepareParams) (*Result, error) {
	if !s.cfg.Enabled {
		return nil, ErrDisabled
	}
	a, k, err := s.loadFor(ctx, rq, id, p.Strategy)
	if err != nil {
		return nil, err
	}
	v, ident, err := s.verifiable(a, k)
	if err != nil {
		return nil, err
	}
	if v.Attempts >= s.cfg.Limits.CodeMaxAttempts {
		// A new code does not buy new tries.
		return nil, apierr.VerificationFailed
	}
	if err := ratelimit.Resend(ctx, s.st, resendKey(a.ID, k), s.cfg.Limits.ResendAfter); err != nil {
		return nil, err
	}
	if err := s.sendLimits(ctx, rq, k, ident); err != nil {
		return nil, err
	}
	exists, err := s.taken(ctx, k, ident)
	if err != nil {
		return nil, err
	}
	code, err := s.storeCode(ctx, a, k, ident, exists)
	if err != nil {
		return nil, err
	}
	expire := s.stamp().Add(s.cfg.Limits.CodeTTL)
	a, err = s.change(ctx, a, func(cur *Attempt) error {
		cv, cid := cur.verification(k)
		if cur.Status == StatusComplete || cid != ident || cv == nil {
			return errChanged
		}
		cv.Status, cv.Prepared, cv.ExpireAt = signin.VerUnverified, true, expire
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.deliverCode(a, k, ident, code, exists)
	return s.result(a), nil
}

var errChanged = apierr.ClientStateInvalid.WithLongMessage("This sign-up changed meanwhile; reload it and try again.")

// verifiable returns the attempt's verification of kind k and its
// identifier, or why it cannot be verified now.
func (s *Service) verifiable(a *Attempt, k users.Kind) (*Verification, string, error) {
	if a.Status == StatusComplete {
		return nil, "", errComplete
	}
	v, ident := a.verification(k)
	if ident == "" || v == nil {
		return nil, "", apierr.FormParamMissing.WithParam(string(k)).
			WithLongMessage(string(k) + " must be given before it can be verified.")
	}
	if v.Status == signin.VerVerified {
		return nil, "", apierr.VerificationAlreadyVerified
	}
	return v, ident, nil
}

// sendLimits applies the send limits and, for SMS, the pumping budget.
func (s *Service) sendLimits(ctx context.Context, rq Request, k users.Kind, ident string) error {
	if k == users.KindPhone {
		region, err := s.phoneRegion(ident)
		if err != nil {
			return err
		}
		if err := s.smsBudget(ctx, region, ident, rq.IP); err != nil {
			return err
		}
	}
	return s.limits.send(ctx, k, ident, rq.IP)
}

// taken reports whether the identifier already has an account. A known
// identifier costs Find the read of its user record too; a new one gets
// the same read, of an id nobody has, so both cost the same store work.
func (s *Service) taken(ctx context.Context, k users.Kind, ident string) (bool, error) {
	_, err := s.users.Find(ctx, k, ident)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, users.ErrNotFound):
		if _, err := s.users.Get(ctx, ids.New("user")); err != nil && !errors.Is(err, users.ErrNotFound) {
			return false, err
		}
		return false, nil
	}
	return false, err
}

// codeBinding is what a code is bound to (the parts of its MAC before
// the code): its attempt and the identifier it verifies, named apart
// ("sign_up") from the sign-in's codes.
func codeBinding(attemptID string, k users.Kind, ident string) []string {
	return []string{"sign_up", attemptID, string(k), ident}
}

// storeCode draws a code and stores its MAC (replacing an earlier code).
// For a taken identifier it does the same work but stores a value no MAC
// equals: no code ever verifies an address that has an account.
func (s *Service) storeCode(ctx context.Context, a *Attempt, k users.Kind, ident string, taken bool) (string, error) {
	return codes.Issue(ctx, s.st, s.keys, codeKey(a.ID, k), s.cfg.Limits.CodeTTL+margin, taken, codeBinding(a.ID, k, ident)...)
}

// deliverCode sends the code, or to a taken identifier the notice, in the
// background on the shared delivery pool. A failed delivery makes the
// code unusable (nobody has it, so nobody should guess it).
func (s *Service) deliverCode(a *Attempt, k users.Kind, ident, code string, taken bool) {
	ch := notify.ChannelEmail
	if k == users.KindPhone {
		ch = notify.ChannelSMS
	}
	n := notify.Notice{Channel: ch, Kind: notify.KindSignUpCode, To: ident, Code: code, ExpiresIn: s.cfg.Limits.CodeTTL}
	if taken {
		n = notify.Notice{Channel: ch, Kind: notify.KindSignUpExisting, To: ident}
	}
	id := a.ID
	started := s.pool.GoDeliver(func(ctx context.Context) {
		if err := s.deliver.Deliver(ctx, n); err != nil {
			s.undeliverable(ctx, id, k)
			s.log.Error("delivering sign-up code failed", zap.String("sign_up_id", id), zap.Error(err))
			s.emit(ctx, "code_delivery_failed", zap.String("flow", "sign_up"))
			return
		}
		s.emit(ctx, "code_sent", zap.String("flow", "sign_up"), zap.String("channel", string(ch)))
	})
	if !started {
		// The pool is full (a stalled mail or SMS server): nothing is sent.
		ctx, cancel := signin.DeliveryContext()
		defer cancel()
		s.undeliverable(ctx, id, k)
		s.emit(ctx, "delivery_dropped", zap.String("flow", "sign_up"))
	}
}

// undeliverable deletes a code that reached no one.
func (s *Service) undeliverable(ctx context.Context, id string, k users.Kind) {
	if err := s.st.Delete(ctx, codeKey(id, k)); err != nil {
		// Logged only: nobody has the code, and it expires with its TTL.
		s.log.Warn("deleting an undelivered sign-up code failed", zap.String("sign_up_id", id), zap.Error(err))
	}
}

// AttemptVerification checks a code. A try is counted twice before the
// code is compared: against the identifier's failure budget (over all its
// attempts) and against the verification's tries, so concurrent guesses
// get no more compared than both allow. The right code is used up in one
// atomic step (single use however many requests race); it verifies its
// identifier, and once nothing is missing the user is created and the
// client signed in (complete.go).
func (s *Service) AttemptVerification(ctx context.Context, rq Request, id string, p AttemptParams) (*Result, error) {
	if !s.cfg.Enabled {
		return nil, ErrDisabled
	}
	if err := s.limits.request(ctx, actionAttempt, rq.IP); err != nil {
		return nil, err
	}
	a, k, err := s.loadFor(ctx, rq, id, p.Strategy)
	if err != nil {
		return nil, err
	}
	if a.Status == StatusComplete {
		return nil, apierr.VerificationAlreadyVerified
	}
	if a.verified(k) {
		// Verified, but the user could not be made yet (a store outage,
		// another field missing): finish now if everything is there.
		return s.finish(ctx, rq, a)
	}
	ident, err := s.usable(ctx, a, k)
	if err != nil {
		return nil, err
	}
	if p.Code == "" {
		return nil, apierr.FormParamMissing.WithParam("code").WithLongMessage("code must be included.")
	}
	ok, tries, err := s.tryCode(ctx, a, k, ident, p.Code)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.codeFailed(ctx, a, k, tries)
	}
	a, err = s.change(ctx, a, func(cur *Attempt) error {
		cv, cid := cur.verification(k)
		if cid != ident || cv == nil {
			return errChanged
		}
		cv.Status = signin.VerVerified
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.emit(ctx, "code_attempt", zap.String("flow", "sign_up"), zap.String("result", "verified"))
	return s.finish(ctx, rq, a)
}

// usable checks that the verification of kind k has a live code and tries
// left; it returns the identifier it verifies.
func (s *Service) usable(ctx context.Context, a *Attempt, k users.Kind) (string, error) {
	v, ident := a.verification(k)
	if ident == "" || v == nil || !v.Prepared {
		return "", apierr.VerificationNotSent
	}
	if v.Status == signin.VerFailed || v.Attempts >= s.cfg.Limits.CodeMaxAttempts {
		return "", apierr.VerificationFailed
	}
	if !s.now().Before(v.ExpireAt) {
		if _, err := s.change(ctx, a, func(cur *Attempt) error {
			if cv, cid := cur.verification(k); cid == ident && cv != nil && cv.Status == signin.VerUnverified {
				cv.Status = signin.VerExpired
			}
			return nil
		}); err != nil {
			// The clock decides expiry on every try; a status that could
			// not be stored changes only what a reload shows.
			s.log.Warn("storing an expired sign-up verification failed", zap.String("sign_up_id", a.ID), zap.Error(err))
		}
		return "", apierr.VerificationExpired
	}
	return ident, nil
}

// tryCode counts the try (budget, then tries) and compares the code,
// deleting it when it matches. It returns whether it matched and the
// try's number.
func (s *Service) tryCode(ctx context.Context, a *Attempt, k users.Kind, ident, code string) (bool, int64, error) {
	if err := s.limits.reserve(ctx, k, ident); err != nil {
		return false, 0, err
	}
	tries, err := codes.Try(ctx, s.st, triesKey(a.ID, k), s.ttl(a))
	if err != nil {
		return false, 0, err
	}
	if int(tries) > s.cfg.Limits.CodeMaxAttempts {
		return false, tries, nil
	}
	ok, err := codes.Consume(ctx, s.st, s.keys, codeKey(a.ID, k), code, codeBinding(a.ID, k, ident)...)
	if err != nil {
		return false, 0, err
	}
	if ok {
		s.limits.release(ctx, k, ident)
	}
	return ok, tries, nil
}

// codeFailed records the n-th wrong try of the verification and returns
// the error to show.
func (s *Service) codeFailed(ctx context.Context, a *Attempt, k users.Kind, n int64) error {
	failed := int(n) >= s.cfg.Limits.CodeMaxAttempts
	advanced := false
	_, err := s.change(ctx, a, func(cur *Attempt) error {
		cv, _ := cur.verification(k)
		if cv == nil || cv.Status == signin.VerVerified || cur.Status == StatusComplete {
			advanced = true
			return nil
		}
		cv.Attempts = max(cv.Attempts, int(n))
		if failed {
			cv.Status = signin.VerFailed
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording code failure: %w", err)
	}
	if advanced {
		// A concurrent request used the right code: a replay, not a guess.
		return apierr.VerificationAlreadyVerified
	}
	s.emit(ctx, "code_attempt", zap.String("flow", "sign_up"), zap.String("result", "incorrect"))
	if failed {
		return apierr.VerificationFailed
	}
	return apierr.FormCodeIncorrect.WithParam("code")
}
