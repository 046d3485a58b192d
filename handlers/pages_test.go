package handlers_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/handlers"
	"github.com/authgate/authgate/internal/secret"
	"github.com/authgate/authgate/users"
)

// The page tests run on newEnv (env_test.go): real services over a bbolt
// file, mailpit for email.

const pagePrefix = "/__authgate"

// pageBrowser drives the HTML pages like a browser without JavaScript:
// it keeps cookies, does not follow redirects, and submits the forms of
// the last page it got.
type pageBrowser struct {
	e    *env
	b    *browser
	last string
}

func (e *env) pageBrowser() *pageBrowser { return &pageBrowser{e: e, b: e.browser()} }

// pageReply is one response.
type pageReply struct {
	status int
	header http.Header
	body   string
}

func (r pageReply) cookies() []*http.Cookie { return (&http.Response{Header: r.header}).Cookies() }

func (r pageReply) cookie(name string) *http.Cookie {
	for _, c := range r.cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (p *pageBrowser) get(path string) pageReply {
	p.e.t.Helper()
	r := p.b.do(http.MethodGet, path, nil, map[string]string{"Accept": "text/html"})
	p.last = string(r.body)
	return pageReply{status: r.status, header: r.header, body: p.last}
}

// post sends form as is (no token added), as a same-origin browser would
// (the Origin header is set), with extra headers.
func (p *pageBrowser) post(path string, form url.Values, hdr ...string) pageReply {
	p.e.t.Helper()
	h := map[string]string{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h[hdr[i]] = hdr[i+1]
	}
	r := p.b.do(http.MethodPost, path, form, h)
	p.last = string(r.body)
	return pageReply{status: r.status, header: r.header, body: p.last}
}

var (
	pageCSRFRE   = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	pageHiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)
)

// hidden returns the hidden fields of the first form at or after marker
// in the last page (the first value of each).
func (p *pageBrowser) hidden(marker string) url.Values {
	p.e.t.Helper()
	page := p.last
	if marker != "" {
		i := strings.Index(page, marker)
		if i < 0 {
			p.e.t.Fatalf("no %q on the page:\n%s", marker, page)
		}
		page = page[strings.LastIndex(page[:i], "<form"):]
	}
	if end := strings.Index(page, "</form>"); end >= 0 {
		page = page[:end]
	}
	form := url.Values{}
	for _, m := range pageHiddenRE.FindAllStringSubmatch(page, -1) {
		if form.Get(m[1]) == "" {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
	}
	if form.Get("csrf_token") == "" {
		p.e.t.Fatalf("the form has no CSRF token:\n%s", p.last)
	}
	return form
}

// submit posts the first form of the last page with fields added.
func (p *pageBrowser) submit(path string, fields url.Values) pageReply {
	p.e.t.Helper()
	form := p.hidden("")
	for k, v := range fields {
		form[k] = v
	}
	return p.post(path, form)
}

func (p *pageBrowser) csrfCookie() *http.Cookie {
	u, _ := url.Parse(p.e.http.URL + pagePrefix + "/")
	for _, c := range p.b.jar.Cookies(u) {
		if c.Name == handlers.CookieCSRF {
			return c
		}
	}
	return nil
}

// signIn signs in with a password through the page.
func (p *pageBrowser) signIn(ident, pw, back string) pageReply {
	p.e.t.Helper()
	path := pagePrefix + "/sign-in"
	if back != "" {
		path += "?redirect_url=" + url.QueryEscape(back)
	}
	pageStatus(p.e.t, p.get(path), http.StatusOK)
	return p.submit(pagePrefix+"/sign-in", url.Values{"identifier": {ident}, "password": {pw}})
}

// appUser is the user id the upstream sees for this browser ("" when the
// gate does not let it through as a signed-in user).
func (p *pageBrowser) appUser() string {
	p.e.t.Helper()
	r := p.get("/app")
	if r.status != http.StatusOK {
		return ""
	}
	return p.e.upstreamHeaders().Get(handlers.HeaderUserID)
}

func pageStatus(t *testing.T, r pageReply, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d; body:\n%s", r.status, want, r.body)
	}
}

