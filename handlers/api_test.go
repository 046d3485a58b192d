package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

const alicePW = "correct-horse-battery"

func TestPasswordSignInReachesUpstreamWithIdentityAndNoSpoofedHeaders(t *testing.T) {
	e, u := aliceEnv(t)
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

func TestStateChangesNeedTheSiteOrigin(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	r := b.do(http.MethodPost, "/__authgate/v1/client/sign_ins", form("identifier", "a@example.com"), map[string]string{"Origin": "https://evil.example"})
	expect(t, r, 400, "origin_invalid")
}

// The seed's reset flow: create with the reset strategy (the code is
// sent at once), then attempt with code and new password.
func TestResetPasswordByEmailCodeThroughSMTP(t *testing.T) {
	for _, tc := range storeBackends {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := aliceEnv(t, tc.opts...)
			other, _ := e.aliceBrowser()

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

func TestBadIdentifiersGetClearErrorsAndNoMail(t *testing.T) {
	e, _ := aliceEnv(t)
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

func TestStoreDownFailsClosed(t *testing.T) {
	e, _ := aliceEnv(t, withRedis)
	b, _ := e.aliceBrowser()
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
