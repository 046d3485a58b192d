package handlers_test

import (
	"crypto/sha256"
	"encoding/base64"
	"html"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/handlers"
	"github.com/authgate/authgate/internal/secret"
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

// signedInPages is a new page browser signed in as ident with pw through
// the sign-in page, which sends it on to /.
func (e *env) signedInPages(ident, pw string) *pageBrowser {
	e.t.Helper()
	p := e.pageBrowser()
	pageLocation(e.t, p.signIn(ident, pw, ""), "/")
	return p
}

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
	e, _ := aliceEnv(t)
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
	e, u := aliceEnv(t)
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
	e, _ := aliceEnv(t)
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
	e, _ := aliceEnv(t, noEnumeration)
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
	e, _ := aliceEnv(t)
	known, unknown := knownAndUnknownPages(t, e, "/sign-in", url.Values{"password": {"wrong password!"}}, http.StatusUnprocessableEntity,
		func(who string) string { return who }, `id="password-error"`, "Password or identifier is incorrect.")
	if known != unknown {
		t.Fatal("known and unknown accounts get different pages")
	}
}

// knownAndUnknownPages submits fields to the page at path from a fresh
// browser, once with alice's address as the identifier and once with an
// unknown one, and checks each answer's status and parts. It returns the
// two bodies without the per-browser hidden fields and without the
// address as shown(address) writes it, which enumeration protection must
// make the same.
func knownAndUnknownPages(t *testing.T, e *env, path string, fields url.Values, status int, shown func(string) string, parts ...string) (known, unknown string) {
	t.Helper()
	bodies := map[string]string{}
	for _, who := range []string{"alice@example.com", "nobody@example.com"} {
		p := e.pageBrowser()
		pageStatus(t, p.get(pagePrefix+path), http.StatusOK)
		f := maps.Clone(fields)
		f.Set("identifier", who)
		r := p.submit(pagePrefix+path, f)
		pageStatus(t, r, status)
		pageHas(t, r.body, parts...)
		bodies[who] = strings.ReplaceAll(pageHiddenRE.ReplaceAllString(r.body, ""), shown(who), "")
	}
	return bodies["alice@example.com"], bodies["nobody@example.com"]
}

func TestPageResetTaskSendsAnonymousToSignIn(t *testing.T) {
	e := newEnv(t)
	r := e.pageBrowser().get(pagePrefix + "/tasks/reset-password?redirect_url=%2Fx")
	pageLocation(t, r, pagePrefix+"/sign-in?redirect_url="+url.QueryEscape(pagePrefix+"/tasks/reset-password?redirect_url=%2Fx"))
}

func TestPageSignOut(t *testing.T) {
	e, u := aliceEnv(t)
	p := e.signedInPages("alice@example.com", alicePW)
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