func pageLocation(t *testing.T, r pageReply, want string) {
	t.Helper()
	pageStatus(t, r, http.StatusSeeOther)
	if got := r.header.Get("Location"); got != want {
		t.Fatalf("Location %q, want %q", got, want)
	}
}

func pageHas(t *testing.T, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Fatalf("page lacks %q:\n%s", p, body)
		}
	}
}

// pageCode returns the newest code mailed to addr.
func (e *env) pageCode(addr string) string {
	e.t.Helper()
	e.eng.Deliveries.Wait()
	return e.mail.LatestCode(e.t, addr)
}

func TestPageSignInRendersWithCSRFAndHeaders(t *testing.T) {
	e := newEnv(t)
	p := e.pageBrowser()
	r := p.get(pagePrefix + "/sign-in?redirect_url=%2Fdocs")
	pageStatus(t, r, http.StatusOK)
	if m := pageCSRFRE.FindStringSubmatch(r.body); m == nil || len(m[1]) < 40 {
		t.Fatalf("no CSRF token in the form:\n%s", r.body)
	}
	if c := p.csrfCookie(); c == nil {
		t.Fatal("no CSRF cookie was set")
	}
	if c := r.cookie(handlers.CookieCSRF); c == nil || !c.HttpOnly || c.Path != pagePrefix || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("CSRF cookie attributes: %+v", c)
	}
	pageHas(t, r.body, `name="identifier"`, `name="password"`, `name="redirect_url" value="/docs"`,
		`href="/__authgate/forgot-password?redirect_url=%2Fdocs"`, `autocomplete="current-password"`)
	for k, want := range map[string]string{
		"X-Frame-Options":            "DENY",
		"X-Content-Type-Options":     "nosniff",
		"Referrer-Policy":            "no-referrer",
		"Cache-Control":              "no-store",
		"Content-Type":               "text/html; charset=utf-8",
		"Cross-Origin-Opener-Policy": "same-origin",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	csp := r.header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP %q lacks %q", csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(r.body, "<script") || strings.Contains(r.body, " style=") {
		t.Errorf("pages must not need inline scripts or style attributes; CSP %q", csp)
	}
	if r.header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent over plain http")
	}
	// The inline stylesheet is exactly the one the CSP allows by hash.
	start, end := strings.Index(r.body, "<style>"), strings.Index(r.body, "</style>")
	if start < 0 || end < start {
		t.Fatal("no inline stylesheet")
	}
	sum := sha256.Sum256([]byte(r.body[start+len("<style>") : end]))
	if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
		t.Errorf("CSP %q does not allow the page's stylesheet (%s)", csp, want)
	}

	// Over TLS every page adds HSTS and the cookie is Secure.
	for _, path := range []string{"/sign-in", "/forgot-password", "/sign-out", "/tasks/reset-password"} {
		rec := httptest.NewRecorder()
		e.srv.ServeBuiltin(rec, httptest.NewRequest(http.MethodGet, "https://app.example.com"+pagePrefix+path, nil))
		if got := rec.Header().Get("Strict-Transport-Security"); got != "max-age=31536000" {
			t.Errorf("%s over https: status %d, HSTS %q", path, rec.Code, got)
		}
		if rec.Header().Get("Content-Security-Policy") == "" || rec.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: security headers missing", path)
		}
	}
	rec := httptest.NewRecorder()
	e.srv.ServeBuiltin(rec, httptest.NewRequest(http.MethodGet, "https://app.example.com"+pagePrefix+"/sign-in", nil))
	if c := rec.Result().Cookies(); len(c) == 0 || !c[0].Secure {
		t.Fatalf("CSRF cookie over https: %+v", c)
	}
}

