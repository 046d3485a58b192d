package handlers_test

import (
	"fmt"
	"testing"
)

// Every session answer carries the user's second factors and the
// session's factor_verification_age, as Clerk's: touch, end, remove and
// revoke as well as the client's sessions.
func TestSessionAnswersCarrySecondFactors(t *testing.T) {
	e, _ := aliceEnv(t, withMFA(mfaDefaults))
	b, r := e.aliceBrowser()
	first := r.str("created_session_id")
	secret, _ := b.enrolTOTP()

	check := func(what string, r reply, status string, ages string) {
		t.Helper()
		expect(t, r, 200, "")
		sj := r.resp()
		u, _ := sj["user"].(map[string]any)
		if sj["status"] != status || u == nil || flags(u) != [3]any{true, true, true} {
			t.Fatalf("%s: status %v, user %v", what, sj["status"], u)
		}
		if got := fmt.Sprint(sj["factor_verification_age"]); got != ages {
			t.Fatalf("%s: factor_verification_age %s, want %s", what, got, ages)
		}
	}
	// Signed in with the password alone (one TOTP step ago): no second factor age.
	check("touch", b.post("/v1/client/sessions/"+first+"/touch", nil), "active", "[0 -1]")

	// Signed in with both factors, in three more browsers, a TOTP step
	// (30 s of the test clock) apart.
	signIn := func() (*browser, string) {
		t.Helper()
		nb := e.browser()
		id, _ := nb.secondStep("alice@example.com", alicePW)
		r := nb.attemptSecond(id, "totp", e.totp(secret))
		expect(t, r, 200, "")
		e.nextStep()
		return nb, r.str("created_session_id")
	}
	b2, s2 := signIn()
	b3, s3 := signIn()
	_, s4 := signIn()
	check("end", b2.post("/v1/client/sessions/"+s2+"/end", nil), "ended", "[1 1]")
	check("remove", b3.post("/v1/client/sessions/"+s3+"/remove", nil), "removed", "[1 1]")
	check("revoke", b.post("/v1/me/sessions/"+s4+"/revoke", nil), "revoked", "[0 0]")
}
