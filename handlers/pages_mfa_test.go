package handlers_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/users"
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

// The account page's phone forms: CSRF, the user's own phones only, and
// none of it while SMS codes are not a second factor.
func TestPageAccountPhoneForms(t *testing.T) {
	e := newEnv(t, withMFA(mfaAll))
	u := e.createUser("alice@example.com", "+15555550100", alicePW)
	other := e.createUser("bob@example.com", "+15555550199", alicePW)
	p := e.pageBrowser()
	pageLocation(t, p.signIn("alice@example.com", alicePW, pagePrefix+"/account"), pagePrefix+"/account")
	got := p.get(pagePrefix + "/account")
	pageStatus(t, got, http.StatusOK)
	pageHas(t, got.body, `id="phone-codes"`, `value="reserve_phone"`, `name="phone_id" value="`+u.Phones[0].ID+`"`)
	reserve := p.hidden(`value="reserve_phone"`)
	theirs := p.hidden(`value="reserve_phone"`)
	theirs.Set("phone_id", other.Phones[0].ID)

	noToken := url.Values{"op": {"reserve_phone"}, "phone_id": {u.Phones[0].ID}}
	pageStatus(t, p.post(pagePrefix+"/account", noToken), http.StatusForbidden)
	pageStatus(t, p.post(pagePrefix+"/account", theirs), http.StatusNotFound)
	for _, who := range []*users.User{u, other} {
		if st, err := e.eng.SignIn.MFAStatus(t.Context(), who); err != nil || st.Enabled() {
			t.Fatalf("%s after refused forms: %+v %v", who.ID, st, err)
		}
	}

	got = p.post(pagePrefix+"/account", reserve)
	pageStatus(t, got, http.StatusOK)
	pageHas(t, got.body, `id="backup-codes"`, "Receives sign-in codes", `value="release_phone"`)
	if st, err := e.eng.SignIn.MFAStatus(t.Context(), u); err != nil || len(st.Phones) != 1 || st.Phones[0] != u.Phones[0].ID {
		t.Fatalf("after reserving: %+v %v", st, err)
	}
	// Released, then reserved again: no new backup codes this time, only
	// a notice (the codes of the first factor are still there).
	pageLocation(t, p.post(pagePrefix+"/account", p.hidden(`value="release_phone"`)), pagePrefix+"/account?notice=phone_off")
	p.b.enrolTOTP()
	p.get(pagePrefix + "/account")
	pageLocation(t, p.post(pagePrefix+"/account", p.hidden(`value="reserve_phone"`)), pagePrefix+"/account?notice=phone_on")
	got = p.get(pagePrefix + "/account?notice=phone_on")
	pageHas(t, got.body, "Sign-ins can now ask for a code sent to that phone.", "Receives sign-in codes")

	// Without phone_code the page shows no phone forms.
	e2 := newEnv(t, withMFA(mfaDefaults))
	e2.createUser("alice@example.com", "+15555550100", alicePW)
	p2 := e2.pageBrowser()
	pageLocation(t, p2.signIn("alice@example.com", alicePW, pagePrefix+"/account"), pagePrefix+"/account")
	got = p2.get(pagePrefix + "/account")
	pageStatus(t, got, http.StatusOK)
	if strings.Contains(got.body, "phone-codes") || strings.Contains(got.body, "reserve_phone") {
		t.Fatalf("phone forms without phone_code:\n%s", got.body)
	}
}

// A resend after the wait sends a new code, which replaces the first.
func TestPageSecondStepSMSResend(t *testing.T) {
	e := newEnv(t, withMFA(mfaAll))
	u := e.createUser("dan@example.com", "+15555550123", alicePW)
	api := e.browser()
	api.signIn("dan@example.com", alicePW)
	expect(t, api.do(http.MethodPatch, pagePrefix+"/v1/me/phone_numbers/"+u.Phones[0].ID, form("reserved_for_second_factor", "true"), nil), 200, "")

	p := e.pageBrowser()
	pageStatus(t, p.signIn("dan@example.com", alicePW, "/inbox"), http.StatusOK)
	first := e.sms.code(t, "+15555550123")
	e.eng.Deliveries.Wait()
	if n := e.sms.count("+15555550123"); n != 1 {
		t.Fatalf("%d texts after the first step", n)
	}
	endResendWindow(t, e, p.hidden("").Get("sign_in_id"))
	got := p.submit(pagePrefix+"/sign-in", url.Values{"op": {"resend_second"}})
	pageStatus(t, got, http.StatusOK)
	pageHas(t, got.body, "We sent a new code.", "Two-step verification", `name="code"`, "Resend code")
	e.eng.Deliveries.Wait()
	if n := e.sms.count("+15555550123"); n != 2 {
		t.Fatalf("%d texts after the resend, want 2", n)
	}
	second := e.sms.code(t, "+15555550123")
	if second == first {
		t.Fatalf("the resend sent the same code %s", first)
	}
	// The first code no longer works; the new one does.
	got = p.submit(pagePrefix+"/sign-in", url.Values{"op": {"second_factor"}, "code": {first}})
	pageStatus(t, got, http.StatusUnprocessableEntity)
	pageHas(t, got.body, `id="code-error"`)
	got = p.submit(pagePrefix+"/sign-in", url.Values{"op": {"second_factor"}, "code": {second}})
	pageLocation(t, got, "/inbox")
	if p.appUser() != u.ID {
		t.Fatal("not signed in after the resent code")
	}
}

