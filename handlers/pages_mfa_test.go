package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Net/http tests of the second-factor pages for what the Chromium tests
// do not walk: an SMS second step with its resend, the reverification
// prompt of the account page, and CSRF on its forms.

func TestPageSecondStepBySMS(t *testing.T) {
	e := newEnv(t, withMFA(mfaAll))
	u := e.createUser("dan@example.com", "+15555550123", alicePW)
	api := e.browser()
	api.signIn("dan@example.com", alicePW)
	r := api.do(http.MethodPatch, pagePrefix+"/v1/me/phone_numbers/"+u.Phones[0].ID, form("reserved_for_second_factor", "true"), nil)
	expect(t, r, 200, "")

	p := e.pageBrowser()
	got := p.signIn("dan@example.com", alicePW, "/inbox")
	pageStatus(t, got, http.StatusOK)
	pageHas(t, got.body, "Two-step verification", "We sent a code by text message", `value="phone_code"`, "Use a backup code")
	first := e.sms.code(t, "+15555550123")

	got = p.submit(pagePrefix+"/sign-in", url.Values{"op": {"second_factor"}, "code": {otherCode(first)}})
	pageStatus(t, got, http.StatusUnprocessableEntity)
	pageHas(t, got.body, `id="code-error"`, "Resend code")

	// Too soon (the store's resend window), a resend is refused on the
	// step, which goes on with the code already sent.
	got = p.submit(pagePrefix+"/sign-in", url.Values{"op": {"resend_second"}})
	pageStatus(t, got, http.StatusTooManyRequests)
	pageHas(t, got.body, `role="alert"`, "Two-step verification", `name="code"`, "Resend code")
	got = p.submit(pagePrefix+"/sign-in", url.Values{"op": {"second_factor"}, "code": {e.sms.code(t, "+15555550123")}})
	pageLocation(t, got, "/inbox")
	if p.appUser() != u.ID {
		t.Fatal("not signed in after the second step")
	}
}

func TestPageAccountReverifiesThenEnrols(t *testing.T) {
	e, u := aliceEnv(t, withMFA(mfaDefaults))
	p := e.pageBrowser()
	pageLocation(t, p.signIn("alice@example.com", alicePW, pagePrefix+"/account"), pagePrefix+"/account")
	got := p.get(pagePrefix + "/account")
	pageStatus(t, got, http.StatusOK)
	pageHas(t, got.body, "Your account", "alice@example.com", "Set up authenticator app", "This device")

	// Every form of the page needs its token.
	enrol := p.hidden(`value="enrol_totp"`)
	noToken := url.Values{"op": {"enrol_totp"}}
	pageStatus(t, p.post(pagePrefix+"/account", noToken), http.StatusForbidden)

	// An old first factor: the page asks for the password, then enrols.
	e.clock.Advance(11 * time.Minute)
	got = p.post(pagePrefix+"/account", enrol)
	pageStatus(t, got, http.StatusForbidden)
	pageHas(t, got.body, `name="reverify_password"`, `name="then" value="enrol_totp"`)
	form := p.hidden(`name="reverify_password"`)
	form.Set("reverify_password", "wrong-password")
	pageStatus(t, p.post(pagePrefix+"/account", form), http.StatusUnprocessableEntity)
	form = p.hidden(`name="reverify_password"`)
	form.Set("reverify_password", alicePW)
	got = p.post(pagePrefix+"/account", form)
	pageStatus(t, got, http.StatusOK)
	pageHas(t, got.body, `id="totp-secret"`, "<svg", `name="totp_uri"`)
	secret := strings.ReplaceAll(between(got.body, `<code id="totp-secret">`, "</code>"), " ", "")
	verify := p.hidden(`name="totp_uri"`)
	verify.Set("op", "verify_totp")
	verify.Set("code", e.totp(secret))
	got = p.post(pagePrefix+"/account", verify)
	pageStatus(t, got, http.StatusOK)
	pageHas(t, got.body, `id="backup-codes"`, "Remove authenticator app")
	if st, err := e.eng.SignIn.MFAStatus(t.Context(), u); err != nil || !st.TOTP {
		t.Fatalf("MFA status after the page's set-up: %+v %v", st, err)
	}
}

// between is the text of s between the first start and the end after it.
func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}
