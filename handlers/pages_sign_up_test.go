package handlers_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/authgate/authgate/handlers"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/signup"
	"github.com/authgate/authgate/users"
)

// The sign-up page: net/http tests of its forms here, and a Chromium test
// of the whole flow (TestBrowserSignUpByEmail). The site is suEnv's
// (api_sign_up_test.go): the pages and the API share it.

// emailSignUpPages is a site with sign-up by email on (suEnv with
// emailOnly), and a page browser on it.
func emailSignUpPages(t *testing.T) (*env, *pageBrowser) {
	t.Helper()
	e := suEnv(t, emailOnly)
	return e, e.pageBrowser()
}

func TestPageSignUpFormAsConfigured(t *testing.T) {
	_, p := emailSignUpPages(t)
	// The sign-in page links to it, carrying redirect_url along.
	r := p.get(pagePrefix + "/sign-in?redirect_url=%2Fdocs")
	pageStatus(t, r, http.StatusOK)
	pageHas(t, r.body, `href="/__authgate/sign-up?redirect_url=%2Fdocs"`, "Create an account")
	r = p.get(pagePrefix + "/sign-up?redirect_url=%2Fdocs")
	pageStatus(t, r, http.StatusOK)
	pageHas(t, r.body, "Create your account", `<label for="identifier">Email address</label>`, `type="email"`,
		`name="password"`, `name="confirm_password"`, `name="redirect_url" value="/docs"`, `autocomplete="new-password"`,
		`href="/__authgate/sign-in?redirect_url=%2Fdocs"`)
	if m := pageCSRFRE.FindStringSubmatch(r.body); m == nil {
		t.Fatalf("no CSRF token in the form:\n%s", r.body)
	}
	if strings.Contains(r.body, `name="username"`) {
		t.Fatalf("a username field with username off:\n%s", r.body)
	}
	// An unsafe redirect_url is dropped.
	r = p.get(pagePrefix + "/sign-up?redirect_url=https%3A%2F%2Fevil.example%2F")
	if strings.Contains(r.body, "evil.example") {
		t.Fatalf("the page carries an unsafe redirect_url:\n%s", r.body)
	}

	both := suEnv(t, signup.Config{
		Enabled: true, Identifiers: []users.Kind{users.KindEmail, users.KindPhone},
		Username: signup.UsernameRequired, PhoneCountries: []string{"US"},
	})
	r = both.pageBrowser().get(pagePrefix + "/sign-up")
	pageHas(t, r.body, "Email address or phone number", `type="text"`, "starts with + and the country code",
		`<label for="username">Username</label>`, `name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required`)
	phone := suEnv(t, signup.Config{
		Enabled: true, Identifiers: []users.Kind{users.KindPhone}, Username: signup.UsernameOptional, PhoneCountries: []string{"US"},
	})
	r = phone.pageBrowser().get(pagePrefix + "/sign-up")
	pageHas(t, r.body, `<label for="identifier">Phone number</label>`, `type="tel"`, "Username (optional)")
}

// TestPageSignUpFormErrors: the form's own checks (missing fields, the
// passwords differing, an identifier of a kind the form does not take),
// the service's (a breached password), and CSRF. None sends a code.
func TestPageSignUpFormErrors(t *testing.T) {
	e, p := emailSignUpPages(t)
	path := pagePrefix + "/sign-up"
	send := func(ident, pw, confirm string) pageReply {
		t.Helper()
		pageStatus(t, p.get(path), http.StatusOK)
		return p.submit(path, url.Values{"identifier": {ident}, "password": {pw}, "confirm_password": {confirm}})
	}
	r := send("new@example.com", "a-fine-new-passphrase", "a-fine-new-passphrase!")
	pageStatus(t, r, http.StatusUnprocessableEntity)
	pageHas(t, r.body, `id="confirm_password-error">The passwords do not match.`, `value="new@example.com"`)
	if strings.Contains(r.body, "a-fine-new-passphrase") {
		t.Fatal("the page echoes the password back")
	}
	r = send("", "", "")
	pageStatus(t, r, http.StatusUnprocessableEntity)
	pageHas(t, r.body, `id="identifier-error">Enter your email address.`, `id="password-error">Choose a password.`)
	r = send("+15555550100", "a-fine-new-passphrase", "a-fine-new-passphrase")
	pageStatus(t, r, http.StatusUnprocessableEntity)
	pageHas(t, r.body, `id="identifier-error">Enter a valid email address.`)
	r = send("new@example.com", "password123", "password123")
	pageStatus(t, r, http.StatusUnprocessableEntity)
	pageHas(t, r.body, "found as part of a breach")
	if strings.Contains(r.body, `name="code"`) {
		t.Fatalf("a breached password reached the code step:\n%s", r.body)
	}

	// Without its token (or with another form's) the form is refused.
	pageStatus(t, p.get(path), http.StatusOK)
	form := p.hidden("")
	form.Del("csrf_token")
	form.Set("identifier", "new@example.com")
	form.Set("password", "a-fine-new-passphrase")
	form.Set("confirm_password", "a-fine-new-passphrase")
	pageStatus(t, p.post(path, form), http.StatusForbidden)
	pageStatus(t, p.get(pagePrefix+"/sign-in"), http.StatusOK)
	form.Set("csrf_token", p.hidden("").Get("csrf_token"))
	pageStatus(t, p.post(path, form), http.StatusForbidden)
	if n := e.mail.Count(t, "new@example.com"); n != 0 {
		t.Fatalf("%d messages sent by refused forms", n)
	}
}

