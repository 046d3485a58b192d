package signin

import (
	"context"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/codes"
	"github.com/authgate/authgate/internal/ratelimit"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/users"
)

// CodeLength is the number of digits of a verification code.
const CodeLength = codes.Length

// codeBinding is what a sign-in code is bound to (the parts of its MAC
// before the code): its attempt, user and strategy, so that a code for
// one user or flow never works for another.
func codeBinding(a *Attempt, st *strategy) []string {
	return []string{a.ID, macUserID(a), st.macName()}
}

// spent reports whether a code verification may take no more tries.
func (s *Service) spent(v *Verification) bool {
	return v.Status == VerFailed || v.Attempts >= s.cfg.CodeMaxAttempts
}

// pickTarget finds the identification a code goes to: the given id, or
// the identifier the attempt was started with, or the user's first.
//
// With strict (enumeration protection) only the identifier the attempt
// started with can receive a code, for known and unknown users alike, so
// the answers do not tell them apart.
func pickTarget(a *Attempt, u *users.User, st *strategy, targetID string, strict bool) (users.Identification, error) {
	ch := st.channel
	notForUser := apierr.StrategyForUserInvalid.WithParam("strategy")
	if strict && u != nil && !a.PasswordVerified {
		if a.Kind != ch.kind || (targetID != "" && targetID != u.IdentificationOf(a.Kind, a.Identifier).ID) {
			return users.Identification{}, notForUser
		}
		return u.IdentificationOf(a.Kind, a.Identifier), nil
	}
	if u == nil { // unknown identifier: pretend, but only for its own kind
		if a.Kind != ch.kind || (targetID != "" && targetID != a.FakeID) {
			return users.Identification{}, notForUser
		}
		return users.Identification{ID: a.FakeID, Value: a.Identifier}, nil
	}
	list := u.Emails
	if ch.kind == users.KindPhone {
		list = u.Phones
	}
	if targetID != "" {
		for _, idn := range list {
			if idn.ID == targetID {
				return idn, nil
			}
		}
		return users.Identification{}, apierr.FormParamValueInvalid.WithParam(ch.param).WithLongMessage(ch.param + " does not belong to this account.")
	}
	for _, idn := range list {
		if a.Kind == ch.kind && idn.Value == a.Identifier {
			return idn, nil
		}
	}
	if len(list) == 0 {
		return users.Identification{}, notForUser
	}
	return list[0], nil
}

// send creates a new code for the attempt and delivers it. For unknown
// identifiers it does the same work, the delivery included, but the
// notice goes to the discarding sink.
func (s *Service) send(ctx context.Context, rq Request, res *Result, st *strategy, targetID string) error {
	a := res.Attempt
	// The password lockout guards sign-in; password recovery stays open
	// (codes have their own budget), so a locked-out user can reset.
	if !st.resets {
		if err := s.checkPasswordLock(ctx, rq, a); err != nil {
			return err
		}
	}
	if v := a.Verification; v != nil && v.Strategy != StrategyPassword && s.spent(v) {
		return apierr.VerificationFailed
	}
	target, err := pickTarget(a, res.User, st, targetID, s.cfg.EnumerationProtection)
	if err != nil {
		return err
	}
	return s.issueCode(ctx, rq, a, st, target)
}

// issueCode draws a code of strategy st for the attempt, starts (or
// renews) the verification of st's step with it, and delivers it to
// target: after the resend cooldown, then the rate limits (per identifier
// and per IP; the same for known and unknown identifiers).
func (s *Service) issueCode(ctx context.Context, rq Request, a *Attempt, st *strategy, target users.Identification) error {
	if err := ratelimit.Resend(ctx, s.st, st.resendKey(a.ID), s.cfg.ResendAfter); err != nil {
		return err
	}
	if err := s.throttle.send(ctx, target.Value, rq.IP); err != nil {
		return err
	}
	expire := s.stamp().Add(s.cfg.CodeTTL)
	code, err := s.storeCode(ctx, a, st)
	if err != nil {
		return err
	}
	attempts := 0
	if v := a.verificationOf(st); v != nil {
		attempts = v.Attempts // a new code does not reset the failure count
	}
	a.setVerification(st, &Verification{
		Strategy: st.name, Status: VerUnverified, TargetID: target.ID, Target: target.Value,
		Attempts: attempts, ExpireAt: expire,
	})
	a.Status = st.awaits()
	if err := s.save(ctx, a); err != nil {
		return err
	}
	return s.deliverCode(ctx, a, st, notify.Notice{
		Channel: st.channel.notify, Kind: st.message, To: target.Value, Code: code, ExpiresIn: s.cfg.CodeTTL,
	})
}

