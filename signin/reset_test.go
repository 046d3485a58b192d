package signin

import (
	"errors"
	"testing"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/users"
)

// verifiedReset runs a reset strategy up to needs_new_password.
func (e *env) verifiedReset(rq Request, strategy, identifier string) *Result {
	e.t.Helper()
	res, code := e.codeSent(rq, strategy, identifier)
	res = e.attemptOK(rq, res.Attempt.ID, AttemptParams{Strategy: strategy, Code: code})
	if res.Attempt.Status != StatusNeedsNewPassword || res.Session != nil {
		e.t.Fatalf("after the reset code: %+v", res.Attempt)
	}
	return res
}

// adaSignedIn makes Ada's account and signs her in with her password.
func (e *env) adaSignedIn() (*users.User, *Result) {
	e.t.Helper()
	u := e.ada()
	return u, e.signedIn()
}

// signedIn returns a signed-in session of the user, to see what a reset
// does to the others.
func (e *env) signedIn() *Result {
	e.t.Helper()
	res, err := e.signInWith(adaPass)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func (e *env) sessionStatus(id string) string {
	e.t.Helper()
	s, err := e.sessions.Get(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return s.Status
}

func TestResetPassword(t *testing.T) {
	for _, tc := range []struct{ strategy, identifier, to string }{
		{StrategyResetPasswordEmail, adaEmail, adaEmail},
		{StrategyResetPasswordPhone, adaPhone, adaPhone},
	} {
		t.Run(tc.strategy, func(t *testing.T) {
			e := newEnv(t)
			u := e.ada()
			other := e.signedIn()
			rq := e.request()
			res := e.verifiedReset(rq, tc.strategy, tc.identifier)
			id := res.Attempt.ID

			// Nothing but the new password moves it on.
			_, err := e.svc.Prepare(e.ctx, rq, id, PrepareParams{Strategy: tc.strategy})
			wantErr(t, err, apierr.VerificationAlreadyVerified, "")
			_, err = e.attempt(rq, id, AttemptParams{Strategy: tc.strategy, Code: "123456"})
			wantErr(t, err, apierr.VerificationAlreadyVerified, "")
			_, err = e.svc.ResetPassword(e.ctx, rq, id, "", false)
			wantErr(t, err, apierr.FormParamMissing, "password")
			_, err = e.svc.ResetPassword(e.ctx, rq, id, "short", false)
			wantErr(t, err, apierr.FormPasswordLengthTooShort, "password")
			_, err = e.svc.ResetPassword(e.ctx, rq, id, adaPass, false)
			wantErr(t, err, apierr.FormNewPasswordMatchesCurrent, "password")

			res = e.ok(e.svc.ResetPassword(e.ctx, rq, id, newPass, false))
			if res.Attempt.Status != StatusComplete || res.Session == nil || res.Session.Status != session.StatusActive {
				t.Fatalf("after the reset: %+v", res)
			}
			if got := e.sessionStatus(other.Session.ID); got != session.StatusActive {
				t.Fatalf("other session is %s, want it kept", got)
			}
			if ev := e.ev.one(t, "password_reset"); ev.fields["user_id"] != u.ID || ev.fields["signed_out_others"] != false {
				t.Fatalf("password_reset = %+v", ev)
			}
			if n := e.out.last(t, e.pool); n.Kind != notify.KindPasswordChanged || n.Code != "" || n.To != adaEmail {
				t.Fatalf("notice = %+v", n)
			}
			_, err = e.signInWith(adaPass)
			wantErr(t, err, apierr.FormPasswordIncorrect, "password")
			if _, err := e.signInWith(newPass); err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.ResetPassword(e.ctx, rq, id, "yet another passphrase", false)
			wantErr(t, err, apierr.ClientStateInvalid, "")
		})
	}
}

func TestResetPasswordNeedsAVerifiedCode(t *testing.T) {
	e := newEnv(t)
	_, rq := e.adaClient()
	res, _ := e.codeSent(rq, StrategyResetPasswordEmail, adaEmail)
	_, err := e.svc.ResetPassword(e.ctx, rq, res.Attempt.ID, newPass, false)
	wantErr(t, err, apierr.ClientStateInvalid, "")
	if _, err := e.signInWith(adaPass); err != nil {
		t.Fatalf("the password changed: %v", err)
	}
}

// One verified code sets one password: a request that finds the claim
// taken is refused; a failed reset gives the claim back.
func TestResetPasswordClaim(t *testing.T) {
	e := newEnv(t)
	_, rq := e.adaClient()
	id := e.verifiedReset(rq, StrategyResetPasswordEmail, adaEmail).Attempt.ID

	if err := e.st.Create(e.ctx, resetClaimKey(id), []byte("1"), e.cfg.AttemptLifetime); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.ResetPassword(e.ctx, rq, id, newPass, false)
	got := wantErr(t, err, apierr.ClientStateInvalid, "")
	if got.LongMessage != "This password reset is already being completed." {
		t.Fatalf("message %q", got.LongMessage)
	}
	if err := e.st.Delete(e.ctx, resetClaimKey(id)); err != nil {
		t.Fatal(err)
	}

	boom := errors.New("session store down")
	e.hooks.failNextCreate(boom)
	if _, err := e.svc.ResetPassword(e.ctx, rq, id, newPass, false); !errors.Is(err, boom) {
		t.Fatalf("ResetPassword = %v, want %v", err, boom)
	}
	res := e.ok(e.svc.ResetPassword(e.ctx, rq, id, "yet another passphrase", false))
	if res.Attempt.Status != StatusComplete {
		t.Fatalf("retry: %+v", res.Attempt)
	}
}

// A new password given with the reset code is checked before the code is
// used; a good one completes the reset at once and signs out the others.
func TestResetWithPasswordAndCode(t *testing.T) {
	e := newEnv(t)
	e.ada()
	other := e.signedIn()
	rq := e.request()
	res, code := e.codeSent(rq, StrategyResetPasswordEmail, adaEmail)
	id := res.Attempt.ID
	_, err := e.attempt(rq, id, AttemptParams{Strategy: StrategyResetPasswordEmail, Code: code, Password: "short"})
	wantErr(t, err, apierr.FormPasswordLengthTooShort, "password")
	if v := e.get(rq, id).Attempt.Verification; v.Attempts != 0 || v.Status != VerUnverified {
		t.Fatalf("a weak password used a try: %+v", v)
	}
	res = e.attemptOK(rq, id, AttemptParams{Strategy: StrategyResetPasswordEmail, Code: code, Password: newPass})
	if res.Attempt.Status != StatusComplete || res.Session == nil {
		t.Fatalf("result = %+v", res.Attempt)
	}
	if got := e.sessionStatus(other.Session.ID); got != session.StatusRevoked {
		t.Fatalf("other session is %s, want revoked", got)
	}
	if ev := e.ev.one(t, "password_reset"); ev.fields["signed_out_others"] != true {
		t.Fatalf("password_reset = %+v", ev)
	}
}

func TestResetOfUnknownIdentifier(t *testing.T) {
	e := newEnv(t, protected)
	rq := e.request()
	a := e.create(rq, CreateParams{Strategy: StrategyResetPasswordEmail, Identifier: "nobody@example.com"}).Attempt
	_, err := e.attempt(rq, a.ID, AttemptParams{Strategy: StrategyResetPasswordEmail, Code: "123456", Password: "short"})
	wantErr(t, err, apierr.FormPasswordLengthTooShort, "password")
	_, err = e.attempt(rq, a.ID, AttemptParams{Strategy: StrategyResetPasswordEmail, Code: "123456", Password: newPass})
	wantErr(t, err, apierr.FormCodeIncorrect, "code")
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	e.ada()
	other := e.signedIn()
	res := e.signedIn()
	u, sess := res.User, res.Session
	for _, tc := range []struct {
		p     ChangeParams
		want  *apierr.Error
		param string
	}{
		{ChangeParams{CurrentPassword: adaPass}, apierr.FormParamMissing, "new_password"},
		{ChangeParams{NewPassword: newPass}, apierr.FormParamMissing, "current_password"},
		{ChangeParams{NewPassword: "short", CurrentPassword: adaPass}, apierr.FormPasswordLengthTooShort, "new_password"},
		{ChangeParams{NewPassword: adaPass, CurrentPassword: adaPass}, apierr.FormNewPasswordMatchesCurrent, "new_password"},
	} {
		_, _, err := e.svc.ChangePassword(e.ctx, u, sess, tc.p)
		wantErr(t, err, tc.want, tc.param)
	}
	e.breach.set("breached passphrase", nil)
	_, _, err := e.svc.ChangePassword(e.ctx, u, sess, ChangeParams{NewPassword: "breached passphrase", CurrentPassword: adaPass})
	wantErr(t, err, apierr.FormPasswordPwned, "new_password")
	if ev := e.ev.one(t, "breach_hit"); ev.fields["where"] != "new_password" {
		t.Fatalf("breach_hit = %+v", ev)
	}

	nu, ns, err := e.svc.ChangePassword(e.ctx, u, sess, ChangeParams{NewPassword: newPass, CurrentPassword: adaPass, SignOutOthers: true})
	if err != nil {
		t.Fatal(err)
	}
	if nu.PasswordDigest == u.PasswordDigest || ns.ID != sess.ID {
		t.Fatalf("user %+v, session %+v", nu, ns)
	}
	if got := e.sessionStatus(other.Session.ID); got != session.StatusRevoked {
		t.Fatalf("other session is %s, want revoked", got)
	}
	if got := e.sessionStatus(sess.ID); got != session.StatusActive {
		t.Fatalf("own session is %s, want kept", got)
	}
	if n := e.out.last(t, e.pool); n.Kind != notify.KindPasswordChanged {
		t.Fatalf("notice = %+v", n)
	}
	if len(e.ev.find("task_completed")) != 0 {
		t.Fatal("a session without tasks completed one")
	}
	if _, err := e.signInWith(newPass); err != nil {
		t.Fatal(err)
	}
}

// A session in the reset-password task changes the password without the
// current one, and becomes active.
func TestChangePasswordCompletesTheResetTask(t *testing.T) {
	e := newEnv(t)
	u, res := e.adaSignedIn()
	if _, err := e.svc.RequireReset(e.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	sess, err := e.sessions.Get(e.ctx, res.Session.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !tasks.Has(sess.Tasks, tasks.ResetPassword) {
		t.Fatalf("session tasks %v", sess.Tasks)
	}
	u, err = e.users.Get(e.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	nu, ns, err := e.svc.ChangePassword(e.ctx, u, sess, ChangeParams{NewPassword: newPass})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Status != session.StatusActive || len(ns.Tasks) != 0 || nu.ResetRequired {
		t.Fatalf("session %+v, user reset required %v", ns, nu.ResetRequired)
	}
	if ev := e.ev.one(t, "task_completed"); ev.fields["task"] != tasks.ResetPassword || ev.fields["session_id"] != sess.ID {
		t.Fatalf("task_completed = %+v", ev)
	}
}
