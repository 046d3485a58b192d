package signin

import (
	"testing"
	"time"

	"github.com/authgate/authgate/apierr"
)

func (e *env) signInWith(pw string) (*Result, error) {
	return e.svc.Create(e.ctx, e.request(), CreateParams{Identifier: adaEmail, Password: pw})
}

func lockedFor(t *testing.T, err error, want time.Duration) {
	t.Helper()
	got := wantErr(t, err, apierr.UserLocked, "")
	if secs := got.Meta["lockout_expires_in_seconds"]; secs != int64(want/time.Second) {
		t.Fatalf("lockout_expires_in_seconds = %v, want %d", secs, int64(want/time.Second))
	}
}

func TestLockoutAfterWrongPasswords(t *testing.T) {
	e := newEnv(t)
	u := e.ada()
	for i := 1; i < e.cfg.LockoutAttempts; i++ {
		_, err := e.signInWith("wrong password")
		wantErr(t, err, apierr.FormPasswordIncorrect, "password")
	}
	_, err := e.signInWith("wrong password")
	lockedFor(t, err, e.cfg.LockoutDuration)
	if ev := e.ev.one(t, "user_locked"); ev.fields["user_id"] != u.ID {
		t.Fatalf("user_locked = %+v", ev)
	}
	// The right password does not help while the lock lasts, and the
	// error counts down.
	e.clock.Advance(e.cfg.LockoutDuration / 2)
	_, err = e.signInWith(adaPass)
	lockedFor(t, err, e.cfg.LockoutDuration/2)
	// Nor do codes.
	_, err = e.svc.Create(e.ctx, e.request(), CreateParams{Strategy: StrategyEmailCode, Identifier: adaEmail})
	wantErr(t, err, apierr.UserLocked, "")

	e.clock.Advance(e.cfg.LockoutDuration / 2)
	res, err := e.signInWith(adaPass)
	if err != nil || res.Attempt.Status != StatusComplete {
		t.Fatalf("after the lockout: %v", err)
	}
}

func TestSuccessClearsFailures(t *testing.T) {
	e := newEnv(t)
	e.ada()
	for round := 0; round < 3; round++ {
		for i := 1; i < e.cfg.LockoutAttempts; i++ {
			_, err := e.signInWith("wrong password")
			wantErr(t, err, apierr.FormPasswordIncorrect, "password")
		}
		if _, err := e.signInWith(adaPass); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}

// Wrong sign-in codes count against the lockout; wrong reset codes do
// not, and a locked-out user can still reset.
func TestCodesAndLockout(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.CodeMaxAttempts = 10 })
	e.ada()
	rq := e.request()
	res, code := e.codeSent(rq, StrategyResetPasswordEmail, adaEmail)
	for i := 0; i < e.cfg.LockoutAttempts+1; i++ {
		_, err := e.attempt(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyResetPasswordEmail, Code: wrongCode(code)})
		wantErr(t, err, apierr.FormCodeIncorrect, "code")
	}
	if _, err := e.signInWith(adaPass); err != nil {
		t.Fatalf("wrong reset codes locked the account: %v", err)
	}

	rq = e.request()
	res, code = e.codeSent(rq, StrategyEmailCode, adaEmail)
	for i := 1; i < e.cfg.LockoutAttempts; i++ {
		_, err := e.attempt(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyEmailCode, Code: wrongCode(code)})
		wantErr(t, err, apierr.FormCodeIncorrect, "code")
	}
	_, err := e.attempt(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyEmailCode, Code: wrongCode(code)})
	wantErr(t, err, apierr.UserLocked, "")
	_, err = e.attempt(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyEmailCode, Code: code})
	wantErr(t, err, apierr.UserLocked, "")

	rq = e.request()
	res, code = e.codeSent(rq, StrategyResetPasswordEmail, adaEmail)
	res = e.attemptOK(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyResetPasswordEmail, Code: code, Password: newPass})
	if res.Attempt.Status != StatusComplete {
		t.Fatalf("reset while locked: %s", res.Attempt.Status)
	}
	// Setting a new password ended the lockout.
	if _, err := e.signInWith(newPass); err != nil {
		t.Fatalf("after the reset: %v", err)
	}
}

// A lock record that does not parse fails closed: the account is locked
// for a full lockout duration, and the fault is logged.
func TestMalformedLockRecordFailsClosed(t *testing.T) {
	e := newEnv(t)
	u := e.ada()
	if err := e.st.Put(e.ctx, lockKey(u.ID), []byte("not a time"), e.cfg.LockoutDuration); err != nil {
		t.Fatal(err)
	}
	_, err := e.signInWith(adaPass)
	lockedFor(t, err, e.cfg.LockoutDuration)
	if n := e.logs.FilterMessageSnippet("malformed lockout record").FilterField(zapString("user_id", u.ID)).Len(); n != 1 {
		t.Fatalf("%d log lines about the malformed record, want 1", n)
	}
	// The store's TTL ends it.
	e.clock.Advance(e.cfg.LockoutDuration + time.Second)
	if _, err := e.signInWith(adaPass); err != nil {
		t.Fatalf("after the record expired: %v", err)
	}
}

func TestChangePasswordCountsWrongCurrentPasswords(t *testing.T) {
	e := newEnv(t)
	e.ada()
	res, err := e.signInWith(adaPass)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < e.cfg.LockoutAttempts; i++ {
		_, _, err := e.svc.ChangePassword(e.ctx, res.User, res.Session, ChangeParams{NewPassword: newPass, CurrentPassword: "wrong password"})
		wantErr(t, err, apierr.FormPasswordIncorrect, "current_password")
	}
	_, _, err = e.svc.ChangePassword(e.ctx, res.User, res.Session, ChangeParams{NewPassword: newPass, CurrentPassword: "wrong password"})
	wantErr(t, err, apierr.UserLocked, "")
	_, _, err = e.svc.ChangePassword(e.ctx, res.User, res.Session, ChangeParams{NewPassword: newPass, CurrentPassword: adaPass})
	wantErr(t, err, apierr.UserLocked, "")
}
