package handlers_test

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/app"
)

const alicePW = "correct-horse-battery"

func TestPasswordSignInReachesUpstreamWithIdentityAndNoSpoofedHeaders(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice@example.com", "", alicePW)
	b := e.browser()

	r := b.get("/dashboard?x=1", navigation)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/__authgate/sign-in?redirect_url=%2Fdashboard%3Fx%3D1" {
		t.Fatalf("anonymous navigation: %d %q", r.status, r.header.Get("Location"))
	}
	expect(t, b.get("/api/data", nil), http.StatusUnauthorized, "authentication_invalid")

	b.signIn(" Alice@Example.COM ", alicePW)
	r = b.get("/dashboard", map[string]string{"X-Authgate-User-Id": "user_evil", "X-Authgate-Email": "evil@x.com", "X-Authgate-Other": "1"})
	if r.status != 200 {
		t.Fatalf("signed-in request: %d %s", r.status, r.body)
	}
	h := e.upstreamHeaders()
	if got := h.Values("X-Authgate-User-Id"); len(got) != 1 || got[0] != u.ID {
		t.Fatalf("upstream user id headers %q, want [%s]", got, u.ID)
	}
	if h.Get("X-Authgate-Email") != "alice@example.com" || h.Get("X-Authgate-Session-Id") == "" || h.Get("X-Authgate-Other") != "" {
		t.Fatalf("upstream headers: %v", h)
	}
}

func TestUnknownUserAndWrongPasswordGiveTheSameAnswer(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice@example.com", "", alicePW)
	wrong := e.browser().post("/v1/client/sign_ins", form("identifier", "alice@example.com", "password", "not-the-password"))
	unknown := e.browser().post("/v1/client/sign_ins", form("identifier", "nobody@example.com", "password", "not-the-password"))
	expect(t, wrong, 422, "form_password_or_identifier_incorrect")
	if unknown.status != wrong.status || !bytes.Equal(unknown.body, wrong.body) {
		t.Fatalf("answers differ:\n%s\n%s", wrong.body, unknown.body)
	}
}

func TestWithoutEnumerationProtectionErrorsSayWhatIsWrong(t *testing.T) {
	e := newEnv(t, noEnumeration)
	e.createUser("alice@example.com", "", alicePW)
	expect(t, e.browser().post("/v1/client/sign_ins", form("identifier", "alice@example.com", "password", "nope-nope-nope")), 422, "form_password_incorrect")
	expect(t, e.browser().post("/v1/client/sign_ins", form("identifier", "bob@example.com", "password", "nope-nope-nope")), 422, "form_identifier_not_found")
	expect(t, e.browser().post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", "bob@example.com")), 422, "form_identifier_not_found")
}

func TestStateChangesNeedTheSiteOrigin(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	r := b.do(http.MethodPost, "/__authgate/v1/client/sign_ins", form("identifier", "a@example.com"), map[string]string{"Origin": "https://evil.example"})
	expect(t, r, 400, "origin_invalid")
}

// resetByEmail runs the seed's flow: create with the reset strategy (the
// code is sent at once), then attempt with code and new password.
func TestResetPasswordByEmailCodeThroughSMTP(t *testing.T) {
	for _, tc := range storeBackends {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts...)
			e.createUser("alice@example.com", "", alicePW)
			other := e.browser()
			other.signIn("alice@example.com", alicePW)

			b := e.browser()
			r := b.post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", "alice@example.com"))
			expect(t, r, 200, "")
			if r.str("status") != "needs_first_factor" {
				t.Fatalf("status %q", r.str("status"))
			}
			ffv := r.resp()["first_factor_verification"].(map[string]any)
			if ffv["status"] != "unverified" || ffv["strategy"] != "reset_password_email_code" {
				t.Fatalf("verification %v", ffv)
			}
			code := e.mail.LatestCode(t, "alice@example.com")
			id := r.str("id")
			// A breached new password is refused and does not burn the code.
			expect(t, b.post("/v1/client/sign_ins/"+id+"/attempt_first_factor",
				form("strategy", "reset_password_email_code", "code", code, "password", "password123")), 422, "form_password_pwned")
			r = b.post("/v1/client/sign_ins/"+id+"/attempt_first_factor",
				form("strategy", "reset_password_email_code", "code", code, "password", "a-brand-new-passphrase"))
			expect(t, r, 200, "")
			if r.str("status") != "complete" || r.str("created_session_id") == "" {
				t.Fatalf("attempt: %s", r.body)
			}
			if b.get("/app", navigation).status != 200 {
				t.Fatal("new session does not pass the gate")
			}
			expect(t, e.browser().post("/v1/client/sign_ins", form("identifier", "alice@example.com", "password", alicePW)), 422, "form_password_or_identifier_incorrect")
			e.browser().signIn("alice@example.com", "a-brand-new-passphrase")
			// The other session was revoked: its next refresh fails.
			e.clock.Advance(2 * time.Minute)
			if got := other.get("/app", navigation).status; got != http.StatusSeeOther {
				t.Fatalf("revoked session still passes: %d", got)
			}
			notice := e.mail.WaitFor(t, "alice@example.com", 10*time.Second)
			_ = notice
			if n := e.mail.Count(t, "alice@example.com"); n < 2 {
				t.Fatalf("want the code and the password-changed notice, got %d mails", n)
			}
		})
	}
}

