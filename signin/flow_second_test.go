package signin

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/codes"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/users"
)

// adaWithTOTP is ada with an authenticator app: its secret and her first
// backup codes. The clock is one step on, so the verification's code is
// not the next one.
func (e *env) adaWithTOTP() (*users.User, string, []string) {
	e.t.Helper()
	u := e.ada()
	en, err := e.mfa.Enroll(e.ctx, u.ID, adaEmail)
	if err != nil {
		e.t.Fatal(err)
	}
	v, err := e.mfa.Verify(e.ctx, u.ID, e.totp(en.Secret))
	if err != nil {
		e.t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	return u, en.Secret, v.BackupCodes
}

// totp is the authenticator code of secret now.
func (e *env) totp(secret string) string {
	e.t.Helper()
	c, err := mfa.CodeAt(secret, e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) attemptSecond(rq Request, id, strategy, code string) (*Result, error) {
	return e.svc.AttemptSecondFactor(e.ctx, rq, id, AttemptParams{Strategy: strategy, Code: code})
}

func strategiesOf(fs []SecondFactor) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Strategy)
	}
	return out
}

// needsSecond checks an attempt waiting for its second factor: no
// session, and the factors offered.
func needsSecond(t *testing.T, res *Result, want ...string) {
	t.Helper()
	if res.Attempt.Status != StatusNeedsSecondFactor || res.Session != nil || res.Attempt.CreatedSessionID != "" {
		t.Fatalf("status %s, session %v; want needs_second_factor and no session", res.Attempt.Status, res.Session)
	}
	if got := strategiesOf(res.SecondFactors); !slices.Equal(got, want) {
		t.Fatalf("second factors %v, want %v", got, want)
	}
}

func TestPasswordThenTOTP(t *testing.T) {
	e := newEnv(t)
	u, secret, _ := e.adaWithTOTP()
	rq := e.request()
	res := e.create(rq, CreateParams{Identifier: adaEmail, Password: adaPass})
	needsSecond(t, res, StrategyTOTP, StrategyPhoneCode, StrategyBackupCode)
	if f := res.SecondFactors[1]; f.PhoneNumberID != u.Phones[0].ID || f.SafeIdentifier != Mask(users.KindPhone, adaPhone) {
		t.Fatalf("phone factor %+v", f)
	}
	id := res.Attempt.ID
	// A reload shows the same step; the first factor cannot be redone.
	needsSecond(t, e.get(rq, id), StrategyTOTP, StrategyPhoneCode, StrategyBackupCode)
	_, err := e.attempt(rq, id, AttemptParams{Strategy: StrategyPassword, Password: adaPass})
	wantErr(t, err, apierr.VerificationAlreadyVerified, "")
	// A wrong code, then an unknown and a first-factor-only strategy.
	_, err = e.attemptSecond(rq, id, StrategyTOTP, wrongCode(e.totp(secret)))
	wantErr(t, err, apierr.FormCodeIncorrect, "code")
	if v := e.get(rq, id).Attempt.SecondVerification; v == nil || v.Strategy != StrategyTOTP || v.Attempts != 1 {
		t.Fatalf("second verification %+v, want totp with 1 attempt", v)
	}
	_, err = e.attemptSecond(rq, id, StrategyEmailCode, "123456")
	wantErr(t, err, apierr.FormParamValueInvalid, "strategy")
	_, err = e.attemptSecond(rq, id, StrategyTOTP, "")
	wantErr(t, err, apierr.FormParamMissing, "code")
	done := e.ok(e.attemptSecond(rq, id, StrategyTOTP, e.totp(secret)))
	if done.Attempt.Status != StatusComplete || done.Session == nil || done.Attempt.CreatedSessionID != done.Session.ID {
		t.Fatalf("after the second factor: %+v", done.Attempt)
	}
	if done.Session.Status != session.StatusActive || !done.Session.SecondFactorAt.Equal(e.clock.Now().UTC().Truncate(time.Millisecond)) {
		t.Fatalf("session %+v: want active with its second factor recorded", done.Session)
	}
	if done.Attempt.SecondVerification.Status != VerVerified {
		t.Fatalf("second verification %+v", done.Attempt.SecondVerification)
	}
	_, err = e.attemptSecond(rq, id, StrategyTOTP, e.totp(secret))
	wantErr(t, err, apierr.ClientStateInvalid, "")
}

