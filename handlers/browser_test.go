package handlers_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/authgate/authgate/internal/testenv"
)

// End-to-end tests of the HTML pages in a real, headless Chromium: the
// browser follows the redirects, keeps the cookies, sends its own Origin,
// Sec-Fetch-* and Accept headers and enforces the pages' CSP, so these
// tests catch what the net/http tests of pages_test.go cannot.

// tab drives one browser tab against an env.
type tab struct {
	t   *testing.T
	e   *env
	ctx context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// tab starts driving the tab of ctx and records what the pages write to
// its console (errors such as CSP violations end up there).
func (e *env) tab(ctx context.Context) *tab {
	b := &tab{t: e.t, e: e, ctx: ctx}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// cleanConsole fails the test when a page wrote a warning or an error to
// the console, such as a CSP violation or a script error. Failed loads
// (source "network") are left out: the tests check the status of every
// page they load, and some are meant to be 4xx.
func (b *tab) cleanConsole() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		if m.Source == "network" {
			continue
		}
		switch m.Type {
		case chromedp.ConsoleWarning, chromedp.ConsoleError, chromedp.ConsoleException:
			b.t.Errorf("a page wrote to the console: %s (source %q, %s)", m, m.Source, m.URL)
		default:
			b.t.Logf("console: %s (source %q, %s)", m, m.Source, m.URL)
		}
	}
}

// fail ends the test with what the tab shows, so that a failure can be
// understood from the log alone: the URL, the page's text, and a
// screenshot in the test's artifact directory (a temporary directory,
// kept when the tests run with -artifacts).
func (b *tab) fail(format string, args ...any) {
	b.t.Helper()
	msg := fmt.Sprintf(format, args...)
	// The tab's context may be the one that ran out; look with a fresh one.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		loc = "(unknown: " + err.Error() + ")"
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		text = "(unknown: " + err.Error() + ")"
	}
	shot := "(none)"
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90)); err == nil {
		name := filepath.Join(b.t.ArtifactDir(), "fail.png")
		if os.WriteFile(name, png, 0o600) == nil {
			shot = name
		}
	}
	b.t.Fatalf("%s\nat: %s\nscreenshot: %s\npage text:\n%s", msg, loc, shot, text)
}

// do runs actions and fails the test when one fails.
func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

// open navigates to path on the env's site and waits for the load.
func (b *tab) open(path string) {
	b.t.Helper()
	b.do("opening "+path, chromedp.Navigate(b.e.http.URL+path))
}

// press clicks the button with the visible text and waits for the page
// it leads to; it returns that page's HTTP response.
func (b *tab) press(text string) *network.Response {
	b.t.Helper()
	return b.clickAndWait(chromedp.Search(fmt.Sprintf(`//button[normalize-space()=%q]`, text)), "pressing "+text)
}

// follow clicks the link with the visible text and waits for the page.
func (b *tab) follow(text string) *network.Response {
	b.t.Helper()
	return b.clickAndWait(chromedp.Search(fmt.Sprintf(`//a[normalize-space()=%q]`, text)), "following "+text)
}

func (b *tab) clickAndWait(sel chromedp.Search, what string) *network.Response {
	b.t.Helper()
	// A click that loads nothing (a form the browser refuses to send, say)
	// fails here rather than at the end of the test's budget.
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(sel))
	if err != nil {
		b.fail("%s: %v", what, err)
	}
	if res == nil {
		b.fail("%s: no page loaded", what)
	}
	return res
}

// fill types v into the visible input with the id.
func (b *tab) fill(id, v string) {
	b.t.Helper()
	b.do("typing into #"+id, chromedp.Clear(chromedp.ID(id)), chromedp.SendKeys(chromedp.ID(id), v))
}

// location is the tab's URL.
func (b *tab) location() *url.URL {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.fail("reading the location: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.fail("location %q: %v", loc, err)
	}
	return u
}

// text is the visible text of the element (CSS selector).
func (b *tab) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.fail("reading the text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// visible waits until the element (CSS selector) is visible.
func (b *tab) visible(sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		b.fail("waiting for %s to be visible: %v", sel, err)
	}
}

// expectPage checks the tab is on the page at path (under the site) with
// the heading, and that its form carries redirect_url=back along. (The
// forms post to the bare path, so after a refused POST the URL itself has
// no redirect_url; the hidden field keeps it.)
func (b *tab) expectPage(path, heading, back string) {
	b.t.Helper()
	if u := b.location(); u.Path != path {
		b.fail("want page %s", path)
	}
	if h := b.text("h1"); h != heading {
		b.fail("heading %q, want %q", h, heading)
	}
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](
		`(document.querySelector("form input[name=redirect_url]") || {value: ""}).value`))
	if err != nil {
		b.fail("reading redirect_url: %v", err)
	}
	if got != back {
		b.fail("the form carries redirect_url %q, want %q", got, back)
	}
}

