package handlers_test

import (
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/mfa"
)

// required on where SMS codes are the only second factor, for a user
// with no phone: the setup-mfa page adds one (the number, the code read
// from the SMS sink, a wrong one first), makes it the second factor and
// goes on to redirect_url; the next sign-in asks for a code texted there.
func TestBrowserSetupMFAByNewPhone(t *testing.T) {
	e := newEnv(t, withMFA(mfa.Config{PhoneCode: true, BackupCodes: true, Required: true}), withPhoneCountries("US"))
	e.createUser("alice@example.com", "", alicePW)
	const number = "+12015550101"
	b := e.tab(testenv.Browser(t))
	const back = "/orders?page=2"
	b.atSetupTask(back)
	b.visible("#no-phone")

	b.fill("phone_number", "+33612345678")
	if res := b.press("Text me a code"); res.Status != 422 {
		b.fail("a French number: status %d", res.Status)
	}
	if got := b.text("#phone-error"); !strings.Contains(got, "(FR)") {
		b.fail("error for a French number: %q", got)
	}
	b.fill("phone_number", "+1 201 555 0101")
	if res := b.press("Text me a code"); res.Status != 200 {
		b.fail("adding the phone: status %d", res.Status)
	}
	code := e.sms.code(t, number)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	b.enterCode(wrong, "Verify and send codes here", 422)
	if got := b.text("#code-error"); got == "" {
		b.fail("no error for a wrong code")
	}
	b.enterCode(code, "Verify and send codes here", 200)
	b.codesThenBack(back)
	b.smsSignIn(e, number)
}

// atSetupTask signs alice in from back and expects the setup-mfa page.
func (b *tab) atSetupTask(back string) {
	b.t.Helper()
	b.open(back)
	b.signIn("alice@example.com", alicePW)
	b.expectPage("/__authgate/tasks/setup-mfa", "Set up two-step verification", back)
}

// codesThenBack expects the backup codes shown once, then goes on to
// back, the app.
func (b *tab) codesThenBack(back string) {
	b.t.Helper()
	if h := b.text("h1"); h != "Save your backup codes" {
		b.fail("after the second factor: heading %q", h)
	}
	if codes := b.backupCodes(); len(codes) != mfa.BackupCodeCount {
		b.fail("%d backup codes", len(codes))
	}
	b.follow("Continue")
	b.expectUpstream(back)
}

// smsSignIn signs alice in again, with the code texted to number as
// the second step.
func (b *tab) smsSignIn(e *env, number string) {
	b.t.Helper()
	b.signInAgain("/inbox", "alice@example.com", alicePW)
	b.expectPage("/__authgate/sign-in", "Two-step verification", "/inbox")
	b.enterCode(e.sms.code(b.t, number), "Continue", 200)
	b.expectUpstream("/inbox")
	b.cleanConsole()
}
