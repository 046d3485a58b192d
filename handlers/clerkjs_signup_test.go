package handlers_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/signup"
	"github.com/authgate/authgate/users"
)

// clerkJSSignUpPage runs Clerk's custom sign-up flow (email code) with the
// real clerk-js: signUp.create({emailAddress, password}), then
// prepareEmailAddressVerification, attemptEmailAddressVerification and
// setActive. Each step answers {"ok": ...} or {"error", "errors"}.
var clerkJSSignUpPage = clerkJSPageOf("clerk-js sign-up flow", `function summary(su) {
  return {status: su.status, unverified: su.unverifiedFields, missing: su.missingFields,
    email: su.verifications.emailAddress.status, next: su.verifications.emailAddress.nextAction,
    hasPassword: su.hasPassword};
}
window.su = {
  load: function () {
    return report(Clerk.load({proxyUrl: location.origin + '/__authgate'}).then(function () {
      return {loaded: Clerk.loaded, user: Clerk.user ? Clerk.user.id : null};
    }));
  },
  create: function (email, password) {
    return report(Clerk.client.signUp.create({emailAddress: email, password: password}).then(summary));
  },
  createPhone: function (phone, password) {
    return report(Clerk.client.signUp.create({phoneNumber: phone, password: password}).then(function (s) { return {status: s.status}; }));
  },
  prepare: function () {
    return report(Clerk.client.signUp.prepareEmailAddressVerification({strategy: 'email_code'}).then(summary));
  },
  attempt: function (code) {
    return report(Clerk.client.signUp.attemptEmailAddressVerification({code: code}).then(function (s) {
      if (s.status !== 'complete') {
        return {status: s.status};
      }
      return Clerk.setActive({session: s.createdSessionId}).then(function () {
        return {status: s.status, createdSessionId: s.createdSessionId, createdUserId: s.createdUserId,
          user: Clerk.user ? Clerk.user.id : null, session: Clerk.session ? Clerk.session.id : null,
          email: Clerk.user && Clerk.user.primaryEmailAddress ? Clerk.user.primaryEmailAddress.emailAddress : null,
          emailVerified: Clerk.user && Clerk.user.primaryEmailAddress ? Clerk.user.primaryEmailAddress.verification.status : null};
      });
    }));
  },
};
`)

