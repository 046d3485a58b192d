package handlers

import (
	"net/http"

	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/users"
)

// What a client reads before it signs in: the keys that verify session
// tokens, and the instance's settings.

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(s.d.Tokens.JWKS())
}

func (s *Server) environment(w http.ResponseWriter, r *http.Request) {
	cfg := s.d.SignIn.Config()
	second := secondFactorSettings(s.d.SignIn.MFAConfig())
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "environment",
		"auth_config": map[string]any{
			"object": "auth_config", "single_session_mode": false, "first_factors": []string{
				signin.StrategyPassword, signin.StrategyEmailCode, signin.StrategyPhoneCode,
				signin.StrategyResetPasswordEmail, signin.StrategyResetPasswordPhone,
			},
			"second_factors": second.strategies,
		},
		"display_config": map[string]any{
			"object": "display_config", "application_name": s.cfg.AppName,
			"sign_in_url": s.cfg.SignInURL, "after_sign_in_url": s.cfg.AfterSignInURL,
			"sign_up_url": s.signUpURL(""), "after_sign_up_url": s.cfg.AfterSignInURL,
		},
		"user_settings": map[string]any{
			"attributes": map[string]any{
				"email_address": map[string]any{"enabled": true, "used_for_first_factor": true, "first_factors": []string{"email_code"},
					"verify_at_sign_up": s.signUpWith(users.KindEmail), "verifications": []string{"email_code"}},
				"phone_number": map[string]any{
					"enabled": true, "used_for_first_factor": true, "first_factors": []string{"phone_code"},
					"used_for_second_factor": second.phone, "second_factors": second.of(second.phone, signin.StrategyPhoneCode),
					"verify_at_sign_up": s.signUpWith(users.KindPhone), "verifications": []string{"phone_code"},
				},
				"username":          map[string]any{"enabled": true, "used_for_first_factor": true},
				"password":          map[string]any{"enabled": true, "required": false},
				"authenticator_app": second.attribute(second.totp, signin.StrategyTOTP),
				"backup_code":       second.attribute(second.backup, signin.StrategyBackupCode),
			},
			"password_settings": map[string]any{
				"min_length": s.d.PasswordMinLength, "max_length": 256, "disable_hibp": false,
				"enforce_hibp_on_sign_in": cfg.BreachOnSignIn,
			},
			"sign_up": s.signUpSettings(),
			"attack_protection": map[string]any{
				"enumeration_protection": map[string]any{"enabled": cfg.EnumerationProtection},
				"user_lockout": map[string]any{
					"enabled": true, "max_attempts": cfg.LockoutAttempts,
					"duration_in_minutes": int(cfg.LockoutDuration.Minutes()),
				},
			},
		},
	})
}

// advertisedFactors is which second factors the environment advertises, as
// Clerk's environment does: auth_config.second_factors and, per
// attribute, used_for_second_factor and second_factors (clerk-js reads
// these to offer a factor). Backup codes exist only alongside another
// factor, so they are advertised only with one.
type advertisedFactors struct {
	totp, backup, phone bool
	strategies          []string
}

func secondFactorSettings(c mfa.Config) advertisedFactors {
	sf := advertisedFactors{totp: c.TOTP, phone: c.PhoneCode, strategies: []string{}}
	sf.backup = c.BackupCodes && (c.TOTP || c.PhoneCode)
	for _, f := range []struct {
		on bool
		st string
	}{{sf.phone, signin.StrategyPhoneCode}, {sf.totp, signin.StrategyTOTP}, {sf.backup, signin.StrategyBackupCode}} {
		if f.on {
			sf.strategies = append(sf.strategies, f.st)
		}
	}
	return sf
}

// of is the attribute's second_factors: strategy when on, else none.
func (advertisedFactors) of(on bool, strategy string) []string {
	if on {
		return []string{strategy}
	}
	return []string{}
}

// attribute is an attribute that exists only as a second factor
// (authenticator_app, backup_code).
func (sf advertisedFactors) attribute(on bool, strategy string) map[string]any {
	return map[string]any{
		"enabled": on, "required": false, "used_for_first_factor": false, "first_factors": []string{},
		"used_for_second_factor": on, "second_factors": sf.of(on, strategy),
		"verifications": sf.of(on, strategy), "verify_at_sign_up": false,
	}
}
