package signin

import (
	"slices"
	"testing"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/users"
)

// sessionOf is a fresh password sign-in's session through svc (active unless the user has tasks).
func (e *env) sessionOf(svc *Service, ident string) *session.Session {
	e.t.Helper()
	res, err := svc.Create(e.ctx, e.request(), CreateParams{Identifier: ident, Password: adaPass})
	if err != nil || res.Session == nil {
		e.t.Fatalf("sign-in: %v (status %v)", err, res)
	}
	return res.Session
}

// The account page's cycle: enrol an authenticator app, get backup codes,
// replace them, remove the app.
func TestManageFactors(t *testing.T) {
	e := newEnv(t)
	u := e.ada()
	sess := e.sessionOf(e.svc, adaEmail)
	en := e.ok2(e.svc.EnrollTOTP(e.ctx, u, sess))
	_, err := e.svc.VerifyTOTP(e.ctx, u, sess, wrongCode(e.totp(en.Secret)))
	wantErr(t, err, apierr.FormCodeIncorrect, "code")
	added, err := e.svc.VerifyTOTP(e.ctx, u, sess, e.totp(en.Secret))
	if err != nil {
		t.Fatal(err)
	}
	if added.TOTP.ID != en.ID || len(added.BackupCodes) != mfa.BackupCodeCount || added.Session.Status != session.StatusActive {
		t.Fatalf("added %+v", added)
	}
	st, err := e.svc.MFAStatus(e.ctx, u)
	if err != nil || !st.TOTP || st.BackupCodes != mfa.BackupCodeCount {
		t.Fatalf("status %+v, %v", st, err)
	}
	set, err := e.svc.RegenerateBackupCodes(e.ctx, u, sess)
	if err != nil || len(set.Codes) != mfa.BackupCodeCount || slices.Equal(set.Codes, added.BackupCodes) {
		t.Fatalf("new backup codes %+v, %v", set, err)
	}
	if err := e.svc.DisableTOTP(e.ctx, u, sess); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.svc.MFAStatus(e.ctx, u); st.Enabled() || st.BackupCodes != 0 {
		t.Fatalf("after removing the app: %+v", st)
	}
	if len(e.ev.find("second_factor_added")) != 1 || len(e.ev.find("second_factor_removed")) != 1 {
		t.Fatal("factor changes are not audited")
	}
}

// ok2 is ok for an enrollment.
func (e *env) ok2(en *mfa.Enrollment, err error) *mfa.Enrollment {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
	return en
}

// Changing a factor needs a first factor proved in the last 10 minutes;
// the password proves it again.
func TestReverification(t *testing.T) {
	e := newEnv(t)
	u := e.ada()
	sess := e.sessionOf(e.svc, adaEmail)
	e.clock.Advance(10*time.Minute + time.Second)
	_, err := e.svc.EnrollTOTP(e.ctx, u, sess)
	got := wantErr(t, err, apierr.SessionReverificationRequired, "")
	if got.Status != 403 {
		t.Fatalf("status %d, want 403", got.Status)
	}
	_, err = e.svc.Reverify(e.ctx, u, sess, "wrong password")
	wantErr(t, err, apierr.FormPasswordIncorrect, "password")
	_, err = e.svc.Reverify(e.ctx, u, sess, "")
	wantErr(t, err, apierr.FormParamMissing, "password")
	e.wantReverified(u)(e.svc.Reverify(e.ctx, u, sess, adaPass))
}

// wantReverified checks what a reverification of u returned: its session
// proved the first factor just now, so a change that needs a recent one
// goes through. It returns that session.
func (e *env) wantReverified(u *users.User) func(fresh *session.Session, err error) *session.Session {
	return func(fresh *session.Session, err error) *session.Session {
		e.t.Helper()
		if err != nil {
			e.t.Fatal(err)
		}
		if !fresh.FirstFactorVerifiedAt().Equal(e.clock.Now().UTC().Truncate(time.Millisecond)) {
			e.t.Fatalf("first factor at %v", fresh.FirstFactorVerifiedAt())
		}
		if _, err := e.svc.EnrollTOTP(e.ctx, u, fresh); err != nil {
			e.t.Fatalf("after reverifying: %v", err)
		}
		return fresh
	}
}

// mfaRequired is a service over e with every second factor on and one
// required; change adjusts that configuration first (nil: none).
func (e *env) mfaRequired(change func(*mfa.Config)) *Service {
	required := mfaOn
	required.Required = true
	if change != nil {
		change(&required)
	}
	return e.instance(func(d *Deps) { d.SecondFactors = e.secondFactors(required) })
}