// expectUpstream checks the tab shows the upstream page at pathQuery,
// which the gate let through because the browser is signed in.
func (b *tab) expectUpstream(pathQuery string) {
	b.t.Helper()
	u := b.location()
	if got := u.RequestURI(); got != pathQuery || u.Host != strings.TrimPrefix(b.e.http.URL, "http://") {
		b.fail("want the upstream page %s", pathQuery)
	}
	want := "upstream " + strings.SplitN(pathQuery, "?", 2)[0]
	if got := b.text("body"); got != want {
		b.fail("upstream page says %q, want %q", got, want)
	}
}

// signIn fills the sign-in form the tab shows and submits it.
func (b *tab) signIn(ident, pw string) *network.Response {
	b.t.Helper()
	b.fill("identifier", ident)
	b.fill("password", pw)
	return b.press("Sign in")
}

// signInElsewhere signs in as ident with pw in a new browser profile
// next to b's (none of b's cookies): /wiki sends it to the sign-in page,
// where first (if not nil) runs, and the sign-in lands back on /wiki.
// Then both tabs' consoles must be clean.
func (b *tab) signInElsewhere(ident, pw string, first func(f *tab)) {
	b.t.Helper()
	f := b.e.tab(testenv.NewBrowserContext(b.t, b.ctx))
	f.open("/wiki")
	f.expectPage("/__authgate/sign-in", "Sign in", "/wiki")
	if first != nil {
		first(f)
	}
	f.signIn(ident, pw)
	f.expectUpstream("/wiki")
	b.cleanConsole()
	f.cleanConsole()
}

// screenshot saves a full-page PNG of the tab as name in the test's
// artifact directory (see fail).
func (b *tab) screenshot(name string) {
	b.t.Helper()
	name = filepath.Join(b.t.ArtifactDir(), name)
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.fail("taking a screenshot: %v", err)
	}
	if err := os.WriteFile(name, png, 0o644); err != nil {
		b.t.Fatalf("writing %s: %v", name, err)
	}
	b.t.Logf("screenshot: %s", name)
}

func TestBrowserSignInReturnsToTheOriginalPage(t *testing.T) {
	e, _ := aliceEnv(t)
	b := e.tab(testenv.Browser(t))

	const back = "/reports/q3?x=1"
	b.open(back)
	b.expectPage("/__authgate/sign-in", "Sign in", back)
	b.visible("#identifier")
	b.visible("#password")
	b.screenshot("sign-in.png")

	// A wrong password keeps the browser on the form with an error.
	if res := b.signIn("alice@example.com", "not-the-password"); res.Status != 422 {
		b.fail("wrong password: status %d, want 422", res.Status)
	}
	b.expectPage("/__authgate/sign-in", "Sign in", back)
	b.visible("[role=alert], .field-error")

	if res := b.signIn("alice@example.com", alicePW); res.Status != 200 {
		b.fail("sign-in: final status %d, want 200", res.Status)
	}
	b.expectUpstream(back)
	// Authgate's cookies (session, client, CSRF) are all HttpOnly: scripts
	// of the app cannot read them. __client_uat alone is readable, as
	// Clerk's is: the time of the last sign-in, no secret.
	cookies, err := chromedp.Run(b.ctx, chromedp.Evaluate[string]("document.cookie"))
	if err != nil {
		b.fail("reading document.cookie: %v", err)
	}
	if !regexp.MustCompile(`^__client_uat=[1-9][0-9]*$`).MatchString(cookies) {
		b.fail("document.cookie exposes cookies to scripts: %q, want __client_uat alone", cookies)
	}
	// Signed in, the sign-in page sends the browser straight on.
	b.open("/__authgate/sign-in?redirect_url=" + url.QueryEscape("/reports/q4"))
	b.expectUpstream("/reports/q4")
	b.cleanConsole()
}