// A user without a second factor signs in with the first, as before.
func TestNoSecondFactorCompletes(t *testing.T) {
	e := newEnv(t)
	_, rq := e.adaClient()
	res := e.create(rq, CreateParams{Identifier: adaEmail, Password: adaPass})
	if res.Attempt.Status != StatusComplete || res.Session == nil || len(res.SecondFactors) != 0 {
		t.Fatalf("status %s, factors %v", res.Attempt.Status, res.SecondFactors)
	}
	_, err := e.attemptSecond(rq, res.Attempt.ID, StrategyTOTP, "123456")
	wantErr(t, err, apierr.ClientStateInvalid, "")
}

func TestEmailCodeThenBackupCode(t *testing.T) {
	e := newEnv(t)
	u, _, codes := e.adaWithTOTP()
	signIn := func(code string) error {
		t.Helper()
		rq := e.request()
		res, sent := e.codeSent(rq, StrategyEmailCode, adaEmail)
		res = e.attemptOK(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyEmailCode, Code: sent})
		needsSecond(t, res, StrategyTOTP, StrategyPhoneCode, StrategyBackupCode)
		done, err := e.attemptSecond(rq, res.Attempt.ID, StrategyBackupCode, code)
		if err == nil && done.Attempt.Status != StatusComplete {
			t.Fatalf("status %s", done.Attempt.Status)
		}
		return err
	}
	if err := signIn(codes[0]); err != nil {
		t.Fatal(err)
	}
	wantErr(t, signIn(codes[0]), apierr.FormCodeIncorrect, "code")
	if st, err := e.mfa.Status(e.ctx, u.ID); err != nil || st.BackupCodes != mfa.BackupCodeCount-1 {
		t.Fatalf("%d backup codes left (%v), want %d", st.BackupCodes, err, mfa.BackupCodeCount-1)
	}
}

// The phone that received the first factor's code is not offered as the
// second factor (one phone would be both factors), unless it is the only
// way left; the other phones are.
func TestSecondFactorPhones(t *testing.T) {
	e := newEnv(t)
	u := e.ada()
	if _, err := e.mfa.ReservePhone(e.ctx, u.ID, u.Phones[0].ID, true); err != nil {
		t.Fatal(err)
	}
	rq := e.request()
	res, sent := e.codeSent(rq, StrategyPhoneCode, adaPhone)
	res = e.attemptOK(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyPhoneCode, Code: sent})
	// Her backup codes are another way: the phone is left out.
	needsSecond(t, res, StrategyBackupCode)
	_, err := e.attemptSecond(rq, res.Attempt.ID, StrategyPhoneCode, sent)
	wantErr(t, err, apierr.StrategyForUserInvalid, "strategy")

	// After a password the phone is offered; its SMS code finishes.
	rq = e.request()
	res = e.create(rq, CreateParams{Identifier: adaEmail, Password: adaPass})
	needsSecond(t, res, StrategyPhoneCode, StrategyBackupCode)
	_, err = e.attemptSecond(rq, res.Attempt.ID, StrategyPhoneCode, "123456")
	wantErr(t, err, apierr.VerificationNotSent, "")
	_, err = e.svc.PrepareSecondFactor(e.ctx, rq, res.Attempt.ID, PrepareParams{Strategy: StrategyPhoneCode, PhoneNumberID: "idn_nope"})
	wantErr(t, err, apierr.FormParamValueInvalid, "phone_number_id")
	e.ok(e.svc.PrepareSecondFactor(e.ctx, rq, res.Attempt.ID, PrepareParams{Strategy: StrategyPhoneCode}))
	n := e.out.last(t, e.pool)
	if n.To != adaPhone || !codes.WellFormed(n.Code) {
		t.Fatalf("second-factor SMS %+v", n)
	}
	// The code is a second-factor code: as a first factor it does nothing.
	if v := e.get(rq, res.Attempt.ID).Attempt.SecondVerification; v.Strategy != StrategyPhoneCode || v.TargetID != u.Phones[0].ID {
		t.Fatalf("second verification %+v", v)
	}
	_, err = e.svc.PrepareSecondFactor(e.ctx, rq, res.Attempt.ID, PrepareParams{Strategy: StrategyPhoneCode})
	wantErr(t, err, apierr.VerificationCodeTooManyRequests, "")
	done := e.ok(e.attemptSecond(rq, res.Attempt.ID, StrategyPhoneCode, n.Code))
	if done.Attempt.Status != StatusComplete {
		t.Fatalf("status %s", done.Attempt.Status)
	}
}

