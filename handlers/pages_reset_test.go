package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/users"
)

// The page flows that reset a password: forgot-password by email and
// by phone, and a compromised password's code sign-in and task
// (helpers in pages_test.go).

func TestPageForgotPasswordByEmail(t *testing.T) {
	e, u := aliceEnv(t)
	other := e.signedInPages("alice@example.com", alicePW)

	p := e.pageBrowser()
	r := p.get(pagePrefix + "/forgot-password?redirect_url=%2Fafter")
	pageStatus(t, r, http.StatusOK)
	pageHas(t, r.body, "Email address or phone number")
	r = p.submit(pagePrefix+"/forgot-password", url.Values{"identifier": {"alice@example.com"}})
	pageStatus(t, r, http.StatusOK)
	pageHas(t, r.body, "If an account exists for <strong>a*****@example.com</strong>", `name="code"`,
		`name="confirm_password"`, `name="sign_out_of_other_sessions" value="true" checked`)
	code := e.pageCode("alice@example.com")
	newPW := "a brand new secret"

	// Mismatched confirmation: refused before the code is used.
	r = p.submit(pagePrefix+"/forgot-password", url.Values{
		"op": {"reset"}, "code": {code}, "password": {newPW}, "confirm_password": {"another secret!!"},
		"sign_out_of_other_sessions": {"true"},
	})
	pageStatus(t, r, http.StatusUnprocessableEntity)
	pageHas(t, r.body, `id="confirm_password-error">The passwords do not match.`)

	// A wrong code is shown next to the code field.
	wrong := otherCode(code)
	r = p.submit(pagePrefix+"/forgot-password", url.Values{
		"op": {"reset"}, "code": {wrong}, "password": {newPW}, "confirm_password": {newPW}, "sign_out_of_other_sessions": {"true"},
	})
	pageStatus(t, r, http.StatusUnprocessableEntity)
	pageHas(t, r.body, `id="code-error">That code is not correct.`)

	// Resending at once hits the cooldown.
	r = p.submit(pagePrefix+"/forgot-password", url.Values{"op": {"resend"}})
	pageStatus(t, r, http.StatusTooManyRequests)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After on the cooldown")
	}
	pageHas(t, r.body, "Too many verification code requests", `name="code"`)

	// The right code (typed with a space) and a matching new password.
	r = p.submit(pagePrefix+"/forgot-password", url.Values{
		"op": {"reset"}, "code": {code[:3] + " " + code[3:]}, "password": {newPW}, "confirm_password": {newPW},
		"sign_out_of_other_sessions": {"true"},
	})
	pageLocation(t, r, "/after")
	if got := p.appUser(); got != u.ID {
		t.Fatalf("after the reset the upstream sees %q, want %q", got, u.ID)
	}
	// The other device is signed out once its token expires; the new
	// password works and the old one does not.
	e.clock.Advance(2 * time.Minute)
	if got := other.appUser(); got != "" {
		t.Fatalf("the other device is still signed in as %q", got)
	}
	pageStatus(t, e.pageBrowser().signIn("alice@example.com", alicePW, ""), http.StatusUnprocessableEntity)
	pageLocation(t, e.pageBrowser().signIn("alice@example.com", newPW, ""), "/")
}

func TestPageForgotPasswordKeepsOtherSessionsWhenAsked(t *testing.T) {
	e, _ := aliceEnv(t, noEnumeration)
	other := e.signedInPages("alice@example.com", alicePW)
	p := e.pageBrowser()
	pageStatus(t, p.get(pagePrefix+"/forgot-password"), http.StatusOK)
	r := p.submit(pagePrefix+"/forgot-password", url.Values{"identifier": {"alice@example.com"}})
	pageStatus(t, r, http.StatusOK)
	pageHas(t, r.body, "We sent a code to <strong>a*****@example.com</strong>")
	code := e.pageCode("alice@example.com")

	// Box unticked and a password that breaks a rule: the code is used up,
	// the page asks for a new password only.
	r = p.submit(pagePrefix+"/forgot-password", url.Values{
		"op": {"reset"}, "code": {code}, "password": {"short"}, "confirm_password": {"short"},
	})
	pageStatus(t, r, http.StatusUnprocessableEntity)
	pageHas(t, r.body, `id="password-error"`, "too short", `value="set_password"`)
	if strings.Contains(r.body, `name="code"`) || strings.Contains(r.body, " checked") {
		t.Fatalf("expected the new-password step with the box unticked:\n%s", r.body)
	}
	r = p.submit(pagePrefix+"/forgot-password", url.Values{"password": {"a brand new secret"}, "confirm_password": {"a brand new secret"}})
	pageLocation(t, r, "/")
	e.clock.Advance(2 * time.Minute)
	if other.appUser() == "" {
		t.Fatal("the other device was signed out although the box was unticked")
	}
}