// TestPageSignUpExistingAddress: an address that has an account gets the
// same code step as a new one; its owner is told by email, and no code
// the page takes creates a second account.
func TestPageSignUpExistingAddress(t *testing.T) {
	e := suEnv(t, emailOnly)
	e.alice()
	p := e.pageBrowser()
	path := pagePrefix + "/sign-up"
	pageStatus(t, p.get(path), http.StatusOK)
	r := p.submit(path, url.Values{"identifier": {"alice@example.com"}, "password": {"a-fine-new-passphrase"}, "confirm_password": {"a-fine-new-passphrase"}})
	pageStatus(t, r, http.StatusOK)
	pageHas(t, r.body, "Verify your email address", "We sent a verification code to <strong>alice@example.com</strong>", `name="sign_up_id"`)
	e.eng.Deliveries.Wait()
	msg := e.mail.WaitFor(t, "alice@example.com", 10*time.Second)
	if _, ok := testenv.ExtractCode(msg.Text); ok {
		t.Fatalf("the owner of an existing address got a code:\n%s", msg.Text)
	}
	r = p.submit(path, url.Values{"code": {"123456"}, "op": {"verify"}})
	pageStatus(t, r, http.StatusUnprocessableEntity)
	pageHas(t, r.body, `id="code-error"`)
	if p.appUser() != "" {
		t.Fatal("signed in without a code")
	}
}

func TestPageSignUpExpiredAttemptStartsOver(t *testing.T) {
	_, p := emailSignUpPages(t)
	path := pagePrefix + "/sign-up"
	pageStatus(t, p.get(path), http.StatusOK)
	form := p.hidden("")
	form.Set("op", "verify")
	form.Set("sign_up_id", "sua_unknown")
	form.Set("strategy", "email_code")
	form.Set("code", "123456")
	r := p.post(path, form)
	pageStatus(t, r, http.StatusBadRequest)
	pageHas(t, r.body, "This sign-up has expired. Please start again.", `name="identifier"`)
	form.Set("strategy", "password")
	pageStatus(t, p.post(path, form), http.StatusBadRequest)
}

