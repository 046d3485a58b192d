package handlers_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/authgate/authgate/internal/testenv"
)

// End-to-end tests of the second-factor pages in Chromium: setting up an
// authenticator app on the account page, the sign-in's second step after
// a password or a reset code, backup codes, and the setup-mfa task.

// docShot saves the tab as docs/name for the README when
// AUTHGATE_DOC_SHOTS is set (go test ./handlers -run BrowserMFA), and in
// the artifact directory always.
func (b *tab) docShot(name string) {
	b.t.Helper()
	b.screenshot(name)
	if os.Getenv("AUTHGATE_DOC_SHOTS") == "" {
		return
	}
	png, err := os.ReadFile(filepath.Join(b.t.ArtifactDir(), name))
	noErr(b.t, err)
	if err := os.WriteFile(filepath.Join("..", "docs", name), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// totpSecret reads the key the set-up shows as text.
func (b *tab) totpSecret() string {
	b.t.Helper()
	b.visible("#totp-secret")
	b.visible("svg.qr")
	return strings.ReplaceAll(b.text("#totp-secret"), " ", "")
}

// backupCodes reads the backup codes the page shows.
func (b *tab) backupCodes() []string {
	b.t.Helper()
	b.visible("#backup-codes")
	codes := strings.Fields(b.text("#backup-codes"))
	if len(codes) == 0 {
		b.fail("no backup codes shown")
	}
	return codes
}

// enterCode types code into the code field and presses button.
func (b *tab) enterCode(code, button string, status int64) {
	b.t.Helper()
	b.fill("code", code)
	if res := b.press(button); res.Status != status {
		b.fail("%s with %q: status %d, want %d", button, code, res.Status, status)
	}
}

func TestBrowserMFAAccountAndSecondStep(t *testing.T) {
	e, _ := aliceEnv(t, withRedis, withMFA(mfaDefaults))
	b := e.tab(testenv.Browser(t))

	b.open("/__authgate/account")
	b.expectPage("/__authgate/sign-in", "Sign in", "/__authgate/account")
	b.signIn("alice@example.com", alicePW)
	b.expectPage("/__authgate/account", "Your account", "")
	if res := b.press("Set up authenticator app"); res.Status != 200 {
		b.fail("starting the set-up: status %d", res.Status)
	}
	secret := b.totpSecret()
	b.enterCode(otherCode(e.totp(secret)), "Verify and turn on", 422)
	b.visible("#code-error")
	// The wrong code kept the same set-up: its key still works.
	if got := strings.ReplaceAll(b.text("#totp-secret"), " ", ""); got != secret {
		b.fail("the set-up changed after a wrong code: %q, was %q", got, secret)
	}
	b.enterCode(e.totp(secret), "Verify and turn on", 200)
	codes := b.backupCodes()
	b.visible("#totp form button")
	b.docShot("account-page.png")

	// Signed out, signing in asks for the second step.
	const back = "/projects?id=7"
	b.signInAgain(back, "alice@example.com", alicePW)
	b.expectPage("/__authgate/sign-in", "Two-step verification", back)
	b.docShot("second-step.png")
	e.nextStep()
	b.enterCode(otherCode(e.totp(secret)), "Continue", 422)
	b.visible("#code-error")
	b.enterCode(e.totp(secret), "Continue", 200)
	b.expectUpstream(back)

	// A backup code works once.
	for i, want := range []int64{200, 422} {
		f := e.tab(testenv.NewBrowserContext(t, b.ctx))
		f.open("/wiki")
		f.signIn("alice@example.com", alicePW)
		f.expectPage("/__authgate/sign-in", "Two-step verification", "/wiki")
		f.press("Use a backup code")
		f.enterCode(codes[0], "Continue", want)
		if i == 0 {
			f.expectUpstream("/wiki")
		} else {
			f.visible("#code-error")
		}
		f.cleanConsole()
	}

	// The other browsers are signed out from the account page.
	b.open("/__authgate/account")
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll(".sessions li").length`)); err != nil || n != 2 {
		b.fail("sessions listed: %d (%v), want 2", n, err)
	}
	b.press("Sign out of all other devices")
	b.expectPage("/__authgate/account", "Your account", "")
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll(".sessions li").length`)); err != nil || n != 1 {
		b.fail("sessions listed after signing out the others: %d (%v), want 1", n, err)
	}
	b.cleanConsole()
}

func TestBrowserMFAResetByEmailCode(t *testing.T) {
	e, _ := aliceEnv(t, withMFA(mfaDefaults))
	api, _ := e.aliceBrowser()
	secret, _ := api.enrolTOTP()
	b := e.tab(testenv.Browser(t))
	const back = "/docs/setup?step=2"
	b.open(back)
	b.follow("Forgot password?")
	b.fill("identifier", "alice@example.com")
	b.press("Send code")
	b.fill("code", e.mail.LatestCode(t, "alice@example.com"))
	b.fill("password", "a-new-mfa-passphrase")
	b.fill("confirm_password", "a-new-mfa-passphrase")
	if res := b.press("Reset password"); res.Status != 200 {
		b.fail("resetting: status %d", res.Status)
	}
	if h := b.text("h1"); h != "Two-step verification" {
		b.fail("after the reset: heading %q, want the second step", h)
	}
	e.nextStep()
	b.enterCode(e.totp(secret), "Continue", 200)
	b.expectUpstream(back)
	b.cleanConsole()
}

func TestBrowserMFARequiredTask(t *testing.T) {
	e, _ := aliceEnv(t, withMFA(mfaRequired))
	b := e.tab(testenv.Browser(t))
	const back = "/orders?page=2"
	b.open(back)
	b.signIn("alice@example.com", alicePW)
	b.expectPage("/__authgate/tasks/setup-mfa", "Set up two-step verification", back)
	// While the task is pending the app stays closed.
	b.open("/orders")
	b.expectPage("/__authgate/tasks/setup-mfa", "Set up two-step verification", "/orders")
	b.open(back)
	secret := b.totpSecret()
	b.enterCode(e.totp(secret), "Verify and turn on", 200)
	if h := b.text("h1"); h != "Save your backup codes" {
		b.fail("after the set-up: heading %q", h)
	}
	b.backupCodes()
	b.follow("Continue")
	b.expectUpstream(back)
	b.cleanConsole()
}

// signInAgain signs the browser out (the sign-out page's button), opens
// path and signs in there as ident.
func (b *tab) signInAgain(path, ident, pw string) {
	b.open("/__authgate/sign-out")
	b.press("Sign out")
	b.open(path)
	b.signIn(ident, pw)
}