// The seed's reset for a user with a second factor: the reset code with
// the new password answers needs_second_factor with the password already
// changed; the second factor completes it.
func TestResetNeedsSecondFactor(t *testing.T) {
	e := newEnv(t)
	u, secret, _ := e.adaWithTOTP()
	rq := e.request()
	res, code := e.codeSent(rq, StrategyResetPasswordEmail, adaEmail)
	res = e.attemptOK(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyResetPasswordEmail, Code: code, Password: newPass})
	needsSecond(t, res, StrategyTOTP, StrategyPhoneCode, StrategyBackupCode)
	nu, err := e.users.Get(e.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := e.pw.Verify(e.ctx, newPass, nu.PasswordDigest); !ok {
		t.Fatal("the new password is not set before the second factor")
	}
	done := e.ok(e.attemptSecond(rq, res.Attempt.ID, StrategyTOTP, e.totp(secret)))
	if done.Attempt.Status != StatusComplete || done.Session == nil {
		t.Fatalf("status %s", done.Attempt.Status)
	}

	// The two-step reset (code, then reset_password) asks for it too.
	e.clock.Advance(30 * time.Second)
	rq = e.request()
	res, code = e.codeSent(rq, StrategyResetPasswordPhone, adaPhone)
	res = e.attemptOK(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyResetPasswordPhone, Code: code})
	if res.Attempt.Status != StatusNeedsNewPassword {
		t.Fatalf("status %s", res.Attempt.Status)
	}
	res = e.ok(e.svc.ResetPassword(e.ctx, rq, res.Attempt.ID, "yet another long passphrase", true))
	// The phone that got the reset code is not the second factor.
	needsSecond(t, res, StrategyTOTP, StrategyBackupCode)
}

