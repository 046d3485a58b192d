package handlers_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/mfa"
)

// A phone made the user's only second factor on the account page (SMS
// codes the only second factor the deployment offers), used at the next
// sign-in, and given up again behind a reverification.
func TestBrowserMFAPhoneFromAccountPage(t *testing.T) {
	e := newEnv(t, withMFA(mfa.Config{PhoneCode: true, BackupCodes: true}))
	e.createUser("alice@example.com", "+15555550100", alicePW)
	b := e.tab(testenv.Browser(t))
	sections := func() string {
		b.t.Helper()
		ids, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("section")].map(s => s.id).join(",")`))
		if err != nil {
			b.fail("listing the sections: %v", err)
		}
		return ids
	}

	b.open("/__authgate/account")
	b.signIn("alice@example.com", alicePW)
	b.expectPage("/__authgate/account", "Your account", "")
	// No authenticator app here, and backup codes only with a factor.
	if got := sections(); got != "contact,password-section,phone-codes,sessions" {
		b.fail("sections %q", got)
	}
	if got := b.text("#phone-codes li"); !strings.Contains(got, "+15555550100") || !strings.Contains(got, "Not used for sign-in codes") {
		b.fail("phone row %q", got)
	}
	if res := b.press("Send codes here"); res.Status != 200 {
		b.fail("making the phone a second factor: status %d", res.Status)
	}
	// The first second factor comes with the backup codes, shown once.
	if codes := b.backupCodes(); len(codes) != mfa.BackupCodeCount {
		b.fail("%d backup codes", len(codes))
	}
	if got := b.text("#phone-codes li"); !strings.Contains(got, "Receives sign-in codes") {
		b.fail("phone row after: %q", got)
	}

	// Signed out, the sign-in asks for a texted code.
	b.signInAgain("/inbox", "alice@example.com", alicePW)
	b.expectPage("/__authgate/sign-in", "Two-step verification", "/inbox")
	b.enterCode(e.sms.code(t, "+15555550100"), "Continue", 200)
	b.expectUpstream("/inbox")

	// With the first factor proved long ago, giving the phone up asks for
	// the password first, then does it.
	e.clock.Advance(11 * time.Minute)
	b.open("/__authgate/account")
	if res := b.press("Stop sending codes"); res.Status != 403 {
		b.fail("releasing with an old first factor: status %d, want 403", res.Status)
	}
	b.fill("reverify_password", alicePW)
	b.press("Confirm password")
	b.expectPage("/__authgate/account", "Your account", "")
	if got := b.text(".notice"); got != "That phone no longer receives sign-in codes." {
		b.fail("notice %q", got)
	}
	if got := b.text("#phone-codes li"); !strings.Contains(got, "Not used for sign-in codes") {
		b.fail("phone row after giving it up: %q", got)
	}

	// And the password alone signs in again.
	b.signInAgain("/inbox", "alice@example.com", alicePW)
	b.expectUpstream("/inbox")
	b.cleanConsole()
}

// required on where SMS codes are the only second factor: the setup-mfa
// task page offers the user's phones; choosing one completes the task,
// and the next sign-in asks for a texted code.
func TestBrowserMFARequiredTaskByPhone(t *testing.T) {
	e := newEnv(t, withMFA(mfa.Config{PhoneCode: true, BackupCodes: true, Required: true}))
	e.createUser("alice@example.com", "+15555550100", alicePW)
	b := e.tab(testenv.Browser(t))
	const back = "/orders?page=2"
	b.open(back)
	b.signIn("alice@example.com", alicePW)
	b.expectPage("/__authgate/tasks/setup-mfa", "Set up two-step verification", back)
	if got := b.text("#phone-codes li"); !strings.Contains(got, "+15555550100") {
		b.fail("phones offered: %q", got)
	}
	// While the task is pending the app stays closed.
	b.open("/orders")
	b.expectPage("/__authgate/tasks/setup-mfa", "Set up two-step verification", "/orders")
	b.open(back)
	if res := b.press("Send codes here"); res.Status != 200 {
		b.fail("choosing the phone: status %d", res.Status)
	}
	if h := b.text("h1"); h != "Save your backup codes" {
		b.fail("after choosing the phone: heading %q", h)
	}
	b.backupCodes()
	b.follow("Continue")
	b.expectUpstream(back)

	b.signInAgain("/inbox", "alice@example.com", alicePW)
	b.expectPage("/__authgate/sign-in", "Two-step verification", "/inbox")
	b.enterCode(e.sms.code(t, "+15555550100"), "Continue", 200)
	b.expectUpstream("/inbox")
	b.cleanConsole()
}