func TestPageCSRFRefusals(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice@example.com", "", alicePW)
	p := e.pageBrowser()
	// A token for another form of the same browser (the sign-out form).
	pageStatus(t, p.get(pagePrefix+"/sign-out"), http.StatusOK)
	forSignOut := p.hidden("")["csrf_token"][0]
	// A token of another browser for this form.
	other := e.pageBrowser()
	pageStatus(t, other.get(pagePrefix+"/sign-in"), http.StatusOK)
	forOtherBrowser := other.hidden("")["csrf_token"][0]

	pageStatus(t, p.get(pagePrefix+"/sign-in"), http.StatusOK)
	tok := p.hidden("")["csrf_token"][0]
	with := func(tok string) url.Values {
		return url.Values{"csrf_token": {tok}, "identifier": {"alice@example.com"}, "password": {alicePW}}
	}
	noToken := with("")
	delete(noToken, "csrf_token")
	flipped := []byte(tok)
	flipped[len(flipped)-3] ^= 1
	cases := []struct {
		name   string
		form   url.Values
		header []string
	}{
		{"no token", noToken, nil},
		{"empty token", with(""), nil},
		{"garbage token", with("hello"), nil},
		{"altered signature", with(string(flipped)), nil},
		{"altered time", with("1" + tok), nil},
		{"token of another form", with(forSignOut), nil},
		{"token of another browser", with(forOtherBrowser), nil},
		{"cross-site fetch", with(tok), []string{"Sec-Fetch-Site", "cross-site"}},
		{"same-site fetch", with(tok), []string{"Sec-Fetch-Site", "same-site"}},
		{"foreign origin", with(tok), []string{"Origin", "https://evil.example"}},
		{"null origin from another site", with(tok), []string{"Origin", "null", "Sec-Fetch-Site", "cross-site"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := p.post(pagePrefix+"/sign-in", c.form, c.header...)
			pageStatus(t, r, http.StatusForbidden)
			pageHas(t, r.body, "Form not accepted")
			if r.cookie(handlers.CookieSession) != nil {
				t.Fatal("a refused form signed in")
			}
		})
	}
	// A repeated token field is not a valid form either.
	r := p.post(pagePrefix+"/sign-in", url.Values{"csrf_token": {tok, tok}, "identifier": {"alice@example.com"}, "password": {alicePW}})
	pageStatus(t, r, http.StatusBadRequest)
	// Neither is a token in the query string.
	r = p.post(pagePrefix+"/sign-in?csrf_token="+url.QueryEscape(tok), noToken)
	pageStatus(t, r, http.StatusForbidden)

	// Without the cookie: refused, with a new cookie to retry with.
	fresh := e.pageBrowser()
	r = fresh.post(pagePrefix+"/sign-in", with(tok))
	pageStatus(t, r, http.StatusForbidden)
	pageHas(t, r.body, "cookie")
	if fresh.csrfCookie() == nil {
		t.Fatal("no CSRF cookie set on the refusal")
	}

	// After the token's lifetime the form is refused as expired.
	e.clock.Advance(13 * time.Hour)
	r = p.post(pagePrefix+"/sign-in", with(tok))
	pageStatus(t, r, http.StatusForbidden)
	pageHas(t, r.body, "expired")
	e.clock.Advance(-13 * time.Hour)
	if p.appUser() != "" {
		t.Fatal("signed in despite the refusals")
	}

	// The same token with the headers a browser sends for a form on a
	// no-referrer page works.
	r = p.post(pagePrefix+"/sign-in", with(tok), "Sec-Fetch-Site", "same-origin", "Origin", "null")
	pageLocation(t, r, "/")
}

func TestPageSignInSuccess(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice@example.com", "", alicePW)
	p := e.pageBrowser()
	r := p.signIn("Alice@Example.com", alicePW, "/dashboard?tab=1")
	pageLocation(t, r, "/dashboard?tab=1")
	if c := r.cookie(handlers.CookieSession); c == nil || c.Value == "" || !c.HttpOnly {
		t.Fatalf("no __session cookie: %v", r.header["Set-Cookie"])
	}
	if c := r.cookie(handlers.CookieCSRF); c == nil || c.Value == "" {
		t.Fatal("the CSRF cookie was not renewed at sign-in")
	}
	if got := p.appUser(); got != u.ID {
		t.Fatalf("upstream sees user %q, want %q", got, u.ID)
	}
	// Signed in, the sign-in page sends the browser on.
	pageLocation(t, p.get(pagePrefix+"/sign-in?redirect_url=%2Fnext"), "/next")
}