func TestResetPasswordByPhoneCodeThenNewPassword(t *testing.T) {
	e := newEnv(t)
	e.createUser("", "+15555550100", alicePW)
	b := e.browser()
	r := b.post("/v1/client/sign_ins", form("strategy", "reset_password_phone_code", "identifier", "+1 555 555 0100"))
	expect(t, r, 200, "")
	id := r.str("id")
	code := e.sms.code(t, "+15555550100")
	r = b.post("/v1/client/sign_ins/"+id+"/attempt_first_factor", form("strategy", "reset_password_phone_code", "code", code))
	expect(t, r, 200, "")
	if r.str("status") != "needs_new_password" {
		t.Fatalf("status %q", r.str("status"))
	}
	expect(t, b.post("/v1/client/sign_ins/"+id+"/reset_password", form("password", alicePW)), 422, "form_new_password_matches_current")
	r = b.post("/v1/client/sign_ins/"+id+"/reset_password", form("password", "phone-reset-passphrase", "sign_out_of_other_sessions", "true"))
	expect(t, r, 200, "")
	if r.str("status") != "complete" {
		t.Fatalf("status %q", r.str("status"))
	}
	e.browser().signIn("+15555550100", "phone-reset-passphrase")
}

func TestPrepareFirstFactorResendsAfterCooldownOnly(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice@example.com", "", alicePW)
	b := e.browser()
	r := b.post("/v1/client/sign_ins", form("identifier", "alice@example.com"))
	expect(t, r, 200, "")
	id := r.str("id")
	factors := r.resp()["supported_first_factors"].([]any)
	var found bool
	for _, f := range factors {
		f := f.(map[string]any)
		if f["strategy"] == "reset_password_email_code" && f["email_address_id"] == u.Emails[0].ID && f["safe_identifier"] == "a*****@example.com" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no reset factor in %v", factors)
	}
	prep := form("strategy", "reset_password_email_code", "email_address_id", u.Emails[0].ID)
	expect(t, b.post("/v1/client/sign_ins/"+id+"/prepare_first_factor", prep), 200, "")
	r = b.post("/v1/client/sign_ins/"+id+"/prepare_first_factor", prep)
	expect(t, r, 429, "verification_code_too_many_requests")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
}

func TestCodeExpiresAfterTenMinutes(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice@example.com", "", alicePW)
	start := func() (*browser, string, string) {
		b := e.browser()
		r := b.post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", "alice@example.com"))
		expect(t, r, 200, "")
		code := e.mail.LatestCode(t, "alice@example.com")
		e.mail.DeleteAll(t)
		return b, r.str("id"), code
	}
	b, id, code := start()
	e.clock.Advance(9*time.Minute + 59*time.Second)
	expect(t, b.post("/v1/client/sign_ins/"+id+"/attempt_first_factor", form("strategy", "reset_password_email_code", "code", code)), 200, "")

	b, id, code = start()
	e.clock.Advance(10*time.Minute + time.Second)
	expect(t, b.post("/v1/client/sign_ins/"+id+"/attempt_first_factor", form("strategy", "reset_password_email_code", "code", code)), 400, "verification_expired")
}

func TestWrongCodesKillTheAttemptEvenForTheRightCode(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice@example.com", "", alicePW)
	b := e.browser()
	id, code := b.startReset("alice@example.com")
	wrong := otherCode(code)
	for i := 1; i <= 6; i++ {
		r := b.post("/v1/client/sign_ins/"+id+"/attempt_first_factor", form("strategy", "reset_password_email_code", "code", wrong))
		if i < 5 {
			expect(t, r, 422, "form_code_incorrect")
		} else {
			expect(t, r, 400, "verification_failed")
		}
	}
	expect(t, b.post("/v1/client/sign_ins/"+id+"/attempt_first_factor", form("strategy", "reset_password_email_code", "code", code)), 400, "verification_failed")
}

func TestFiftyConcurrentRightCodesSucceedOnce(t *testing.T) {
	for _, tc := range storeBackends {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts...)
			e.createUser("alice@example.com", "", alicePW)
			b := e.browser()
			id, code := b.startReset("alice@example.com")
			var wg sync.WaitGroup
			var mu sync.Mutex
			ok := 0
			start := make(chan struct{})
			for range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					r := b.post("/v1/client/sign_ins/"+id+"/attempt_first_factor", form("strategy", "reset_password_email_code", "code", code))
					if r.status == 200 {
						mu.Lock()
						ok++
						mu.Unlock()
					}
				}()
			}
			close(start)
			wg.Wait()
			if ok != 1 {
				t.Fatalf("%d successes, want exactly 1", ok)
			}
		})
	}
}