// checkPasswordLock refuses code sign-in while the password lockout of
// the attempt's subject (device or account, known or not) holds.
func (s *Service) checkPasswordLock(ctx context.Context, rq Request, a *Attempt) error {
	who, err := s.passwordSubject(ctx, rq, a)
	if err != nil {
		return err
	}
	return s.lockout.check(ctx, who)
}

// storeCode draws a new code for the attempt and stores its MAC,
// replacing any earlier code. A fake attempt draws and MACs a code too
// (with its fake user id), so that it costs the same, but stores a value
// no MAC equals: nobody can have its code.
func (s *Service) storeCode(ctx context.Context, a *Attempt, st *strategy) (string, error) {
	return codes.Issue(ctx, s.st, s.keys, st.codeKey(a.ID), s.cfg.CodeTTL+margin, a.Fake, codeBinding(a, st)...)
}

// deliverCode sends the code notice; a fake attempt's goes to the
// discarding sink.
func (s *Service) deliverCode(ctx context.Context, a *Attempt, st *strategy, n notify.Notice) error {
	sink := s.deliver
	if a.Fake {
		sink = s.discard
	}
	if s.cfg.EnumerationProtection {
		// Deliver in the background: known and unknown identifiers answer
		// alike and in the same time. A failure leaves the code unusable.
		s.background(func(ctx context.Context) {
			_ = s.deliverNow(ctx, a.ID, st, sink, n, !a.Fake)
		})
		return nil
	}
	if err := s.deliverNow(ctx, a.ID, st, sink, n, true); err != nil {
		return apierr.DeliveryFailed
	}
	return nil
}

func (s *Service) deliverNow(ctx context.Context, attemptID string, st *strategy, sink Deliverer, n notify.Notice, real bool) error {
	if err := sink.Deliver(ctx, n); err != nil {
		s.codeUndeliverable(ctx, attemptID, st, err)
		return err
	}
	s.emit(ctx, "code_sent", zap.String("strategy", st.name), zap.String("channel", string(n.Channel)), zap.Bool("delivered", real))
	return nil
}

// codeUndeliverable makes a code that could not be delivered unusable:
// nobody can have it, so no one should guess it.
func (s *Service) codeUndeliverable(ctx context.Context, attemptID string, st *strategy, err error) {
	if derr := s.st.Delete(ctx, st.codeKey(attemptID)); derr != nil {
		// Logged only: the code reached no one, and it expires with its TTL.
		s.log.Warn("deleting an undelivered code failed", zap.String("sign_in_id", attemptID), zap.Error(derr))
	}
	s.log.Error("delivering verification code failed", zap.String("sign_in_id", attemptID), zap.String("strategy", st.name), zap.Error(err))
	s.emit(ctx, "code_delivery_failed", zap.String("strategy", st.name))
}

// checkCode verifies the code of a strategy that checks one (a code the
// flow sent, an authenticator app's, a backup code) and uses it up.
//
// A try is counted twice before its code is compared: against the
// account's code budget (budget.go), which refuses every code, the right
// one too, while it is locked; then against the verification's
// code_max_attempts. However many guesses race, neither limit lets more
// codes be compared than it allows. Second factors count toward the same
// budget as first-factor codes.
func (s *Service) checkCode(ctx context.Context, rq Request, res *Result, st *strategy, p AttemptParams) error {
	if err := s.usable(ctx, res.Attempt, st); err != nil {
		return err
	}
	if p.Code == "" {
		return paramMissing("code")
	}
	a := res.Attempt
	if !st.resets && !st.second {
		if err := s.checkPasswordLock(ctx, rq, a); err != nil {
			return err
		}
	}
	if st.resets && p.Password != "" {
		if err := s.precheckReset(ctx, res, p.Password); err != nil {
			return err
		}
	}
	// Whether a second factor follows decides what a right code clears;
	// it is read before the code is compared, so that a right and a wrong
	// code cost the same reads.
	if err := s.loadSecondFactors(ctx, res); err != nil {
		return err
	}
	account := accountOf(a)
	r, err := s.budget.reserve(ctx, account)
	if err != nil {
		return err
	}
	tries, err := codes.Try(ctx, s.st, st.failKey(a.ID), s.cfg.AttemptLifetime+margin)
	if err != nil {
		return err
	}
	if int(tries) > s.cfg.CodeMaxAttempts {
		return s.codeFailed(ctx, res, st, tries, r)
	}
	ok, err := s.useCode(ctx, res, st, p.Code)
	if err != nil {
		return err
	}
	if !ok {
		return s.codeFailed(ctx, res, st, tries, r)
	}
	// The code is used up: this request is the only one that gets here.
	a.verificationOf(st).Status = VerVerified
	// A right code clears the account's failures, unless a second factor
	// is still to come: a first factor an attacker holds (a mailbox, say)
	// must not buy fresh guesses at the second.
	if st.second || !res.mfa.Enabled() {
		s.budget.clear(ctx, account)
		s.lockout.clear(ctx, account)
	} else {
		s.budget.release(ctx, account, r)
	}
	s.emit(ctx, "code_attempt", zap.String("strategy", st.name), zap.String("result", "verified"))
	return nil
}