func TestPageForgotPasswordUnknownAddressLooksTheSame(t *testing.T) {
	e, _ := aliceEnv(t)
	known, unknown := knownAndUnknownPages(t, e, "/forgot-password", url.Values{}, http.StatusOK,
		func(who string) string { return who[:1] + "*****@" }, "If an account exists for", `name="code"`)
	if known != unknown {
		t.Fatalf("known and unknown addresses get different pages:\n%s\n---\n%s", known, unknown)
	}
	e.eng.Deliveries.Wait()
	if e.mail.Count(t, "nobody@example.com") != 0 || e.mail.Count(t, "alice@example.com") != 1 {
		t.Fatal("codes went to the wrong addresses")
	}
}

func TestPageForgotPasswordRefusesUsernames(t *testing.T) {
	e := newEnv(t)
	p := e.pageBrowser()
	pageStatus(t, p.get(pagePrefix+"/forgot-password"), http.StatusOK)
	r := p.submit(pagePrefix+"/forgot-password", url.Values{"identifier": {"alice"}})
	pageStatus(t, r, http.StatusUnprocessableEntity)
	pageHas(t, r.body, `id="identifier-error"`)
	r = p.submit(pagePrefix+"/forgot-password", url.Values{"identifier": {""}})
	pageStatus(t, r, http.StatusUnprocessableEntity)
	pageHas(t, r.body, "Enter your email address or phone number.")
}

func TestPageCompromisedPasswordSignsInWithCodeThenTask(t *testing.T) {
	e, u := aliceEnv(t)
	e.compromise(u, false)
	p := e.pageBrowser()
	r := p.signIn("alice@example.com", alicePW, "/work")
	pageStatus(t, r, http.StatusUnprocessableEntity)
	pageHas(t, r.body, "Your password may be compromised", "Sign in with a code instead")

	// The second form on the page starts a code sign-in.
	start := p.hidden(`value="start_code"`)
	if start.Get("identifier") != "alice@example.com" || start.Get("redirect_url") != "/work" {
		t.Fatalf("start-code form fields: %v", start)
	}
	r = p.post(pagePrefix+"/sign-in", start)
	pageStatus(t, r, http.StatusOK)
	pageHas(t, r.body, "a*****@example.com", `value="email_code"`, `name="code"`, `autocomplete="one-time-code"`)
	code := e.pageCode("alice@example.com")

	r = p.submit(pagePrefix+"/sign-in", url.Values{"op": {"code"}, "code": {code}})
	pageLocation(t, r, pagePrefix+"/tasks/reset-password?redirect_url=%2Fwork")
	// Pending: the upstream does not see the user; navigations go to the task.
	pageLocation(t, p.get("/work"), pagePrefix+"/tasks/reset-password?redirect_url=%2Fwork")

	r = p.get(pagePrefix + "/tasks/reset-password?redirect_url=%2Fwork")
	pageStatus(t, r, http.StatusOK)
	pageHas(t, r.body, "Set a new password", "alice@example.com", `name="confirm_password"`, `action="/__authgate/sign-out"`)
	if strings.Contains(r.body, `name="current_password"`) {
		t.Fatal("the task asks for the current password")
	}
	r = p.submit(pagePrefix+"/tasks/reset-password", url.Values{"password": {alicePW}, "confirm_password": {alicePW}})
	pageStatus(t, r, http.StatusUnprocessableEntity)
	pageHas(t, r.body, `id="password-error">New password cannot be the same as the current password.`)
	r = p.submit(pagePrefix+"/tasks/reset-password", url.Values{"password": {"a brand new secret"}, "confirm_password": {"a brand new secret!"}})
	pageStatus(t, r, http.StatusUnprocessableEntity)
	pageHas(t, r.body, `id="confirm_password-error"`)

	r = p.submit(pagePrefix+"/tasks/reset-password", url.Values{"password": {"a brand new secret"}, "confirm_password": {"a brand new secret"}})
	pageLocation(t, r, "/work")
	if got := p.appUser(); got != u.ID {
		t.Fatalf("after the task the upstream sees %q, want %q", got, u.ID)
	}
	if nu, err := e.eng.Users.Get(context.Background(), u.ID); err != nil || nu.PasswordCompromised {
		t.Fatalf("the compromised flag is still set (%v)", err)
	}
	// Active now: the page is an ordinary change-password form.
	r = p.get(pagePrefix + "/tasks/reset-password")
	pageStatus(t, r, http.StatusOK)
	pageHas(t, r.body, "Change your password", `name="current_password"`)
	r = p.submit(pagePrefix+"/tasks/reset-password", url.Values{
		"current_password": {"not my password"}, "password": {"yet another secret"}, "confirm_password": {"yet another secret"},
	})
	pageStatus(t, r, http.StatusUnprocessableEntity)
	pageHas(t, r.body, `id="current_password-error"`)
}