// With a second factor required, a session pending setup-mfa may add one
// (that completes the task), but not remove or regenerate anything; a
// session pending reset-password may do neither until the password is
// set.
func TestSetupMFATask(t *testing.T) {
	e := newEnv(t)
	svc := e.mfaRequired(nil)
	u := e.ada()
	sess := e.sessionOf(svc, adaEmail)
	if !slices.Equal(sess.Tasks, []string{tasks.SetupMFA}) {
		t.Fatalf("tasks %v", sess.Tasks)
	}
	_, err := svc.RegenerateBackupCodes(e.ctx, u, sess)
	wantErr(t, err, apierr.SessionTaskPending, "")
	en, err := svc.EnrollTOTP(e.ctx, u, sess)
	if err != nil {
		t.Fatal(err)
	}
	added, err := svc.VerifyTOTP(e.ctx, u, sess, e.totp(en.Secret))
	if err != nil {
		t.Fatal(err)
	}
	if added.Session.Status != session.StatusActive || len(added.Session.Tasks) != 0 {
		t.Fatalf("after enrolling: %s %v, want active", added.Session.Status, added.Session.Tasks)
	}
	if ev := e.ev.one(t, "task_completed"); ev.fields["task"] != tasks.SetupMFA {
		t.Fatalf("task_completed %v", ev.fields)
	}
	// The last factor cannot go while one is required.
	err = svc.DisableTOTP(e.ctx, u, added.Session)
	wantErr(t, err, apierr.FormParamValueInvalid, "")

	// reset-password comes first.
	bob := e.user(users.NewUser{Emails: []string{"bob@example.com"}, Password: adaPass})
	if _, err := e.users.Update(e.ctx, bob.ID, func(u *users.User) error { u.ResetRequired = true; return nil }); err != nil {
		t.Fatal(err)
	}
	both := e.sessionOf(svc, "bob@example.com")
	_, err = svc.EnrollTOTP(e.ctx, bob, both)
	wantErr(t, err, apierr.SessionTaskPending, "")
}

// A phone becomes the only second factor with phone_code on; that
// completes the task too.
func TestReservePhoneCompletesTask(t *testing.T) {
	e := newEnv(t)
	svc := e.mfaRequired(func(c *mfa.Config) { c.TOTP = false })
	u := e.ada()
	sess := e.sessionOf(svc, adaEmail)
	_, err := svc.ReservePhone(e.ctx, u, sess, "idn_not_hers", true)
	wantErr(t, err, apierr.ResourceNotFound, "")
	added, err := svc.ReservePhone(e.ctx, u, sess, u.Phones[0].ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if added.Session.Status != session.StatusActive || len(added.BackupCodes) != mfa.BackupCodeCount {
		t.Fatalf("added %+v", added)
	}
	if st, _ := svc.MFAStatus(e.ctx, u); !slices.Equal(st.Phones, []string{u.Phones[0].ID}) {
		t.Fatalf("status %+v", st)
	}
}

// An administrator removes every factor; with one required, the user's
// sessions get the setup-mfa task at once.
func TestDisableMFA(t *testing.T) {
	e := newEnv(t)
	svc := e.mfaRequired(nil)
	u, secret, _ := e.adaWithTOTP()
	rq := e.request()
	res, err := svc.Create(e.ctx, rq, CreateParams{Identifier: adaEmail, Password: adaPass})
	if err != nil {
		t.Fatal(err)
	}
	res, err = svc.AttemptSecondFactor(e.ctx, rq, res.Attempt.ID, AttemptParams{Strategy: StrategyTOTP, Code: e.totp(secret)})
	if err != nil || res.Session.Status != session.StatusActive {
		t.Fatalf("sign-in: %v", err)
	}
	if _, err := svc.DisableMFA(e.ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	s, err := e.sessions.Get(e.ctx, res.Session.ID)
	if err != nil || s.Status != session.StatusPending || !slices.Equal(s.Tasks, []string{tasks.SetupMFA}) {
		t.Fatalf("after disable-mfa: %+v, %v", s, err)
	}
	if st, _ := svc.MFAStatus(e.ctx, u); st.Enabled() || st.BackupCodes != 0 {
		t.Fatalf("status %+v", st)
	}
	// The password alone signs in again, to the task.
	if next := e.sessionOf(svc, adaEmail); !slices.Equal(next.Tasks, []string{tasks.SetupMFA}) {
		t.Fatalf("next sign-in: %v", next.Tasks)
	}
	_, err = svc.DisableMFA(e.ctx, "user_nobody")
	if err == nil {
		t.Fatal("an unknown user was accepted")
	}
}
