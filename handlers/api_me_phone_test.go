package handlers_test

import (
	"net/http"
	"testing"

	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/mfa"
)

// withPhoneCountries opens regions to SMS for numbers users add
// themselves (sign-up's phone_countries, in the wiring).
func withPhoneCountries(regions ...string) func(*envOpt) {
	return func(o *envOpt) {
		prev := o.engineCfg
		o.engineCfg = func(c *app.Config) {
			if prev != nil {
				prev(c)
			}
			c.SignIn.PhoneCountries = regions
		}
	}
}

// A user with no phone, pending setup-mfa where SMS codes are the only
// second factor, adds one over the API as clerk-js does and reserves it:
// the session turns active.
func TestMePhoneNumberAddCompletesSetup(t *testing.T) {
	e := newEnv(t, withMFA(mfa.Config{PhoneCode: true, BackupCodes: true, Required: true}), withPhoneCountries("US"))
	e.createUser("alice@example.com", "", alicePW)
	b, r := e.aliceBrowser()
	expect(t, r, 200, "")
	const number = "+12015550101"

	r = b.post("/v1/me/phone_numbers", form("phone_number", "+33612345678"))
	expect(t, r, 422, "form_param_format_invalid")
	r = b.post("/v1/me/phone_numbers", form("phone_number", "+1 201 555 0101"))
	expect(t, r, 200, "")
	id := r.str("id")
	if r.str("object") != "phone_number" || r.str("phone_number") != number || r.resp()["reserved_for_second_factor"] != false {
		t.Fatalf("created: %s", r.body)
	}
	if v := r.resp()["verification"].(map[string]any); v["status"] != "unverified" || v["expire_at"] != nil {
		t.Fatalf("verification before a code: %v", v)
	}
	// Unverified, the number signs nobody in.
	nb := e.browser()
	r = nb.post("/v1/client/sign_ins", form("identifier", number, "strategy", "phone_code"))
	if r.status == 200 && r.resp()["supported_first_factors"] != nil {
		for _, f := range r.resp()["supported_first_factors"].([]any) {
			if f.(map[string]any)["phone_number_id"] == id {
				t.Fatalf("an unverified phone is offered to sign in: %s", r.body)
			}
		}
	}

	r = b.post("/v1/me/phone_numbers/"+id+"/prepare_verification", form("strategy", "phone_code"))
	expect(t, r, 200, "")
	if v := r.resp()["verification"].(map[string]any); v["strategy"] != "phone_code" || v["expire_at"] == nil || v["attempts"] != 0.0 {
		t.Fatalf("verification after prepare: %v", v)
	}
	code := e.sms.code(t, number)
	r = b.post("/v1/me/phone_numbers/"+id+"/attempt_verification", form("code", wrongSMS(code)))
	expect(t, r, 422, "form_code_incorrect")
	r = b.post("/v1/me/phone_numbers/"+id+"/attempt_verification", form("code", code))
	expect(t, r, 200, "")
	if v := r.resp()["verification"].(map[string]any); v["status"] != "verified" || r.str("id") != id {
		t.Fatalf("attempt: %s", r.body)
	}
	r = b.do(http.MethodPatch, "/__authgate/v1/me/phone_numbers/"+id, form("reserved_for_second_factor", "true"), nil)
	expect(t, r, 200, "")
	if r.resp()["reserved_for_second_factor"] != true {
		t.Fatalf("reserve: %s", r.body)
	}
	if got := flags(b.me()); got != [3]any{true, false, true} {
		t.Fatalf("flags %v: the task did not complete", got)
	}
	// The only second factor while one is required stays.
	r = b.do(http.MethodDelete, "/__authgate/v1/me/phone_numbers/"+id, nil, nil)
	expect(t, r, 422, "form_param_value_invalid")
}

// An unverified number is deleted at once; a signed-out caller may not
// add one.
func TestMePhoneNumberDeleteUnverified(t *testing.T) {
	e := newEnv(t, withMFA(mfaAll), withPhoneCountries("US"))
	e.createUser("alice@example.com", "", alicePW)
	b, _ := e.aliceBrowser()
	r := b.post("/v1/me/phone_numbers", form("phone_number", "+12015550102"))
	expect(t, r, 200, "")
	id := r.str("id")
	r = b.do(http.MethodDelete, "/__authgate/v1/me/phone_numbers/"+id, nil, nil)
	expect(t, r, 200, "")
	if r.resp()["deleted"] != true {
		t.Fatalf("delete: %s", r.body)
	}
	r = b.post("/v1/me/phone_numbers/"+id+"/prepare_verification", form("strategy", "phone_code"))
	expect(t, r, 404, "resource_not_found")
	r = e.browser().post("/v1/me/phone_numbers", form("phone_number", "+12015550103"))
	if r.status < 400 {
		t.Fatalf("signed out: %d %s", r.status, r.body)
	}
}

// wrongSMS is a well-formed code other than code.
func wrongSMS(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}