func TestPageSignInUnsafeRedirectLandsOnAfterSignInURL(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice@example.com", "", alicePW)
	for _, back := range []string{"//evil.com", "https://evil.com", `/\evil.com`, "/%2F%2Fevil.com", "javascript:alert(1)", `\\evil.com`, "/ok\r\nSet-Cookie: x=1"} {
		t.Run(back, func(t *testing.T) {
			p := e.pageBrowser()
			r := p.signIn("alice@example.com", alicePW, back)
			pageLocation(t, r, "/")
			if strings.Contains(r.body, "evil") {
				t.Fatal("the unsafe target was carried on")
			}
		})
	}
	// A forged redirect_url field in the form is checked as well.
	p := e.pageBrowser()
	pageStatus(t, p.get(pagePrefix+"/sign-in"), http.StatusOK)
	r := p.submit(pagePrefix+"/sign-in", url.Values{"identifier": {"alice@example.com"}, "password": {alicePW}, "redirect_url": {"//evil.com/x"}})
	pageLocation(t, r, "/")
}

func TestPageSignInWrongPasswordShowsTheError(t *testing.T) {
	e := newEnv(t, noEnumeration)
	e.createUser("alice@example.com", "", alicePW)
	p := e.pageBrowser()
	pageStatus(t, p.get(pagePrefix+"/sign-in"), http.StatusOK)
	r := p.submit(pagePrefix+"/sign-in", url.Values{"identifier": {"alice@example.com"}, "password": {"wrong password!"}})
	pageStatus(t, r, http.StatusUnprocessableEntity)
	pageHas(t, r.body, `<p class="field-error" id="password-error">Password is incorrect. Try again, or use another method.</p>`,
		`value="alice@example.com"`, `aria-invalid="true"`)
	if strings.Contains(r.body, "wrong password!") {
		t.Fatal("the page echoes the password")
	}
	if r.cookie(handlers.CookieSession) != nil {
		t.Fatal("a wrong password set a session cookie")
	}
	// Empty fields are flagged without asking the service.
	r = p.submit(pagePrefix+"/sign-in", url.Values{"identifier": {""}, "password": {""}})
	pageStatus(t, r, http.StatusUnprocessableEntity)
	pageHas(t, r.body, `id="identifier-error"`, `id="password-error"`)
	// An unknown account (enumeration protection off) is flagged at the identifier.
	r = p.submit(pagePrefix+"/sign-in", url.Values{"identifier": {"nobody@example.com"}, "password": {"whatever123"}})
	pageStatus(t, r, http.StatusUnprocessableEntity)
	pageHas(t, r.body, `id="identifier-error"`, "Couldn&#39;t find your account.")
}

func TestPageSignInWrongPasswordWithEnumerationProtection(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice@example.com", "", alicePW)
	bodies := map[string]string{}
	for _, who := range []string{"alice@example.com", "nobody@example.com"} {
		p := e.pageBrowser()
		pageStatus(t, p.get(pagePrefix+"/sign-in"), http.StatusOK)
		r := p.submit(pagePrefix+"/sign-in", url.Values{"identifier": {who}, "password": {"wrong password!"}})
		pageStatus(t, r, http.StatusUnprocessableEntity)
		pageHas(t, r.body, `id="password-error"`, "Password or identifier is incorrect.")
		bodies[who] = strings.ReplaceAll(pageHiddenRE.ReplaceAllString(r.body, ""), who, "")
	}
	if bodies["alice@example.com"] != bodies["nobody@example.com"] {
		t.Fatal("known and unknown accounts get different pages")
	}
}

