package handlers_test

import (
	"encoding/json"
	"testing"
	"time"
)

// clerkJSReverify is a reverification written against clerk-js's own
// API: a change refused with session_reverification_required, then
// session.startVerification, prepareFirstFactorVerification and
// attemptFirstFactorVerification (a code, or the password).
const clerkJSReverify = `
window.rv = {
  createTOTP: function () {
    return report(Clerk.user.createTOTP().then(function (t) { return {code: null, secret: t.secret}; }, function (e) {
      return {code: e && e.errors && e.errors[0] ? e.errors[0].code : String(e)};
    }));
  },
  start: function () {
    return report(Clerk.session.startVerification({level: 'first_factor'}).then(function (v) {
      return {status: v.status, level: v.level, factors: v.supportedFirstFactors.map(function (f) {
        return {strategy: f.strategy, emailAddressId: f.emailAddressId || null};
      })};
    }));
  },
  prepare: function (id) {
    return report(Clerk.session.prepareFirstFactorVerification({strategy: 'email_code', emailAddressId: id}).then(function (v) {
      return {status: v.status, verification: v.firstFactorVerification.status, strategy: v.firstFactorVerification.strategy};
    }));
  },
  attempt: function (params) {
    return report(Clerk.session.attemptFirstFactorVerification(params).then(function (v) {
      return {status: v.status, verification: v.firstFactorVerification.status};
    }, function (e) {
      return {code: e && e.errors && e.errors[0] ? e.errors[0].code : String(e)};
    }));
  },
};
`

// TestClerkJSReverification runs clerk-js 6.40.0's session verification
// against the gateway: after the 10 minutes a factor change is refused;
// an email code (wrong, then right) reverifies and the change goes
// through; later the password does the same.
func TestClerkJSReverification(t *testing.T) {
	e := newEnv(t, withMFA(mfaDefaults))
	const addr, pw = "reverify-js@example.com", "old-password-1"
	u := e.createUser(addr, "", pw)
	b, step := e.clerkJSSeedWith(t, clerkJSMFA+clerkJSReverify)
	js := func(v any) string { q, _ := json.Marshal(v); return string(q) }

	step("Clerk.load", "seed.load()")
	if got := step("signIn", "mfa.password("+js(addr)+", "+js(pw)+")"); got["status"] != "complete" || got["user"] != u.ID {
		t.Fatalf("sign-in: %v", got)
	}
	e.clock.Advance(11 * time.Minute)
	if got := step("createTOTP, first factor too old", "rv.createTOTP()"); got["code"] != "session_reverification_required" {
		t.Fatalf("createTOTP after 11 minutes: %v", got)
	}
	got := step("session.startVerification", "rv.start()")
	factors, _ := got["factors"].([]any)
	if got["status"] != "needs_first_factor" || len(factors) != 2 {
		t.Fatalf("startVerification: %v", got)
	}
	email, _ := factors[1].(map[string]any)
	if factors[0].(map[string]any)["strategy"] != "password" || email["strategy"] != "email_code" || email["emailAddressId"] != u.Emails[0].ID {
		t.Fatalf("factors %v", factors)
	}
	if got := step("session.prepareFirstFactorVerification", "rv.prepare("+js(u.Emails[0].ID)+")"); got["verification"] != "unverified" || got["strategy"] != "email_code" {
		t.Fatalf("prepare: %v", got)
	}
	e.eng.Deliveries.Wait()
	code := e.mail.LatestCode(t, addr)
	if got := step("attempt, wrong code", "rv.attempt("+js(map[string]string{"strategy": "email_code", "code": otherCode(code)})+")"); got["code"] != "form_code_incorrect" {
		t.Fatalf("wrong code: %v", got)
	}
	if got := step("session.attemptFirstFactorVerification", "rv.attempt("+js(map[string]string{"strategy": "email_code", "code": code})+")"); got["status"] != "complete" || got["verification"] != "verified" {
		t.Fatalf("attempt: %v", got)
	}
	if got := step("createTOTP after reverifying", "rv.createTOTP()"); got["code"] != nil || got["secret"] == "" {
		t.Fatalf("createTOTP: %v", got)
	}

	e.clock.Advance(11 * time.Minute)
	step("session.startVerification again", "rv.start()")
	if got := step("attempt with the password", "rv.attempt("+js(map[string]string{"strategy": "password", "password": pw})+")"); got["status"] != "complete" {
		t.Fatalf("password: %v", got)
	}
	if got := step("createTOTP after the password", "rv.createTOTP()"); got["code"] != nil {
		t.Fatalf("createTOTP: %v", got)
	}
	b.cleanConsole()
}
