package handlers_test

import (
	"fmt"
	"testing"

	"github.com/authgate/authgate/mfa"
)

// The environment advertises the configured second factors the way
// Clerk's does, so clerk-js offers them.
func TestEnvironmentAdvertisesSecondFactors(t *testing.T) {
	cases := []struct {
		name   string
		cfg    mfa.Config
		second string // auth_config.second_factors
		// used_for_second_factor of authenticator_app, backup_code, phone_number
		used [3]bool
	}{
		{"defaults", mfaDefaults, "[totp backup_code]", [3]bool{true, true, false}},
		{"all", mfaAll, "[phone_code totp backup_code]", [3]bool{true, true, true}},
		{"sms only", mfa.Config{PhoneCode: true, BackupCodes: true}, "[phone_code backup_code]", [3]bool{false, true, true}},
		// Backup codes exist only alongside another factor.
		{"none", mfa.Config{BackupCodes: true}, "[]", [3]bool{false, false, false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, withMFA(c.cfg))
			r := e.browser().get("/__authgate/v1/environment", nil)
			expect(t, r, 200, "")
			env := r.json
			ac := env["auth_config"].(map[string]any)
			if got := fmt.Sprint(ac["second_factors"]); got != c.second {
				t.Fatalf("auth_config.second_factors = %s, want %s", got, c.second)
			}
			attrs := env["user_settings"].(map[string]any)["attributes"].(map[string]any)
			for i, name := range []string{"authenticator_app", "backup_code", "phone_number"} {
				a := attrs[name].(map[string]any)
				if a["used_for_second_factor"] != c.used[i] {
					t.Fatalf("%s.used_for_second_factor = %v, want %v", name, a["used_for_second_factor"], c.used[i])
				}
				want := map[string]string{"authenticator_app": "totp", "backup_code": "backup_code", "phone_number": "phone_code"}[name]
				sf := fmt.Sprint(a["second_factors"])
				if c.used[i] && sf != "["+want+"]" || !c.used[i] && sf != "[]" {
					t.Fatalf("%s.second_factors = %s", name, sf)
				}
			}
			// The phone stays a first factor whatever the second factors are.
			if p := attrs["phone_number"].(map[string]any); p["used_for_first_factor"] != true {
				t.Fatalf("phone_number: %v", p)
			}
		})
	}
}
