package handlers_test

import (
	"testing"
	"time"

	"github.com/authgate/authgate/internal/app"
)

// Lockout after repeated wrong passwords, and the reset that still works
// (and unlocks) meanwhile.

func TestLockoutAfterRepeatedFailures(t *testing.T) {
	e := newEnv(t, func(o *envOpt) {
		o.engineCfg = func(c *app.Config) { c.SignIn.LockoutAttempts = 3; c.SignIn.LockoutDuration = time.Hour }
	})
	e.alice()
	for i := 0; i < 2; i++ {
		expect(t, e.browser().post("/v1/client/sign_ins", form("identifier", "alice@example.com", "password", "wrong-password-1")), 422, "form_password_or_identifier_incorrect")
	}
	r := e.browser().post("/v1/client/sign_ins", form("identifier", "alice@example.com", "password", "wrong-password-1"))
	expect(t, r, 403, "user_locked")
	meta := r.json["errors"].([]any)[0].(map[string]any)["meta"].(map[string]any)
	if secs, _ := meta["lockout_expires_in_seconds"].(float64); secs < 3500 || secs > 3600 {
		t.Fatalf("lockout_expires_in_seconds = %v", meta["lockout_expires_in_seconds"])
	}
	// Even the right password waits for the lock to end.
	expect(t, e.browser().post("/v1/client/sign_ins", form("identifier", "alice@example.com", "password", alicePW)), 403, "user_locked")
	e.clock.Advance(time.Hour + time.Second)
	e.browser().signIn("alice@example.com", alicePW)
}

func TestLockedOutUserCanStillResetAndThatUnlocks(t *testing.T) {
	e, _ := aliceEnv(t)
	for i := 0; i < 10; i++ {
		e.browser().post("/v1/client/sign_ins", form("identifier", "alice@example.com", "password", "wrong-password-x"))
	}
	expect(t, e.browser().post("/v1/client/sign_ins", form("identifier", "alice@example.com", "password", alicePW)), 403, "user_locked")
	b := e.browser()
	r := b.post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", "alice@example.com"))
	expect(t, r, 200, "")
	code := e.mail.LatestCode(t, "alice@example.com")
	expect(t, b.post("/v1/client/sign_ins/"+r.str("id")+"/attempt_first_factor",
		form("strategy", "reset_password_email_code", "code", code, "password", "unlocked-new-passphrase")), 200, "")
	e.browser().signIn("alice@example.com", "unlocked-new-passphrase")
}
