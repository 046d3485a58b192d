package handlers_test

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/authgate/authgate/internal/testenv"
)

// clerkJSMFA is the second-factor part of a custom flow, written against
// clerk-js's own API: the user's authenticator app (user.createTOTP,
// verifyTOTP, createBackupCode, disableTOTP) and a sign-in whose first
// factor answers needs_second_factor (attemptSecondFactor, then
// setActive). It is added to the seed page of clerkjs_test.go, which
// loads clerk-js; every step answers as the seed's do.
const clerkJSMFA = `
window.mfa = {
  flags: function () {
    return report(Clerk.user.reload().then(function (u) {
      return {two: u.twoFactorEnabled, totp: u.totpEnabled, backup: u.backupCodeEnabled};
    }));
  },
  createTOTP: function () {
    return report(Clerk.user.createTOTP().then(function (t) { return {secret: t.secret, uri: t.uri, verified: t.verified}; }));
  },
  verifyTOTP: function (code) {
    return report(Clerk.user.verifyTOTP({code: code}).then(function (t) { return {verified: t.verified, backupCodes: t.backupCodes}; }));
  },
  createBackupCode: function () {
    return report(Clerk.user.createBackupCode().then(function (b) { return {codes: b.codes}; }));
  },
  disableTOTP: function () {
    return report(Clerk.user.disableTOTP().then(function (d) { return {deleted: d.deleted, object: d.object}; }));
  },
  // Identifier first, then the password as the first factor.
  password: function (identifier, password) {
    return report(Clerk.client.signIn.create({identifier: identifier}).then(function () {
      return Clerk.client.signIn.attemptFirstFactor({strategy: 'password', password: password});
    }).then(function (si) {
      var out = {status: si.status, second: (si.supportedSecondFactors || []).map(function (f) { return f.strategy; })};
      if (si.status !== 'complete') {
        return out;
      }
      return Clerk.setActive({session: si.createdSessionId}).then(function () { out.user = Clerk.user.id; return out; });
    }));
  },
  // The seed's reset: code and new password in attemptFirstFactor.
  reset: function (code, password) {
    return report(Clerk.client.signIn.attemptFirstFactor({
      strategy: 'reset_password_email_code', code: code, password: password,
    }).then(function (si) { return {status: si.status}; }));
  },
  second: function (code) {
    return report(Clerk.client.signIn.attemptSecondFactor({strategy: 'totp', code: code}).then(function (si) {
      if (si.status !== 'complete') {
        return {status: si.status};
      }
      return Clerk.setActive({session: si.createdSessionId}).then(function () {
        return {status: si.status, user: Clerk.user ? Clerk.user.id : null, session: Clerk.session ? Clerk.session.id : null,
          createdSessionId: si.createdSessionId, two: Clerk.user ? Clerk.user.twoFactorEnabled : null};
      });
    }));
  },
};
`

// TestClerkJSSecondFactor runs clerk-js 6.40.0 against the gateway:
// enrol an authenticator app, sign out, sign in with the password
// (needs_second_factor) and the app's code, reset the password by email
// code (needs_second_factor again), replace the backup codes, remove the
// app. The codes are computed in Go from the secret clerk-js was given.
func TestClerkJSSecondFactor(t *testing.T) {
	e := newEnv(t, withMFA(mfaDefaults))
	const addr, pw, newPW = "mfa-js@example.com", "old-password-1", "fresh-password-2"
	u := e.createUser(addr, "", pw)
	b, step := e.clerkJSSeedWith(t, clerkJSMFA)
	js := func(v string) string { q, _ := json.Marshal(v); return string(q) }

	step("Clerk.load", "seed.load()")
	if got := step("signIn without a second factor", "mfa.password("+js(addr)+", "+js(pw)+")"); got["status"] != "complete" || got["user"] != u.ID {
		t.Fatalf("first sign-in: %v", got)
	}
	created := step("user.createTOTP", "mfa.createTOTP()")
	secret, _ := created["secret"].(string)
	if secret == "" || created["verified"] != false {
		t.Fatalf("createTOTP: %v", created)
	}
	verified := step("user.verifyTOTP", "mfa.verifyTOTP("+js(e.totp(secret))+")")
	if codes, _ := verified["backupCodes"].([]any); verified["verified"] != true || len(codes) != 10 {
		t.Fatalf("verifyTOTP: %v", verified)
	}
	e.nextStep()
	if got := step("user flags", "mfa.flags()"); got["two"] != true || got["totp"] != true || got["backup"] != true {
		t.Fatalf("after enrolling: %v", got)
	}
	step("Clerk.signOut", "seed.signOut()")

	// Password, then the authenticator app's code.
	if got := step("attemptFirstFactor", "mfa.password("+js(addr)+", "+js(pw)+")"); got["status"] != "needs_second_factor" ||
		got["second"].([]any)[0] != "totp" {
		t.Fatalf("first factor of an MFA user: %v", got)
	}
	got := step("attemptSecondFactor + setActive", "mfa.second("+js(e.totp(secret))+")")
	if got["status"] != "complete" || got["user"] != u.ID || got["session"] != got["createdSessionId"] || got["two"] != true {
		t.Fatalf("after the second factor: %v", got)
	}
	e.nextStep()
	step("Clerk.signOut", "seed.signOut()")

	// The seed's reset answers needs_second_factor; the app's code ends it.
	if got := step("signIn.create reset", "seed.create("+js(addr)+")"); got["status"] != "needs_first_factor" {
		t.Fatalf("reset create: %v", got)
	}
	if got := step("attemptFirstFactor reset", "mfa.reset("+js(e.mail.LatestCode(t, addr))+", "+js(newPW)+")"); got["status"] != "needs_second_factor" {
		t.Fatalf("reset of an MFA user: %v", got)
	}
	if got := step("attemptSecondFactor after reset", "mfa.second("+js(e.totp(secret))+")"); got["status"] != "complete" || got["user"] != u.ID {
		t.Fatalf("after the reset's second factor: %v", got)
	}
	if got := step("user.createBackupCode", "mfa.createBackupCode()"); len(got["codes"].([]any)) != 10 {
		t.Fatalf("createBackupCode: %v", got)
	}
	if got := step("user.disableTOTP", "mfa.disableTOTP()"); got["deleted"] != true {
		t.Fatalf("disableTOTP: %v", got)
	}
	if got := step("user flags after disabling", "mfa.flags()"); got["two"] != false || got["totp"] != false || got["backup"] != false {
		t.Fatalf("after disabling: %v", got)
	}
	cleanClerkJSConsole(b)
	// The new password alone signs in again.
	e.browser().signIn(addr, newPW)
}

// clerkJSSeedWith opens the seed page (with a production key) in a new
// browser, adds steps (window.mfa, window.rv: the second-factor tests')
// to it and returns the tab and the runner of the page's steps.
func (e *env) clerkJSSeedWith(t *testing.T, steps string) (*tab, func(what, expr string) map[string]any) {
	t.Helper()
	bundle := clerkJSBundle(t)
	key := "pk_live_" + base64.StdEncoding.EncodeToString([]byte("clerk.authgate.test$"))
	srv := e.clerkJSSite(t, bundle, key)
	ctx := testenv.Browser(t)
	b := e.tab(ctx)
	b.do("opening the seed page", chromedp.Navigate(srv.URL+"/seed"))
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](steps+";true")); err != nil || !ok {
		b.fail("adding the steps to the seed page: %v", err)
	}
	return b, clerkJSStep(t, ctx, b)
}
