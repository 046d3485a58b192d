package signin

import (
	"errors"
	"testing"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/password"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/users"
)

// A right but compromised password proves the identity only so far: the
// user gets a code at any of their addresses (even with enumeration
// protection) and the session that follows is pending on a reset.
func TestCompromisedPassword(t *testing.T) {
	e := newEnv(t, protected)
	u := e.ada()
	if _, err := e.svc.SetCompromised(e.ctx, u.ID, true, false); err != nil {
		t.Fatal(err)
	}
	// Its notice goes out in the background: let it land before the code
	// the test reads as the last notice.
	e.pool.Wait()
	_, err := e.signInWith("wrong password")
	wantErr(t, err, apierr.FormPasswordOrIdentifierIncorrect, "password")

	rq := e.request()
	_, err = e.svc.Create(e.ctx, rq, CreateParams{Identifier: adaEmail, Password: adaPass})
	wantErr(t, err, apierr.FormPasswordCompromised, "password")
	if rq.Client.SignInID == "" {
		t.Fatal("the compromised sign-in is not the client's")
	}
	res := e.get(rq, rq.Client.SignInID)
	if !res.Attempt.PasswordVerified || res.Attempt.Status != StatusNeedsFirstFactor {
		t.Fatalf("attempt = %+v", res.Attempt)
	}
	// The phone is not the identifier typed, yet it may get the code.
	e.prepare(rq, res.Attempt.ID, PrepareParams{Strategy: StrategyPhoneCode})
	code := e.out.lastCode(t, e.pool)
	res = e.attemptOK(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyPhoneCode, Code: code})
	if res.Session == nil || res.Session.Status != session.StatusPending || !tasks.Has(res.Session.Tasks, tasks.ResetPassword) {
		t.Fatalf("session = %+v", res.Session)
	}
	if ev := e.ev.find("sign_in"); len(ev) < 2 || ev[1].fields["result"] != "password_compromised" {
		t.Fatalf("sign_in events = %+v", ev)
	}
}

// A compromised user with no address to send a code to is signed in,
// pending on the reset.
func TestCompromisedPasswordWithoutAddresses(t *testing.T) {
	e := newEnv(t)
	u := e.user(users.NewUser{Username: "ada_l", Password: adaPass})
	if _, err := e.svc.SetCompromised(e.ctx, u.ID, true, false); err != nil {
		t.Fatal(err)
	}
	res := e.create(e.request(), CreateParams{Identifier: "ada_l", Password: adaPass})
	if res.Attempt.Status != StatusComplete || res.Session.Status != session.StatusPending {
		t.Fatalf("result %+v, session %+v", res.Attempt, res.Session)
	}
}

func TestBreachedPasswordAtSignIn(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.BreachOnSignIn = true })
	u := e.ada()
	e.breach.set(adaPass, nil)
	_, err := e.signInWith(adaPass)
	wantErr(t, err, apierr.FormPasswordPwnedSignIn, "password")
	if ev := e.ev.one(t, "breach_hit"); ev.fields["where"] != "sign_in" || ev.fields["user_id"] != u.ID {
		t.Fatalf("breach_hit = %+v", ev)
	}
	// A breach source that cannot answer does not keep users out.
	e.breach.set("", errors.New("breach source down"))
	if _, err := e.signInWith(adaPass); err != nil {
		t.Fatal(err)
	}
	if e.logs.FilterMessageSnippet("breach check at sign-in failed").Len() != 1 {
		t.Fatal("the breach source failure was not logged")
	}

	// Without breach_on_sign_in the source is not asked.
	e = newEnv(t)
	e.ada()
	e.breach.set(adaPass, nil)
	if _, err := e.signInWith(adaPass); err != nil {
		t.Fatal(err)
	}
}

func TestPasswordDigestIsUpgraded(t *testing.T) {
	e := newEnv(t)
	u := e.ada()
	old := cheapParams
	old.Memory = 512
	digest, err := password.NewService(password.ServiceConfig{Params: old}).Hash(e.ctx, adaPass)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.users.Update(e.ctx, u.ID, func(u *users.User) error { u.PasswordDigest = digest; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.signInWith(adaPass); err != nil {
		t.Fatal(err)
	}
	nu, err := e.users.Get(e.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if nu.PasswordDigest == digest {
		t.Fatal("the digest was not upgraded")
	}
	e.ev.one(t, "password_rehashed")
	if _, err := e.signInWith(adaPass); err != nil {
		t.Fatalf("with the upgraded digest: %v", err)
	}
}

// A user without a password answers like a wrong password.
func TestUserWithoutPassword(t *testing.T) {
	e := newEnv(t)
	e.user(users.NewUser{Emails: []string{adaEmail}})
	_, err := e.signInWith(adaPass)
	wantErr(t, err, apierr.FormPasswordIncorrect, "password")
}

// A store failure while keeping the attempt after a wrong password is
// logged, and the answer is still the password error; after a
// compromised password the client is told to continue that attempt, so
// the store failure is the answer.
func TestStoreFailureAfterPasswordError(t *testing.T) {
	e := newEnv(t)
	u := e.ada()
	e.stHooks.failPutsOf("sia:")
	_, err := e.signInWith("wrong password")
	wantErr(t, err, apierr.FormPasswordIncorrect, "password")
	if e.logs.FilterMessageSnippet("storing sign-in after a failed password").Len() != 1 {
		t.Fatal("the store failure was not logged")
	}

	e.stHooks.failPutsOf("")
	if _, err := e.svc.SetCompromised(e.ctx, u.ID, true, false); err != nil {
		t.Fatal(err)
	}
	e.stHooks.failPutsOf("sia:")
	rq := e.request()
	if _, err := e.svc.Create(e.ctx, rq, CreateParams{Identifier: adaEmail, Password: adaPass}); !errors.Is(err, errStoreDown) {
		t.Fatalf("Create = %v, want the store error", err)
	}
	if rq.Client.SignInID != "" {
		t.Fatal("the client points at an attempt that was not stored")
	}
}

// The try is counted before the password is verified: a guess that finds
// the budget already used up (by concurrent guesses) locks at once.
func TestPasswordTryIsReservedBeforeVerifying(t *testing.T) {
	e := newEnv(t)
	u := e.ada()
	for range e.cfg.LockoutAttempts {
		if _, err := e.st.Incr(e.ctx, failKey(u.ID), e.cfg.LockoutDuration); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.signInWith(adaPass)
	lockedFor(t, err, e.cfg.LockoutDuration)
}

func TestBusyHashingIs429(t *testing.T) {
	e := newEnv(t)
	e.ada()
	res := e.signedIn()
	e.hash.busy.Store(true)
	_, err := e.signInWith(adaPass)
	if got := wantErr(t, err, apierr.TooManyRequests, ""); got.RetryAfter != time.Second {
		t.Fatalf("retry after %v", got.RetryAfter)
	}
	_, _, err = e.svc.ChangePassword(e.ctx, res.User, res.Session, ChangeParams{NewPassword: newPass, CurrentPassword: adaPass})
	wantErr(t, err, apierr.TooManyRequests, "")
	if _, err := e.svc.SetPassword(e.ctx, res.User, newPass, "", false); !errors.Is(err, apierr.TooManyRequests) {
		t.Fatalf("SetPassword = %v", err)
	}
}
