package signin

import (
	"testing"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/users"
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

// Wrong codes count against the code budget, wrong passwords against the
// password lockout: each lock leaves the other way in. A code-locked user
// signs in by password; a password-locked user resets by code, and the
// reset ends the password lock.
func TestCodesAndLockout(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.CodeMaxAttempts = 10 })
	_, rq := e.adaClient()
	res, code := e.codeSent(rq, StrategyEmailCode, adaEmail)
	for i := 1; i < e.cfg.LockoutAttempts; i++ {
		_, err := e.attempt(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyEmailCode, Code: wrongCode(code)})
		wantErr(t, err, apierr.FormCodeIncorrect, "code")
	}
	_, err := e.attempt(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyEmailCode, Code: wrongCode(code)})
	codesLockedFor(t, err, e.cfg.CodeLockoutBase)
	_, err = e.attempt(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyEmailCode, Code: code})
	codesLockedFor(t, err, e.cfg.CodeLockoutBase)
	if _, err := e.signInWith(adaPass); err != nil {
		t.Fatalf("wrong codes locked the password out: %v", err)
	}

	for i := 1; i < e.cfg.LockoutAttempts; i++ {
		_, err := e.signInWith("wrong password")
		wantErr(t, err, apierr.FormPasswordIncorrect, "password")
	}
	_, err = e.signInWith("wrong password")
	lockedFor(t, err, e.cfg.LockoutDuration)
	e.clock.Advance(e.cfg.CodeLockoutBase) // the code lock ends, the password lock holds
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

// With enumeration protection, 11 wrong passwords for a known identifier,
// a known one without a password and an unknown one get exactly the same
// answers (status, code, messages, meta with lockout_expires_in_seconds),
// and so does the code sign-in tried next.
func TestLockoutDoesNotRevealAccounts(t *testing.T) {
	e := newEnv(t, protected, func(c *Config) { c.LockoutAttempts = 10 })
	e.ada()
	e.user(users.NewUser{Emails: []string{"nopass@example.com"}})
	seq := func(identifier string) []apierr.Error {
		var got []apierr.Error
		for range e.cfg.LockoutAttempts + 1 {
			_, err := e.svc.Create(e.ctx, e.request(), CreateParams{Identifier: identifier, Password: "wrong password"})
			got = append(got, *apierr.From(err))
		}
		_, err := e.svc.Create(e.ctx, e.request(), CreateParams{Strategy: StrategyEmailCode, Identifier: identifier})
		return append(got, *apierr.From(err))
	}
	known := seq(adaEmail)
	for i, k := range known {
		want := apierr.FormPasswordOrIdentifierIncorrect
		if i+1 >= e.cfg.LockoutAttempts {
			want = apierr.UserLocked
		}
		if k.Code != want.Code {
			t.Fatalf("answer %d for the known identifier: %+v, want %s", i+1, k, want.Code)
		}
	}
	if secs := known[len(known)-1].Meta["lockout_expires_in_seconds"]; secs != int64(e.cfg.LockoutDuration/time.Second) {
		t.Fatalf("lockout_expires_in_seconds = %v", secs)
	}
	sameErrors(t, known, seq("nobody@example.com"))
	sameErrors(t, known, seq("nopass@example.com"))

	// The unknown identifier's lock ends as a known one's does.
	e.clock.Advance(e.cfg.LockoutDuration)
	_, err := e.svc.Create(e.ctx, e.request(), CreateParams{Identifier: "nobody@example.com", Password: "wrong password"})
	wantErr(t, err, apierr.FormPasswordOrIdentifierIncorrect, "password")
}

// A client that signed in as the user before keeps its own password
// budget: strangers who lock the account do not lock it out, and its own
// wrong passwords lock only itself.
func TestKnownDeviceIsNotLockedOut(t *testing.T) {
	e := newEnv(t)
	e.ada()
	signIn := func(rq Request, pw string) error {
		_, err := e.svc.Create(e.ctx, rq, CreateParams{Identifier: adaEmail, Password: pw})
		return err
	}
	deviceB, deviceC := e.request(), e.request()
	for _, rq := range []Request{deviceB, deviceC} {
		if err := signIn(rq, adaPass); err != nil {
			t.Fatal(err)
		}
	}
	stranger := e.request()
	for i := 1; i < e.cfg.LockoutAttempts; i++ {
		wantErr(t, signIn(stranger, "wrong password"), apierr.FormPasswordIncorrect, "password")
	}
	lockedFor(t, signIn(stranger, "wrong password"), e.cfg.LockoutDuration)
	lockedFor(t, signIn(e.request(), adaPass), e.cfg.LockoutDuration)

	e.clock.Advance(e.cfg.LockoutDuration / 2)
	if err := signIn(deviceB, adaPass); err != nil {
		t.Fatalf("a known device is locked out by a stranger: %v", err)
	}
	// B's code sign-in is open too: the account-wide lock is not B's.
	e.create(deviceB, CreateParams{Strategy: StrategyEmailCode, Identifier: adaEmail})

	for i := 1; i < e.cfg.LockoutAttempts; i++ {
		wantErr(t, signIn(deviceB, "wrong password"), apierr.FormPasswordIncorrect, "password")
	}
	lockedFor(t, signIn(deviceB, "wrong password"), e.cfg.LockoutDuration)
	lockedFor(t, signIn(deviceB, adaPass), e.cfg.LockoutDuration)
	if err := signIn(deviceC, adaPass); err != nil {
		t.Fatalf("device B's failures locked device C: %v", err)
	}
	// When the account-wide lock ends, anyone with the password signs in
	// (B's failures did not count against the account); B waits for its own.
	e.clock.Advance(e.cfg.LockoutDuration / 2)
	if err := signIn(e.request(), adaPass); err != nil {
		t.Fatalf("device B's failures locked the account: %v", err)
	}
	lockedFor(t, signIn(deviceB, adaPass), e.cfg.LockoutDuration/2)
}

// The device record belongs to one user: signing in as someone else on
// the same client gives no budget of its own for this user.
func TestDeviceIsPerUser(t *testing.T) {
	e := newEnv(t)
	e.ada()
	e.user(users.NewUser{Emails: []string{"bob@example.com"}, Password: adaPass})
	rq := e.request()
	e.create(rq, CreateParams{Identifier: "bob@example.com", Password: adaPass})
	for i := 1; i < e.cfg.LockoutAttempts; i++ {
		_, err := e.signInWith("wrong password")
		wantErr(t, err, apierr.FormPasswordIncorrect, "password")
	}
	_, err := e.signInWith("wrong password")
	lockedFor(t, err, e.cfg.LockoutDuration)
	_, err = e.svc.Create(e.ctx, rq, CreateParams{Identifier: adaEmail, Password: adaPass})
	lockedFor(t, err, e.cfg.LockoutDuration)
	// The record expires with DeviceLifetime.
	bob := e.create(rq, CreateParams{Identifier: "bob@example.com", Password: adaPass})
	dev, err := e.svc.deviceID(e.ctx, rq.Client.ID, bob.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(e.cfg.DeviceLifetime)
	if _, err := e.st.Get(e.ctx, deviceKey(dev)); err == nil {
		t.Fatal("the device record outlived DeviceLifetime")
	}
}