// The setup-mfa task page where SMS codes are the only second factor:
// CSRF, the user's own phones only, a user without a phone told what to
// do, and an old first factor asked for again before the phone is taken.
func TestPageSetupMFAByPhone(t *testing.T) {
	e := newEnv(t, withMFA(mfa.Config{PhoneCode: true, BackupCodes: true, Required: true}))
	u := e.createUser("alice@example.com", "+15555550100", alicePW)
	other := e.createUser("bob@example.com", "+15555550199", alicePW)
	e.createUser("carol@example.com", "", alicePW)
	task := pagePrefix + "/tasks/setup-mfa"

	p := e.pageBrowser()
	pageLocation(t, p.signIn("alice@example.com", alicePW, "/app"), task+"?redirect_url=%2Fapp")
	got := p.get(task + "?redirect_url=%2Fapp")
	pageStatus(t, got, http.StatusOK)
	pageHas(t, got.body, "Send codes here", `name="phone_id" value="`+u.Phones[0].ID+`"`)
	if strings.Contains(got.body, "totp-secret") {
		t.Fatal("an authenticator set-up with totp off")
	}
	mine := p.hidden(`value="reserve_phone"`)
	theirs := p.hidden(`value="reserve_phone"`)
	theirs.Set("phone_id", other.Phones[0].ID)
	pageStatus(t, p.post(task, url.Values{"op": {"reserve_phone"}, "phone_id": {u.Phones[0].ID}}), http.StatusForbidden)
	pageStatus(t, p.post(task, theirs), http.StatusNotFound)

	// Long on the page: the password first, then the phone.
	e.clock.Advance(11 * time.Minute)
	got = p.post(task, mine)
	pageStatus(t, got, http.StatusForbidden)
	pageHas(t, got.body, `name="then" value="reserve_phone"`, `name="phone_id" value="`+u.Phones[0].ID+`"`)
	form := p.hidden(`name="reverify_password"`)
	form.Set("reverify_password", alicePW)
	got = p.post(task, form)
	pageStatus(t, got, http.StatusOK)
	pageHas(t, got.body, "Save your backup codes", `id="backup-codes"`, `href="/app"`)
	if st, err := e.eng.SignIn.MFAStatus(t.Context(), u); err != nil || len(st.Phones) != 1 {
		t.Fatalf("after the task: %+v %v", st, err)
	}
	if st, _ := e.eng.SignIn.MFAStatus(t.Context(), other); st.Enabled() {
		t.Fatal("bob's phone was reserved")
	}
	if p.appUser() != u.ID {
		t.Fatal("the upstream is still closed after the task")
	}

	// Without a phone the page says what to do.
	c := e.pageBrowser()
	pageLocation(t, c.signIn("carol@example.com", alicePW, "/app"), task+"?redirect_url=%2Fapp")
	got = c.get(task + "?redirect_url=%2Fapp")
	pageStatus(t, got, http.StatusOK)
	pageHas(t, got.body, `id="no-phone"`)
}

// Both tasks through the pages: reset-password first, then setup-mfa,
// then the upstream.
func TestPageResetThenSetupMFATasks(t *testing.T) {
	e, u := aliceEnv(t, withMFA(mfaRequired))
	if _, err := e.eng.Users.Update(t.Context(), u.ID, func(u *users.User) error { u.ResetRequired = true; return nil }); err != nil {
		t.Fatal(err)
	}
	p := e.pageBrowser()
	pageLocation(t, p.signIn("alice@example.com", alicePW, "/work"), pagePrefix+"/tasks/reset-password?redirect_url=%2Fwork")
	pageStatus(t, p.get(pagePrefix+"/tasks/reset-password?redirect_url=%2Fwork"), http.StatusOK)
	const newPW = "a brand new secret"
	got := p.submit(pagePrefix+"/tasks/reset-password", url.Values{"password": {newPW}, "confirm_password": {newPW}})
	pageLocation(t, got, pagePrefix+"/tasks/setup-mfa?redirect_url=%2Fwork")
	// Still pending: the upstream stays closed.
	pageLocation(t, p.get("/work"), pagePrefix+"/tasks/setup-mfa?redirect_url=%2Fwork")

	got = p.get(pagePrefix + "/tasks/setup-mfa?redirect_url=%2Fwork")
	pageStatus(t, got, http.StatusOK)
	secret := strings.ReplaceAll(between(got.body, `<code id="totp-secret">`, "</code>"), " ", "")
	verify := p.hidden(`name="totp_uri"`)
	verify.Set("op", "verify_totp") // the button's value
	verify.Set("code", e.totp(secret))
	got = p.post(pagePrefix+"/tasks/setup-mfa", verify)
	pageStatus(t, got, http.StatusOK)
	pageHas(t, got.body, "Save your backup codes", `id="backup-codes"`, `href="/work"`)
	if p.appUser() != u.ID {
		t.Fatal("the upstream is closed after both tasks")
	}
	if nu, err := e.eng.Users.Get(t.Context(), u.ID); err != nil || nu.ResetRequired {
		t.Fatalf("reset still required (%v)", err)
	}
}

