package handlers_test

import (
	"testing"
	"time"
)

// phoneUserSignedIn is a browser signed in by an SMS code as a user with
// only a phone (no password), and the session id.
func (e *env) phoneUserSignedIn(phone string) (*browser, string) {
	e.tb.Helper()
	t := e.t
	b := e.browser()
	r := b.post("/v1/client/sign_ins", form("identifier", phone))
	expect(t, r, 200, "")
	id := r.str("id")
	expect(t, b.post("/v1/client/sign_ins/"+id+"/prepare_first_factor", form("strategy", "phone_code")), 200, "")
	r = b.post("/v1/client/sign_ins/"+id+"/attempt_first_factor", form("strategy", "phone_code", "code", e.sms.code(t, phone)))
	expect(t, r, 200, "")
	if r.str("status") != "complete" {
		t.Fatalf("code sign-in: %s", r.body)
	}
	return b, r.str("created_session_id")
}

// A user without a password reverifies with a code, as clerk-js's
// session.prepareFirstFactorVerification / attemptFirstFactorVerification
// do, then changes a factor.
func TestReverifyByCodeAPI(t *testing.T) {
	e := newEnv(t, withMFA(mfaDefaults))
	u := e.createUser("", "+15555550177", "")
	b, sid := e.phoneUserSignedIn("+15555550177")
	e.clock.Advance(11 * time.Minute)
	expect(t, b.post("/v1/me/totp", nil), 403, "session_reverification_required")

	r := b.post("/v1/client/sessions/"+sid+"/verify", form("level", "first_factor"))
	expect(t, r, 200, "")
	factors := r.resp()["supported_first_factors"].([]any)
	if len(factors) != 1 {
		t.Fatalf("factors %v", factors)
	}
	if f := factors[0].(map[string]any); f["strategy"] != "phone_code" || f["phone_number_id"] != u.Phones[0].ID || f["safe_identifier"] != "+15*******77" {
		t.Fatalf("factor %v", f)
	}
	expect(t, b.post("/v1/client/sessions/"+sid+"/verify/attempt_first_factor", form("strategy", "password", "password", "x")), 400, "strategy_for_user_invalid")

	r = b.post("/v1/client/sessions/"+sid+"/verify/prepare_first_factor", form("strategy", "phone_code", "phone_number_id", u.Phones[0].ID))
	expect(t, r, 200, "")
	v, _ := r.resp()["first_factor_verification"].(map[string]any)
	if r.str("status") != "needs_first_factor" || v["status"] != "unverified" || v["strategy"] != "phone_code" || v["object"] != "verification_otp" {
		t.Fatalf("prepared: %s", r.body)
	}
	e.eng.Deliveries.Wait()
	code := e.sms.code(t, "+15555550177")
	attempt := "/v1/client/sessions/" + sid + "/verify/attempt_first_factor"
	expect(t, b.post(attempt, form("strategy", "phone_code", "code", otherCode(code))), 422, "form_code_incorrect")
	r = b.post(attempt, form("strategy", "phone_code", "code", code))
	expect(t, r, 200, "")
	if r.str("status") != "complete" {
		t.Fatalf("reverified: %s", r.body)
	}
	expect(t, b.post(attempt, form("strategy", "phone_code", "code", code)), 400, "verification_not_sent")
	expect(t, b.post("/v1/me/totp", nil), 200, "")
}