// TestBrowserSignUpByEmail: in Chromium, from a protected page to the
// sign-in page, its link to sign-up, a breached password refused on the
// form, then a good one, a wrong code, the right code from the email, and
// the browser lands back on the protected page signed in; a fresh browser
// signs in with the new account.
func TestBrowserSignUpByEmail(t *testing.T) {
	e := suEnv(t, emailOnly)
	b := e.tab(testenv.Browser(t))
	const back = "/projects/42?tab=board"
	const email, pw = "newcomer@example.com", "a-fine-new-passphrase"
	b.open(back)
	b.expectPage("/__authgate/sign-in", "Sign in", back)
	b.follow("Create an account")
	b.expectPage("/__authgate/sign-up", "Create your account", back)
	b.docShot("sign-up.png")

	fill := func(password, confirm string) {
		b.fill("identifier", email)
		b.fill("password", password)
		b.fill("confirm_password", confirm)
	}
	fill(pw, pw+"x")
	if res := b.press("Continue"); res.Status != http.StatusUnprocessableEntity {
		b.fail("passwords that differ: status %d, want 422", res.Status)
	}
	if got := b.text("#confirm_password-error"); got != "The passwords do not match." {
		b.fail("mismatch error %q", got)
	}
	fill("password123", "password123")
	if res := b.press("Continue"); res.Status != http.StatusUnprocessableEntity {
		b.fail("breached password: status %d, want 422", res.Status)
	}
	b.expectPage("/__authgate/sign-up", "Create your account", back)
	if got := b.text("#password-error, [role=alert]"); !strings.Contains(got, "breach") {
		b.fail("breached password error %q", got)
	}
	fill(pw, pw)
	if res := b.press("Continue"); res.Status != http.StatusOK {
		b.fail("sign-up: status %d, want 200", res.Status)
	}
	b.expectPage("/__authgate/sign-up", "Verify your email address", back)
	b.visible("#code")
	b.screenshot("sign-up-code.png")

	code := e.pageCode(email)
	b.fill("code", otherCode(code))
	if res := b.press("Create account"); res.Status != http.StatusUnprocessableEntity {
		b.fail("wrong code: status %d, want 422", res.Status)
	}
	b.visible("#code-error")
	b.fill("code", code)
	if res := b.press("Create account"); res.Status != http.StatusOK {
		b.fail("right code: final status %d, want 200", res.Status)
	}
	b.expectUpstream(back)

	u, err := e.eng.Users.Find(context.Background(), users.KindEmail, email)
	if err != nil || u == nil || len(u.Emails) != 1 || u.Emails[0].Value != email {
		t.Fatalf("the new user: %+v, %v", u, err)
	}
	if got := e.upstreamHeaders().Get(handlers.HeaderUserID); got != u.ID {
		t.Fatalf("the upstream sees user %q, want the new user %s", got, u.ID)
	}

	b.signInElsewhere(email, pw, nil)
}

func TestPageSignUpOffAnswers403(t *testing.T) {
	e := newEnv(t)
	p := e.pageBrowser()
	r := p.get(pagePrefix + "/sign-up?redirect_url=%2Fdocs")
	pageStatus(t, r, http.StatusForbidden)
	pageHas(t, r.body, "Sign-up is disabled", `href="/__authgate/sign-in?redirect_url=%2Fdocs"`)
	if strings.Contains(r.body, "<form") || r.header.Get("Content-Security-Policy") == "" {
		t.Fatalf("the disabled page has a form or lacks the page headers:\n%s", r.body)
	}
	// A form sent anyway (with a token of the sign-in page's) is refused.
	pageStatus(t, p.get(pagePrefix+"/sign-in"), http.StatusOK)
	form := p.hidden("")
	form.Set("identifier", "new@example.com")
	form.Set("password", "a-fine-new-passphrase")
	form.Set("confirm_password", "a-fine-new-passphrase")
	pageStatus(t, p.post(pagePrefix+"/sign-up", form), http.StatusForbidden)
	// The sign-in page does not link to it.
	r = p.get(pagePrefix + "/sign-in")
	if strings.Contains(r.body, "/sign-up") || strings.Contains(r.body, "Create an account") {
		t.Fatalf("the sign-in page links to a disabled sign-up:\n%s", r.body)
	}
}