// useCode checks code with st's factor and uses it up: a code the flow
// sent is compared and deleted, an authenticator code's time step is
// marked used, a backup code is removed (mfa). Each is one atomic store
// step, so a code is used once however many requests race.
func (s *Service) useCode(ctx context.Context, res *Result, st *strategy, code string) (bool, error) {
	if st.second && (res.User == nil || res.Attempt.Fake) {
		return false, nil // cannot happen: only a known user gets here
	}
	switch st.factor {
	case factorTOTP:
		return s.mfa.CheckTOTP(ctx, res.User.ID, code)
	case factorBackupCode:
		return s.mfa.UseBackupCode(ctx, res.User.ID, code)
	}
	return s.consume(ctx, res, st, code)
}

// usable checks that the attempt has a live code of strategy st.
func (s *Service) usable(ctx context.Context, a *Attempt, st *strategy) error {
	v := a.verificationOf(st)
	if v == nil || v.Strategy == StrategyPassword {
		return apierr.VerificationNotSent
	}
	if v.Strategy != st.name {
		return apierr.VerificationStrategyInvalid
	}
	if s.spent(v) {
		return apierr.VerificationFailed
	}
	if !s.now().Before(v.ExpireAt) {
		v.Status = VerExpired
		// The clock decides expiry on every try, so a status that could
		// not be stored changes nothing but what a reload shows: log it
		// and answer with the expiry.
		if err := s.save(ctx, a); err != nil {
			s.log.Warn("storing expired verification failed", zap.String("sign_in_id", a.ID), zap.Error(err))
		}
		return apierr.VerificationExpired
	}
	return nil
}

// precheckReset checks a new password given with a reset code before the
// code is used, so a weak password does not burn the code. Unknown
// identifiers get the same checks and the same hashing time.
func (s *Service) precheckReset(ctx context.Context, res *Result, pw string) error {
	if res.User != nil {
		return s.checkNewPassword(ctx, res.User, pw)
	}
	err := s.rules.Validate(ctx, pw, []string{res.Attempt.Identifier})
	s.hasher.VerifyDummy(ctx, pw)
	return err
}

// consume compares the code with the stored MAC and deletes it when it
// matches, in one step, so a code is used once. Malformed codes never
// match; fake attempts are compared like real ones (the same work) but
// their stored value matches no MAC, and they are refused regardless.
func (s *Service) consume(ctx context.Context, res *Result, st *strategy, code string) (bool, error) {
	a := res.Attempt
	ok, err := codes.Consume(ctx, s.st, s.keys, st.codeKey(a.ID), code, codeBinding(a, st)...)
	return ok && res.User != nil && !a.Fake, err
}

// codeFailed records a wrong code (the n-th try of the attempt, reserved
// as r in the account's code budget); it returns the error to show.
func (s *Service) codeFailed(ctx context.Context, res *Result, st *strategy, n int64, r reservation) error {
	// The code itself is left alone: a request with an earlier try may
	// still be comparing it, and no later try ever will.
	failed := int(n) >= s.cfg.CodeMaxAttempts
	advanced, err := s.recordCodeFailure(ctx, res.Attempt, st, n, failed)
	if err != nil {
		return err
	}
	if advanced {
		// The right code was used by a concurrent request: a replay, not a guess.
		return apierr.VerificationAlreadyVerified
	}
	s.emit(ctx, "code_attempt", zap.String("strategy", st.name), zap.String("result", "incorrect"))
	if err := s.budget.failed(ctx, accountOf(res.Attempt), r); err != nil {
		return err
	}
	if failed {
		return apierr.VerificationFailed
	}
	return apierr.FormCodeIncorrect.WithParam("code")
}