func TestPageForgotPasswordByPhone(t *testing.T) {
	e := newEnv(t, noEnumeration)
	u := e.createUser("", "+15555550100", alicePW)
	p := e.pageBrowser()
	pageStatus(t, p.get(pagePrefix+"/forgot-password"), http.StatusOK)
	r := p.submit(pagePrefix+"/forgot-password", url.Values{"identifier": {"+1 555 555 0100"}})
	pageStatus(t, r, http.StatusOK)
	pageHas(t, r.body, "Check your phone", "&#43;15*******00", `value="reset_password_phone_code"`)
	code := e.sms.code(t, "+15555550100")
	r = p.submit(pagePrefix+"/forgot-password", url.Values{
		"op": {"reset"}, "code": {code}, "password": {"a brand new secret"}, "confirm_password": {"a brand new secret"},
		"sign_out_of_other_sessions": {"true"},
	})
	pageLocation(t, r, "/")
	if got := p.appUser(); got != u.ID {
		t.Fatalf("upstream sees %q, want %q", got, u.ID)
	}
}

// compromisedAtCodeStep is alice, whose password is compromised, on the
// sign-in page's code step: her password was refused, she asked for a
// code instead, and code is the one mailed to her.
func compromisedAtCodeStep(t *testing.T) (e *env, u *users.User, p *pageBrowser, code string) {
	t.Helper()
	e = newEnv(t)
	u = e.alice()
	e.compromise(u, false)
	p = e.pageBrowser()
	pageStatus(t, p.signIn("alice@example.com", alicePW, ""), http.StatusUnprocessableEntity)
	pageStatus(t, p.post(pagePrefix+"/sign-in", p.hidden(`value="start_code"`)), http.StatusOK)
	return e, u, p, e.pageCode("alice@example.com")
}

func TestPageCodeSignInStopsAfterTooManyWrongCodes(t *testing.T) {
	_, _, p, code := compromisedAtCodeStep(t)
	wrong := otherCode(code)
	var r pageReply
	for i := 0; i < 5; i++ {
		r = p.submit(pagePrefix+"/sign-in", url.Values{"op": {"code"}, "code": {wrong}})
		if r.status == http.StatusSeeOther {
			t.Fatal("a wrong code signed in")
		}
	}
	pageHas(t, r.body, "Too many wrong codes")
	r = p.submit(pagePrefix+"/sign-in", url.Values{"op": {"code"}, "code": {code}})
	pageStatus(t, r, http.StatusBadRequest)
	if p.appUser() != "" {
		t.Fatal("signed in after the attempt was used up")
	}
}

// A user who typed their username and a compromised password can still
// get a code (at their email), on the page and through the JSON API.
func TestCompromisedPasswordWithUsernameGetsACodeAtTheEmail(t *testing.T) {
	e := newEnv(t)
	u, err := e.eng.Users.Create(context.Background(), users.NewUser{
		Emails: []string{"alice@example.com"}, Username: "alice", Password: alicePW,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.compromise(u, false)

	p := e.pageBrowser()
	r := p.signIn("alice", alicePW, "/work")
	pageStatus(t, r, http.StatusUnprocessableEntity)
	r = p.post(pagePrefix+"/sign-in", p.hidden(`value="start_code"`))
	pageStatus(t, r, http.StatusOK)
	pageHas(t, r.body, "a*****@example.com", `name="code"`)
	r = p.submit(pagePrefix+"/sign-in", url.Values{"op": {"code"}, "code": {e.pageCode("alice@example.com")}})
	pageLocation(t, r, pagePrefix+"/tasks/reset-password?redirect_url=%2Fwork")

	// JSON API: the refused sign-in stays on the client and offers the email code.
	b := e.browser()
	expect(t, b.post("/v1/client/sign_ins", form("identifier", "alice", "password", alicePW)), 422, "form_password_compromised")
	si, _ := b.get("/__authgate/v1/client", nil).resp()["sign_in"].(map[string]any)
	if si == nil {
		t.Fatal("the client has no sign-in after the compromised password")
	}
	expect(t, b.post("/v1/client/sign_ins/"+si["id"].(string)+"/prepare_first_factor", form("strategy", "email_code")), 200, "")
	// Without the password, a username gets no code (enumeration protection).
	c := e.browser()
	r2 := c.post("/v1/client/sign_ins", form("identifier", "alice"))
	expect(t, c.post("/v1/client/sign_ins/"+r2.str("id")+"/prepare_first_factor", form("strategy", "email_code")), 400, "strategy_for_user_invalid")
}
