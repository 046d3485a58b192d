package handlers_test

import (
	"testing"

	"github.com/authgate/authgate/mfa"
)

// clerkJSPhone is a user adding a phone as clerk-js does it.
const clerkJSPhone = `
window.ph = {
  signIn: function (identifier, password) {
    return report(Clerk.client.signIn.create({identifier: identifier, password: password}).then(function (si) {
      return Clerk.setActive({session: si.createdSessionId}).then(function () { return {status: si.status}; });
    }));
  },
  create: function (number) {
    return report(Clerk.user.createPhoneNumber({phoneNumber: number}).then(function (p) {
      window.ph.current = p;
      return {id: p.id, number: p.phoneNumber, status: p.verification.status};
    }));
  },
  prepare: function () {
    return report(window.ph.current.prepareVerification().then(function (p) {
      window.ph.current = p;
      return {status: p.verification.status, strategy: p.verification.strategy};
    }));
  },
  attempt: function (code) {
    return report(window.ph.current.attemptVerification({code: code}).then(function (p) {
      window.ph.current = p;
      return {id: p.id, status: p.verification.status};
    }));
  },
  reserve: function () {
    return report(window.ph.current.setReservedForSecondFactor({reserved: true}).then(function (p) {
      return {reserved: p.reservedForSecondFactor};
    }).then(function (out) {
      return Clerk.user.reload().then(function (u) { out.two = u.twoFactorEnabled; return out; });
    }));
  },
};
`

// TestClerkJSAddPhone runs clerk-js 6.40.0's user.createPhoneNumber,
// prepareVerification, attemptVerification (the code read from the SMS
// sink) and setReservedForSecondFactor against the gateway.
func TestClerkJSAddPhone(t *testing.T) {
	e := newEnv(t, withMFA(mfa.Config{PhoneCode: true, BackupCodes: true}), withPhoneCountries("US"))
	const addr, pw, number = "phone-js@example.com", "old-password-1", "+12015550101"
	e.createUser(addr, "", pw)
	b, step := e.clerkJSSeedWith(t, clerkJSPhone)
	step("Clerk.load", "seed.load()")
	if got := step("sign in", `ph.signIn("`+addr+`", "`+pw+`")`); got["status"] != "complete" {
		t.Fatalf("sign-in: %v", got)
	}
	created := step("user.createPhoneNumber", `ph.create("`+number+`")`)
	if created["number"] != number || created["status"] != "unverified" {
		t.Fatalf("createPhoneNumber: %v", created)
	}
	if got := step("prepareVerification", "ph.prepare()"); got["strategy"] != "phone_code" {
		t.Fatalf("prepareVerification: %v", got)
	}
	code := e.sms.code(t, number)
	if got := step("attemptVerification", `ph.attempt("`+code+`")`); got["status"] != "verified" || got["id"] != created["id"] {
		t.Fatalf("attemptVerification: %v", got)
	}
	if got := step("setReservedForSecondFactor", "ph.reserve()"); got["reserved"] != true || got["two"] != true {
		t.Fatalf("setReservedForSecondFactor: %v", got)
	}
	cleanClerkJSConsole(b)
}