// forgotPassword walks the forgot-password flow from a protected page:
// sign-in, "Forgot password?", the identifier, then the code that code()
// reads and a new password. It ends back at the protected page.
func forgotPassword(t *testing.T, e *env, ident, newPW string, code func() string, shot string) {
	const back = "/docs/setup?step=2"
	b := e.tab(testenv.Browser(t))
	b.open(back)
	b.expectPage("/__authgate/sign-in", "Sign in", back)
	b.follow("Forgot password?")
	b.expectPage("/__authgate/forgot-password", "Reset your password", back)
	b.fill("identifier", ident)
	if res := b.press("Send code"); res.Status != 200 {
		b.fail("sending the code: status %d", res.Status)
	}
	u := b.location()
	if u.Path != "/__authgate/forgot-password" {
		b.fail("after sending the code: at %s", u.Path)
	}
	b.visible("#code")
	b.visible("#password")
	b.visible("#confirm_password")
	if shot != "" {
		b.screenshot(shot)
	}

	// A wrong code is refused on the page, and the flow goes on.
	c := code()
	wrong := otherCode(c)
	b.fill("code", wrong)
	b.fill("password", newPW)
	b.fill("confirm_password", newPW)
	if res := b.press("Reset password"); res.Status != 422 {
		b.fail("wrong code: status %d, want 422", res.Status)
	}
	b.visible("#code-error")

	b.fill("code", c)
	b.fill("password", newPW)
	b.fill("confirm_password", newPW)
	if res := b.press("Reset password"); res.Status != 200 {
		b.fail("resetting: final status %d, want 200", res.Status)
	}
	b.expectUpstream(back)

	// In a fresh browser profile the old password fails and the new one
	// works.
	b.signInElsewhere(ident, newPW, func(f *tab) {
		if res := f.signIn(ident, alicePW); res.Status != 422 {
			f.fail("old password: status %d, want 422", res.Status)
		}
		f.expectPage("/__authgate/sign-in", "Sign in", "/wiki")
	})
}

func TestBrowserForgotPasswordByEmail(t *testing.T) {
	e := newEnv(t)
	e.createUser("bob@example.com", "", alicePW)
	forgotPassword(t, e, "bob@example.com", "new-email-passphrase",
		func() string { return e.mail.LatestCode(t, "bob@example.com") }, "forgot-code.png")
}

func TestBrowserForgotPasswordByPhone(t *testing.T) {
	e := newEnv(t)
	e.createUser("", "+15555550100", alicePW)
	forgotPassword(t, e, "+15555550100", "new-phone-passphrase",
		func() string { return e.sms.code(t, "+15555550100") }, "")
}

func TestBrowserCompromisedPasswordTask(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("carol@example.com", "", alicePW)
	e.compromise(u, true)
	b := e.tab(testenv.Browser(t))

	const back = "/settings/billing?tab=invoices"
	b.open(back)
	b.expectPage("/__authgate/sign-in", "Sign in", back)
	b.signIn("carol@example.com", alicePW)
	b.expectPage("/__authgate/sign-in", "Sign in", back)
	b.visible("[role=alert]")
	if msg := b.text("[role=alert]"); !strings.Contains(strings.ToLower(msg), "compromised") {
		b.fail("alert %q does not say the password is compromised", msg)
	}

	if res := b.press("Sign in with a code instead"); res.Status != 200 {
		b.fail("starting the code sign-in: status %d", res.Status)
	}
	if h := b.text("h1"); h != "Check your email" {
		b.fail("heading %q, want the code step", h)
	}
	b.fill("code", e.mail.LatestCode(t, "carol@example.com"))
	if res := b.press("Continue"); res.Status != 200 {
		b.fail("entering the code: status %d", res.Status)
	}
	b.expectPage("/__authgate/tasks/reset-password", "Set a new password", back)

	// While the task is pending the app stays closed: any page leads back
	// to the task.
	b.open("/settings/profile")
	b.expectPage("/__authgate/tasks/reset-password", "Set a new password", "/settings/profile")
	b.open(back)
	b.expectPage("/__authgate/tasks/reset-password", "Set a new password", back)

	// A breached password is refused, visibly.
	b.fill("password", "password123")
	b.fill("confirm_password", "password123")
	if res := b.press("Set password and continue"); res.Status != 422 {
		b.fail("breached password: status %d, want 422", res.Status)
	}
	b.expectPage("/__authgate/tasks/reset-password", "Set a new password", back)
	b.visible("#password-error")
	if msg := b.text("#password-error"); msg == "" {
		b.fail("empty error for a breached password")
	}

	b.fill("password", "a-fresh-uncommon-passphrase")
	b.fill("confirm_password", "a-fresh-uncommon-passphrase")
	if res := b.press("Set password and continue"); res.Status != 200 {
		b.fail("setting the password: final status %d, want 200", res.Status)
	}
	b.expectUpstream(back)
	b.open("/settings/profile")
	b.expectUpstream("/settings/profile")
	b.cleanConsole()
}