func TestACodeForOneUserNeverWorksForAnother(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice@example.com", "", alicePW)
	e.createUser("bob@example.com", "", alicePW)
	a, b := e.browser(), e.browser()
	ra := a.post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", "alice@example.com"))
	aliceCode := e.mail.LatestCode(t, "alice@example.com")
	// Draw Bob's code until it differs from Alice's (they collide one
	// time in a million, and then the test would prove nothing).
	var rb reply
	for i := 0; ; i++ {
		rb = b.post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", "bob@example.com"))
		e.eng.Deliveries.Wait()
		if e.mail.LatestCode(t, "bob@example.com") != aliceCode {
			break
		}
		if i == 3 {
			t.Fatal("Bob keeps getting Alice's code")
		}
	}
	expect(t, b.post("/v1/client/sign_ins/"+rb.str("id")+"/attempt_first_factor", form("strategy", "reset_password_email_code", "code", aliceCode)), 422, "form_code_incorrect")
	// Bob's client cannot even see Alice's attempt.
	expect(t, b.post("/v1/client/sign_ins/"+ra.str("id")+"/attempt_first_factor", form("strategy", "reset_password_email_code", "code", aliceCode)), 404, "resource_not_found")
}

func TestUnknownIdentifierLooksLikeAKnownOneAndSendsNothing(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice@example.com", "", alicePW)
	known := e.browser().post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", "alice@example.com"))
	unknown := e.browser().post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", "nobody@example.com"))
	expect(t, unknown, 200, "")
	if known.status != unknown.status || unknown.str("status") != known.str("status") ||
		len(unknown.resp()["supported_first_factors"].([]any)) != len(known.resp()["supported_first_factors"].([]any)) {
		t.Fatalf("shapes differ:\n%s\n%s", known.body, unknown.body)
	}
	e.mail.LatestCode(t, "alice@example.com")
	e.eng.Deliveries.Wait()
	if n := e.mail.Count(t, "nobody@example.com"); n != 0 {
		t.Fatalf("%d mails sent to an unknown address", n)
	}
}

func TestBadIdentifiersGetClearErrorsAndNoMail(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice@example.com", "", alicePW)
	for _, ident := range []string{
		"alice@example.com\r\nBcc: evil@y.com",
		"alice@example.com%0d%0aBcc:evil@y.com",
		"a@x.com,evil@y.com",
		"Evil <evil@y.com>",
		"аlice@example.com", // Cyrillic а
		"ａlice@example.com",
		"alice@example.com.",
		"alice\u200b@example.com",
		"\"a b\"@example.com",
		strings.Repeat("a", 10_000) + "@example.com",
		"+49 176 671 11 638 ext. 5",
		"+1234567890123456789",
		"+1-800-FLOWERS",
		"0176 671 11 638",
	} {
		r := e.browser().post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", ident))
		if r.status != 422 || (r.errCode() != "form_param_format_invalid" && r.errCode() != "form_param_missing") {
			t.Errorf("%q: got %d %s", ident, r.status, r.body)
		}
	}
	e.eng.Deliveries.Wait()
	if n := e.mail.Count(t, ""); n != 0 {
		t.Fatalf("%d mails sent for bad identifiers", n)
	}
}

func TestLockoutAfterRepeatedFailures(t *testing.T) {
	e := newEnv(t, func(o *envOpt) {
		o.engineCfg = func(c *app.Config) { c.SignIn.LockoutAttempts = 3; c.SignIn.LockoutDuration = time.Hour }
	})
	e.createUser("alice@example.com", "", alicePW)
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

func TestStoreDownFailsClosed(t *testing.T) {
	e := newEnv(t, withRedis)
	e.createUser("alice@example.com", "", alicePW)
	b := e.browser()
	b.signIn("alice@example.com", alicePW)
	e.redis.Stop()
	// A signed-in browser whose token is not cached yet needs the store
	// to load the profile; anonymous navigations still go to sign-in.
	r := b.get("/app", navigation)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("signed-in with store down: %d %v", r.status, r.header)
	}
	anon := e.browser()
	expect(t, e.browser().post("/v1/client/sign_ins", form("identifier", "alice@example.com", "password", alicePW)), 503, "service_unavailable")
	select {
	case h := <-e.upstream:
		t.Fatalf("a request reached the upstream while the store was down: %v", h)
	default:
	}
	e.redis.Start()
	deadline := time.Now().Add(10 * time.Second)
	for anon.get("/app", navigation).status != http.StatusSeeOther {
		if time.Now().After(deadline) {
			t.Fatal("did not recover after the store came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
