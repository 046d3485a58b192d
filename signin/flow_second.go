package signin

import (
	"context"
	"slices"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/ratelimit"
	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/users"
)

// The second step of a sign-in (Clerk's needs_second_factor): after the
// first factor of a user with a second factor, the attempt waits for an
// authenticator code, a backup code or an SMS code, and only then creates
// the session. Its codes count toward the account's one code budget, and
// each attempt allows code_max_attempts tries at its second step, as at
// its first.

// PrepareSecondFactor sends an SMS code for the phone_code second factor
// (to phone_number_id, else the first phone offered); the other second
// factors need nothing prepared.
func (s *Service) PrepareSecondFactor(ctx context.Context, rq Request, id string, p PrepareParams) (*Result, error) {
	res, st, err := s.open(ctx, rq, id, p.Strategy, true)
	if err != nil {
		return nil, err
	}
	if st.factor != factorCode {
		return res, nil
	}
	a := res.Attempt
	if v := a.SecondVerification; v != nil && s.spent(v) {
		return nil, apierr.VerificationFailed
	}
	target, err := secondFactorPhone(res, p.PhoneNumberID)
	if err != nil {
		return nil, err
	}
	if err := s.issueCode(ctx, rq, a, st, target); err != nil {
		return nil, err
	}
	return res, nil
}

// AttemptSecondFactor checks a second factor and completes the sign-in:
// the session is created (pending when the user has tasks).
func (s *Service) AttemptSecondFactor(ctx context.Context, rq Request, id string, p AttemptParams) (*Result, error) {
	res, st, err := s.openTry(ctx, rq, id, p.Strategy, true)
	if err != nil {
		return nil, err
	}
	a := res.Attempt
	if st.factor != factorCode {
		// Nothing was prepared: this try starts the verification, with
		// the tries of the step so far.
		if v := a.SecondVerification; v == nil || v.Strategy != st.name {
			cur := Verification{Strategy: st.name, Status: VerUnverified, ExpireAt: a.AbandonAt}
			if v != nil {
				cur.Attempts, cur.Status = v.Attempts, v.Status
			}
			a.SecondVerification = &cur
		}
	}
	if err := s.checkCode(ctx, rq, res, st, AttemptParams{Strategy: st.name, Code: p.Code}); err != nil {
		return nil, err
	}
	// Two different right factors racing must not make two sessions.
	if err := ratelimit.Claim(ctx, s.st, doneClaimKey(a.ID), s.cfg.AttemptLifetime+margin, apierr.VerificationAlreadyVerified); err != nil {
		return nil, err
	}
	if err := s.complete(ctx, rq, res); err != nil {
		return nil, err
	}
	s.emit(ctx, "second_factor", zap.String("strategy", st.name), zap.String("user_id", res.User.ID))
	return res, s.save(ctx, a)
}

// secondFactorPhone is the phone a second-factor SMS code goes to: the one
// named (which must be offered), else the first offered.
func secondFactorPhone(res *Result, phoneID string) (users.Identification, error) {
	for _, f := range res.SecondFactors {
		if f.Strategy != StrategyPhoneCode || (phoneID != "" && f.PhoneNumberID != phoneID) {
			continue
		}
		for _, p := range res.User.Phones {
			if p.ID == f.PhoneNumberID {
				return p, nil
			}
		}
	}
	return users.Identification{}, apierr.FormParamValueInvalid.WithParam("phone_number_id").
		WithLongMessage("phone_number_id is not a second factor of this account.")
}

// loadSecondFactors reads the user's second factors into res once, and
// what the attempt may finish with (res.SecondFactors). An unknown
// identifier (enumeration protection) reads the record of its fake user
// id, which does not exist, so that it costs what a known one costs.
//
// The offer is worked out again on every call, as it depends on the
// first factor's verification (the phone that received its code).
func (s *Service) loadSecondFactors(ctx context.Context, res *Result) error {
	if !res.loaded {
		st, err := s.mfa.Status(ctx, macUserID(res.Attempt))
		if err != nil {
			return err
		}
		res.loaded = true
		if res.User == nil || res.Attempt.Fake {
			return nil
		}
		res.mfa = ownFactors(res.User, st)
	}
	if res.User != nil && !res.Attempt.Fake {
		res.SecondFactors = s.offer(res.Attempt, res.User, res.mfa)
	}
	return nil
}

// ownFactors is st without the reserved phones that are no longer the
// user's (and without backup codes when no second factor is left).
func ownFactors(u *users.User, st mfa.Status) mfa.Status {
	st.Phones = slices.DeleteFunc(st.Phones, func(id string) bool { return phoneValue(u, id) == "" })
	if !st.Enabled() {
		st.BackupCodes = 0
	}
	return st
}

// phoneValue is the number of the user's phone id ("" if none).
func phoneValue(u *users.User, id string) string {
	for _, p := range u.Phones {
		if p.ID == id {
			return p.Value
		}
	}
	return ""
}

// offer lists the second factors a user with one may finish signing in
// with: the authenticator app; with SMS codes on, every phone of the user
// (Clerk offers them all once the user has a second factor) except the
// one that received the first factor's code, unless nothing else is left;
// and backup codes while some are unused.
func (s *Service) offer(a *Attempt, u *users.User, st mfa.Status) []SecondFactor {
	if !st.Enabled() {
		return nil
	}
	var out []SecondFactor
	if st.TOTP {
		out = append(out, SecondFactor{Strategy: StrategyTOTP})
	}
	if s.mfa.Config().PhoneCode {
		used := firstFactorPhone(a)
		others := st.TOTP || st.BackupCodes > 0 || len(u.Phones) > 1
		for i, p := range u.Phones {
			if p.ID == used && others {
				continue
			}
			out = append(out, SecondFactor{Strategy: StrategyPhoneCode, PhoneNumberID: p.ID,
				SafeIdentifier: Mask(users.KindPhone, p.Value), Primary: i == 0})
		}
	}
	if st.BackupCodes > 0 {
		out = append(out, SecondFactor{Strategy: StrategyBackupCode})
	}
	return out
}

// firstFactorPhone is the phone id a verified first-factor SMS code went
// to, or "".
func firstFactorPhone(a *Attempt) string {
	v := a.Verification
	if v == nil || v.Status != VerVerified || CodeChannel(v.Strategy) != users.KindPhone {
		return ""
	}
	return v.TargetID
}

// account is a user with what tasks.For needs besides the user record.
type account struct {
	*users.User
	secondFactor bool
}

func (a account) HasSecondFactor() bool { return a.secondFactor }

// policy is the deployment's rule for new sessions.
func (s *Service) policy() tasks.Policy {
	return tasks.Policy{RequireSecondFactor: s.mfa.Config().Required}
}