// A user without a password who must reverify gets a code, not a
// password prompt; the right code does what was asked.
func TestPageAccountReverifyWithoutPassword(t *testing.T) {
	e := newEnv(t, withMFA(mfaDefaults))
	e.createUser("", "+15555550177", "")
	b, _ := e.phoneUserSignedIn("+15555550177")
	p := &pageBrowser{e: e, b: b}
	got := p.get(pagePrefix + "/account")
	pageStatus(t, got, http.StatusOK)
	enrol := p.hidden(`value="enrol_totp"`)
	e.clock.Advance(11 * time.Minute)
	got = p.post(pagePrefix+"/account", enrol)
	pageStatus(t, got, http.StatusForbidden)
	pageHas(t, got.body, "For your security, confirm it is you with a code.", `id="reverify-code"`, "&#43;15*******77", `name="then" value="enrol_totp"`)
	if strings.Contains(got.body, `name="reverify_password"`) {
		t.Fatal("a password prompt for a user without a password")
	}
	send := p.hidden(`id="reverify-code"`)
	send.Set("op", "reverify_send") // the button's value
	got = p.post(pagePrefix+"/account", send)
	pageStatus(t, got, http.StatusOK)
	pageHas(t, got.body, `id="reverify-sent"`, `name="code"`, "Resend code")
	e.eng.Deliveries.Wait()
	code := e.sms.code(t, "+15555550177")

	wrong := p.hidden(`id="reverify-sent"`)
	wrong.Set("op", "reverify_code")
	wrong.Set("code", otherCode(code))
	got = p.post(pagePrefix+"/account", wrong)
	pageStatus(t, got, http.StatusUnprocessableEntity)
	pageHas(t, got.body, `id="code-error"`, `id="reverify-sent"`)
	right := p.hidden(`id="reverify-sent"`)
	right.Set("op", "reverify_code")
	right.Set("code", code)
	got = p.post(pagePrefix+"/account", right)
	pageStatus(t, got, http.StatusOK)
	pageHas(t, got.body, `id="totp-secret"`, `name="totp_uri"`)
}

// The account page's backup codes and removal: a new set replaces the
// old one (old codes stop working), and removing the app removes the
// second step and the codes.
func TestPageAccountNewBackupCodesThenRemove(t *testing.T) {
	e, u := aliceEnv(t, withMFA(mfaDefaults))
	p := e.pageBrowser()
	expect(t, p.b.signIn("alice@example.com", alicePW), 200, "")
	_, old := p.b.enrolTOTP()
	got := p.get(pagePrefix + "/account")
	pageStatus(t, got, http.StatusOK)
	pageHas(t, got.body, "10 unused backup codes left.", "Remove authenticator app")

	got = p.post(pagePrefix+"/account", p.hidden(`value="regenerate_codes"`))
	pageStatus(t, got, http.StatusOK)
	pageHas(t, got.body, `id="backup-codes"`, "The old ones no longer work.")
	fresh := strings.Fields(stripTags(between(got.body, `<ul class="codes" id="backup-codes">`, "</ul>")))
	if len(fresh) != 10 {
		t.Fatalf("new codes %q", fresh)
	}
	nb := e.browser()
	id, _ := nb.secondStep("alice@example.com", alicePW)
	expect(t, nb.attemptSecond(id, "backup_code", old[0]), 422, "form_code_incorrect")
	expect(t, nb.attemptSecond(id, "backup_code", fresh[0]), 200, "")

	p.get(pagePrefix + "/account")
	pageLocation(t, p.post(pagePrefix+"/account", p.hidden(`value="disable_totp"`)), pagePrefix+"/account?notice=totp_off")
	got = p.get(pagePrefix + "/account?notice=totp_off")
	pageHas(t, got.body, "The authenticator app was removed.", "Set up authenticator app")
	if strings.Contains(got.body, `id="backup"`) {
		t.Fatal("backup codes offered without a second factor")
	}
	if st, err := e.eng.SignIn.MFAStatus(t.Context(), u); err != nil || st.Enabled() || st.BackupCodes != 0 {
		t.Fatalf("after removing: %+v %v", st, err)
	}
	if r := e.browser().signIn("alice@example.com", alicePW); r.str("status") != "complete" {
		t.Fatalf("the password alone after removing: %s", r.body)
	}
}

// stripTags drops the markup of an HTML fragment.
func stripTags(s string) string { return regexp.MustCompile(`<[^>]*>`).ReplaceAllString(s, " ") }