func TestPageForgotPasswordByEmail(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice@example.com", "", alicePW)
	other := e.pageBrowser()
	pageLocation(t, other.signIn("alice@example.com", alicePW, ""), "/")

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
	e := newEnv(t, noEnumeration)
	e.createUser("alice@example.com", "", alicePW)
	other := e.pageBrowser()
	pageLocation(t, other.signIn("alice@example.com", alicePW, ""), "/")
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
	e := newEnv(t)
	e.createUser("alice@example.com", "", alicePW)
	pages := map[string]string{}
	for _, who := range []string{"alice@example.com", "nobody@example.com"} {
		p := e.pageBrowser()
		pageStatus(t, p.get(pagePrefix+"/forgot-password"), http.StatusOK)
		r := p.submit(pagePrefix+"/forgot-password", url.Values{"identifier": {who}})
		pageStatus(t, r, http.StatusOK)
		pageHas(t, r.body, "If an account exists for", `name="code"`)
		masked := who[:1] + "*****@"
		pages[who] = strings.ReplaceAll(pageHiddenRE.ReplaceAllString(r.body, ""), masked, "")
	}
	if pages["alice@example.com"] != pages["nobody@example.com"] {
		t.Fatalf("known and unknown addresses get different pages:\n%s\n---\n%s", pages["alice@example.com"], pages["nobody@example.com"])
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
	e := newEnv(t)
	u := e.createUser("alice@example.com", "", alicePW)
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

func TestPageResetTaskSendsAnonymousToSignIn(t *testing.T) {
	e := newEnv(t)
	r := e.pageBrowser().get(pagePrefix + "/tasks/reset-password?redirect_url=%2Fx")
	pageLocation(t, r, pagePrefix+"/sign-in?redirect_url="+url.QueryEscape(pagePrefix+"/tasks/reset-password?redirect_url=%2Fx"))
}

func TestPageSignOut(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice@example.com", "", alicePW)
	p := e.pageBrowser()
	pageLocation(t, p.signIn("alice@example.com", alicePW, ""), "/")
	r := p.get(pagePrefix + "/sign-out")
	pageStatus(t, r, http.StatusOK)
	pageHas(t, r.body, "Signed in as alice@example.com", `<button type="submit">Sign out</button>`)
	if p.appUser() != u.ID {
		t.Fatal("GET sign-out signed out")
	}
	// Without a token nothing happens.
	pageStatus(t, p.post(pagePrefix+"/sign-out", url.Values{}), http.StatusForbidden)
	if p.appUser() != u.ID {
		t.Fatal("a refused sign-out signed out")
	}
	pageStatus(t, p.get(pagePrefix+"/sign-out"), http.StatusOK)
	r = p.submit(pagePrefix+"/sign-out", nil)
	pageLocation(t, r, pagePrefix+"/sign-in")
	if c := r.cookie(handlers.CookieSession); c == nil || c.MaxAge >= 0 {
		t.Fatalf("__session not cleared: %v", r.header["Set-Cookie"])
	}
	if got := p.appUser(); got != "" {
		t.Fatalf("still signed in as %q", got)
	}
}

func TestPageStoreDownAnswers503(t *testing.T) {
	e := newEnv(t)
	p := e.pageBrowser()
	pageStatus(t, p.get(pagePrefix+"/forgot-password"), http.StatusOK)
	e.eng.Deliveries.Wait()
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	r := p.submit(pagePrefix+"/forgot-password", url.Values{"identifier": {"alice@example.com"}})
	pageStatus(t, r, http.StatusServiceUnavailable)
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	pageHas(t, r.body, "Temporarily unavailable")
	// A fresh instance cannot even read its CSRF key.
	srv := handlers.New(handlers.Config{Prefix: pagePrefix, AfterSignInURL: "/"}, handlers.Deps{
		Users: e.eng.Users, Sessions: e.eng.Sessions, SignIn: e.eng.SignIn, Tokens: e.eng.Tokens,
		CSRFKey: secret.New(e.st, handlers.CSRFKeyName),
	})
	rec := httptest.NewRecorder()
	srv.ServeBuiltin(rec, httptest.NewRequest(http.MethodGet, pagePrefix+"/sign-in", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("fresh instance: status %d", rec.Code)
	}
}

func TestPageBodyLimit(t *testing.T) {
	e := newEnv(t)
	p := e.pageBrowser()
	pageStatus(t, p.get(pagePrefix+"/sign-in"), http.StatusOK)
	r := p.submit(pagePrefix+"/sign-in", url.Values{"identifier": {strings.Repeat("a", 70<<10)}, "password": {"x"}})
	pageStatus(t, r, http.StatusRequestEntityTooLarge)
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

func TestPageCodeSignInStopsAfterTooManyWrongCodes(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice@example.com", "", alicePW)
	e.compromise(u, false)
	p := e.pageBrowser()
	pageStatus(t, p.signIn("alice@example.com", alicePW, ""), http.StatusUnprocessableEntity)
	pageStatus(t, p.post(pagePrefix+"/sign-in", p.hidden(`value="start_code"`)), http.StatusOK)
	code := e.pageCode("alice@example.com")
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