// TestBrowserSignInLinksToSignUpOnlyWhenOn: the sign-in page in Chromium
// offers no sign-up link while sign-up is off, and the page itself
// answers 403.
func TestBrowserSignInLinksToSignUpOnlyWhenOn(t *testing.T) {
	e := newEnv(t)
	b := e.tab(testenv.Browser(t))
	b.open("/docs")
	b.expectPage("/__authgate/sign-in", "Sign in", "/docs")
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('a[href*="/sign-up"]').length`))
	if err != nil || n != 0 {
		b.fail("sign-up links on the sign-in page with sign-up off: %d (%v)", n, err)
	}
	b.open("/__authgate/sign-up")
	if h := b.text("h1"); h != "Sign-up is disabled" {
		b.fail("heading %q", h)
	}
	b.cleanConsole()
}

// TestPageSignUpByPhoneWithUsername: with email and phone, a required
// username and US open to SMS, a US mobile number signs up with the code
// texted to it and lands on redirect_url signed in as the new user, who
// has that number and username; a number of a country not named is
// refused at the identifier field, and no text goes out for it.
func TestPageSignUpByPhoneWithUsername(t *testing.T) {
	e := suEnv(t, signup.Config{
		Enabled: true, Identifiers: []users.Kind{users.KindEmail, users.KindPhone},
		Username: signup.UsernameRequired, PhoneCountries: []string{"US"},
	})
	p := e.pageBrowser()
	const back = "/inbox?folder=2"
	path := pagePrefix + "/sign-up"
	start := pagePrefix + "/sign-up?redirect_url=" + url.QueryEscape(back)
	fields := func(ident, username string) url.Values {
		return url.Values{"identifier": {ident}, "username": {username},
			"password": {"a-fine-new-passphrase"}, "confirm_password": {"a-fine-new-passphrase"}}
	}
	pageStatus(t, p.get(start), http.StatusOK)
	r := p.submit(path, fields("+12015550123", ""))
	pageStatus(t, r, http.StatusUnprocessableEntity)
	pageHas(t, html.UnescapeString(r.body), `id="username-error">Choose a username.`, `value="+12015550123"`)

	pageStatus(t, p.get(start), http.StatusOK)
	r = p.submit(path, fields("+447400123456", "newbie"))
	if r.status < 400 || !strings.Contains(r.body, `id="identifier-error"`) || strings.Contains(r.body, `name="code"`) {
		t.Fatalf("a GB number with only US open: status %d\n%s", r.status, r.body)
	}
	e.eng.Deliveries.Wait()
	if n := e.sms.count("+447400123456"); n != 0 {
		t.Fatalf("%d texts to a country not open to sign-up", n)
	}

	pageStatus(t, p.get(start), http.StatusOK)
	r = p.submit(path, fields("+12015550123", "newbie"))
	pageStatus(t, r, http.StatusOK)
	pageHas(t, html.UnescapeString(r.body), "Verify your phone number", "<strong>+12015550123</strong>", `name="strategy" value="phone_code"`,
		`name="redirect_url" value="`+back+`"`)
	code := e.sms.code(t, "+12015550123")
	r = p.submit(path, url.Values{"code": {code}, "op": {"verify"}})
	pageLocation(t, r, back)
	u, err := e.eng.Users.Find(context.Background(), users.KindPhone, "+12015550123")
	if err != nil || u == nil || u.Username != "newbie" || len(u.Phones) != 1 {
		t.Fatalf("the new user: %+v, %v", u, err)
	}
	if got := p.appUser(); got != u.ID {
		t.Fatalf("the upstream sees %q, want the new user %s", got, u.ID)
	}
}

// TestPageSignUpResend: the code step's Resend code is refused within the
// resend wait (429, shown on the step, nothing sent), and sends a new
// code after it, which then creates the account.
func TestPageSignUpResend(t *testing.T) {
	e, p := emailSignUpPages(t)
	path := pagePrefix + "/sign-up"
	pageStatus(t, p.get(path), http.StatusOK)
	r := p.submit(path, url.Values{"identifier": {"resend@example.com"}, "password": {"a-fine-new-passphrase"}, "confirm_password": {"a-fine-new-passphrase"}})
	pageStatus(t, r, http.StatusOK)
	e.eng.Deliveries.Wait()
	r = p.submit(path, url.Values{"op": {"resend"}})
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, `role="alert"`) || !strings.Contains(r.body, `name="sign_up_id"`) {
		t.Fatalf("resend at once: status %d\n%s", r.status, r.body)
	}
	if n := e.mail.Count(t, "resend@example.com"); n != 1 {
		t.Fatalf("%d messages after a refused resend, want 1", n)
	}
	// The wait is a store key's TTL, counted in real time (the test clock
	// does not move it): the test removes the key rather than sleep.
	if err := e.st.Delete(t.Context(), "suaresend:"+p.hidden("").Get("sign_up_id")+":email_address"); err != nil {
		t.Fatal(err)
	}
	r = p.submit(path, url.Values{"op": {"resend"}})
	pageStatus(t, r, http.StatusOK)
	pageHas(t, r.body, "We sent a new code.")
	e.eng.Deliveries.Wait()
	if n := e.mail.Count(t, "resend@example.com"); n != 2 {
		t.Fatalf("%d messages after a resend, want 2", n)
	}
	second := e.pageCode("resend@example.com")
	r = p.submit(path, url.Values{"op": {"verify"}, "code": {second}})
	pageLocation(t, r, "/")
	if p.appUser() == "" {
		t.Fatal("not signed in after the resent code")
	}
}