// TestClerkJSSignUp: in headless Chromium with @clerk/clerk-js 6.40.0
// pointed at the gateway through proxyUrl: a breached password is refused
// with form_password_pwned; an address that has an account gets the same
// answers as a new one (its owner an email notice); a phone number of a
// country not in phone_countries is refused; then the new address signs
// up with the emailed code, setActive signs the browser in and it passes
// the gate.
func TestClerkJSSignUp(t *testing.T) {
	bundle := clerkJSBundle(t)
	e := suEnv(t, signup.Config{
		Enabled: true, Identifiers: []users.Kind{users.KindEmail, users.KindPhone}, PhoneCountries: []string{"US"},
	})
	const owner, fresh, pw = "owner@example.com", "newcomer@example.com", "fresh-password-2"
	e.createUser(owner, "", alicePW)
	key := "pk_live_" + base64.StdEncoding.EncodeToString([]byte("clerk.authgate.test$"))
	srv := e.clerkJSSignUpSite(t, bundle, key)

	ctx := testenv.Browser(t)
	b := e.tab(ctx)
	b.do("opening the sign-up page", chromedp.Navigate(srv.URL+"/signup"))
	step := clerkJSStep(t, ctx, b)
	js := func(vs ...string) string {
		out := make([]string, len(vs))
		for i, v := range vs {
			q, _ := json.Marshal(v)
			out[i] = string(q)
		}
		return strings.Join(out, ", ")
	}
	failing := func(what, expr string) (code, long string) {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			b.fail("%s: %v", what, err)
		}
		var failed struct {
			Errors []struct{ Code, LongMessage string }
		}
		if err := json.Unmarshal([]byte(s), &failed); err != nil || len(failed.Errors) == 0 {
			t.Fatalf("%s: %s (%v), want an error", what, s, err)
		}
		return failed.Errors[0].Code, failed.Errors[0].LongMessage
	}

	if got := step("Clerk.load", "su.load()"); got["loaded"] != true || got["user"] != nil {
		t.Fatalf("after load: %v", got)
	}
	if code, _ := failing("signUp.create with a breached password", "su.create("+js(fresh, "password123")+")"); code != "form_password_pwned" {
		t.Fatalf("breached password: %s, want form_password_pwned", code)
	}
	code, long := failing("signUp.create with a French number", "su.createPhone("+js("+33612345678", pw)+")")
	if code != "form_param_format_invalid" || !strings.Contains(long, "Phone numbers from this country (FR) are currently not supported.") {
		t.Fatalf("disallowed country: %s %q", code, long)
	}
	if n := e.sms.count("+33612345678"); n != 0 {
		t.Fatalf("%d SMS went to the refused number", n)
	}

	known := []map[string]any{step("signUp.create (existing address)", "su.create("+js(owner, pw)+")"),
		step("prepareEmailAddressVerification (existing address)", "su.prepare()")}
	knownWrong, _ := failing("attemptEmailAddressVerification (existing address)", "su.attempt('000000')")
	created := step("signUp.create", "su.create("+js(fresh, pw)+")")
	prepared := step("prepareEmailAddressVerification", "su.prepare()")
	if !reflect.DeepEqual(known, []map[string]any{created, prepared}) {
		t.Fatalf("an existing address is told apart:\nknown %v\nnew   %v", known, []map[string]any{created, prepared})
	}
	if created["status"] != "missing_requirements" || !reflect.DeepEqual(created["unverified"], []any{"email_address"}) ||
		created["email"] != "unverified" || created["hasPassword"] != true || prepared["next"] != "needs_attempt" {
		t.Fatalf("create %v, prepare %v", created, prepared)
	}
	e.eng.Deliveries.Wait()
	notice := e.mail.WaitFor(t, owner, 10*time.Second)
	if !strings.Contains(notice.Subject, "tried to create") {
		t.Fatalf("the owner got %q", notice.Subject)
	}
	if _, ok := testenv.ExtractCode(notice.Text); ok {
		t.Fatal("the owner's notice carries a code")
	}

	sent := e.mail.LatestCode(t, fresh)
	if wrong, _ := failing("attemptEmailAddressVerification with a wrong code", "su.attempt("+js(otherCode(sent))+")"); wrong != knownWrong || wrong != "form_code_incorrect" {
		t.Fatalf("wrong code: %s (existing address: %s), want form_code_incorrect for both", wrong, knownWrong)
	}
	got := step("attemptEmailAddressVerification + setActive", "su.attempt("+js(sent)+")")
	if got["status"] != "complete" || got["user"] != got["createdUserId"] || got["session"] != got["createdSessionId"] ||
		got["user"] == nil || got["email"] != fresh || got["emailVerified"] != "verified" {
		t.Fatalf("after sign-up: %v", got)
	}
	cleanClerkJSConsole(b)

	b.do("opening a protected page", chromedp.Navigate(srv.URL+"/private/page"))
	if txt := b.text("body"); txt != "upstream /private/page" {
		b.fail("protected page says %q, want the upstream page", txt)
	}
	// The new account is an ordinary one: its password signs in.
	e.browser().signIn(fresh, pw)
}

// clerkJSSignUpSite serves the sign-up page and the clerk-js bundle in
// front of e's gateway (as clerkJSSite does the seed page).
func (e *env) clerkJSSignUpSite(t *testing.T, bundle, key string) *httptest.Server {
	return e.clerkJSPageSite(t, bundle, key, "/signup", clerkJSSignUpPage)
}