// Every wrong second-factor code counts in the account's code budget, and
// a right first-factor code does not clear it while the second factor is
// still to come: an attacker with the mailbox gets no fresh guesses.
func TestSecondFactorCountsInCodeBudget(t *testing.T) {
	e := newEnv(t) // LockoutAttempts 3
	_, secret, codes := e.adaWithTOTP()
	emailFirst := func() (Request, string) {
		t.Helper()
		rq := e.request()
		res, sent := e.codeSent(rq, StrategyEmailCode, adaEmail)
		res = e.attemptOK(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyEmailCode, Code: sent})
		needsSecond(t, res, StrategyTOTP, StrategyPhoneCode, StrategyBackupCode)
		return rq, res.Attempt.ID
	}
	rq, id := emailFirst()
	_, err := e.attemptSecond(rq, id, StrategyTOTP, wrongCode(e.totp(secret)))
	wantErr(t, err, apierr.FormCodeIncorrect, "code")
	_, err = e.attemptSecond(rq, id, StrategyBackupCode, "zzzzzzzzzz")
	wantErr(t, err, apierr.FormCodeIncorrect, "code")
	// A new attempt with a right email code: the count goes on.
	rq, id = emailFirst()
	_, err = e.attemptSecond(rq, id, StrategyTOTP, wrongCode(e.totp(secret)))
	codesLockedFor(t, err, e.cfg.CodeLockoutBase)
	// Locked: the right code is refused too, and nothing is used up.
	_, err = e.attemptSecond(rq, id, StrategyBackupCode, codes[0])
	codesLockedFor(t, err, e.cfg.CodeLockoutBase)
	e.clock.Advance(e.cfg.CodeLockoutBase)
	done := e.ok(e.attemptSecond(rq, id, StrategyBackupCode, codes[0]))
	if done.Attempt.Status != StatusComplete {
		t.Fatalf("status %s", done.Attempt.Status)
	}
	// The right second factor cleared the budget.
	rq, id = emailFirst()
	for range e.cfg.LockoutAttempts - 1 {
		_, err = e.attemptSecond(rq, id, StrategyTOTP, wrongCode(e.totp(secret)))
		wantErr(t, err, apierr.FormCodeIncorrect, "code")
	}
}

// code_max_attempts bounds the second step of one attempt as it bounds
// the first.
func TestSecondFactorMaxAttempts(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LockoutAttempts = 100 })
	_, secret, _ := e.adaWithTOTP()
	rq := e.request()
	id := e.create(rq, CreateParams{Identifier: adaEmail, Password: adaPass}).Attempt.ID
	for try := 1; try <= e.cfg.CodeMaxAttempts; try++ {
		_, err := e.attemptSecond(rq, id, StrategyTOTP, wrongCode(e.totp(secret)))
		if try < e.cfg.CodeMaxAttempts {
			wantErr(t, err, apierr.FormCodeIncorrect, "code")
		} else {
			wantErr(t, err, apierr.VerificationFailed, "")
		}
	}
	_, err := e.attemptSecond(rq, id, StrategyTOTP, e.totp(secret))
	wantErr(t, err, apierr.VerificationFailed, "")
}

// 20 requests race with one right authenticator code: one signs in.
func TestSecondFactorRace(t *testing.T) {
	e := newEnv(t)
	_, secret, _ := e.adaWithTOTP()
	rq := e.request()
	id := e.create(rq, CreateParams{Identifier: adaEmail, Password: adaPass}).Attempt.ID
	code := e.totp(secret)
	var won atomic.Int32
	testenv.Together(20, func(int) {
		if res, err := e.attemptSecond(rq, id, StrategyTOTP, code); err == nil && res.Session != nil {
			won.Add(1)
		}
	})
	if won.Load() != 1 {
		t.Fatalf("%d of 20 racing requests signed in, want 1", won.Load())
	}
}

// With a second factor required, a user without one gets the setup-mfa
// task (after reset-password); one with a factor does not.
func TestRequiredSecondFactorTask(t *testing.T) {
	e := newEnv(t)
	svc := e.mfaRequired(nil)
	u := e.ada()
	signIn := func() *session.Session {
		t.Helper()
		res, err := svc.Create(e.ctx, e.request(), CreateParams{Identifier: adaEmail, Password: adaPass})
		if err != nil {
			t.Fatal(err)
		}
		return res.Session
	}
	if s := signIn(); s.Status != session.StatusPending || !slices.Equal(s.Tasks, []string{tasks.SetupMFA}) {
		t.Fatalf("no second factor: %s %v, want pending [setup-mfa]", s.Status, s.Tasks)
	}
	if _, err := e.users.Update(e.ctx, u.ID, func(u *users.User) error { u.ResetRequired = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if s := signIn(); !slices.Equal(s.Tasks, []string{tasks.ResetPassword, tasks.SetupMFA}) {
		t.Fatalf("reset required too: %v, want [reset-password setup-mfa]", s.Tasks)
	}
}
