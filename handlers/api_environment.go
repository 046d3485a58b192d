package handlers

import (
	"net/http"

	"github.com/authgate/authgate/signin"
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
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "environment",
		"auth_config": map[string]any{
			"object": "auth_config", "single_session_mode": false, "first_factors": []string{
				signin.StrategyPassword, signin.StrategyEmailCode, signin.StrategyPhoneCode,
				signin.StrategyResetPasswordEmail, signin.StrategyResetPasswordPhone,
			},
		},
		"display_config": map[string]any{
			"object": "display_config", "application_name": s.cfg.AppName,
			"sign_in_url": s.cfg.SignInURL, "after_sign_in_url": s.cfg.AfterSignInURL,
		},
		"user_settings": map[string]any{
			"attributes": map[string]any{
				"email_address": map[string]any{"enabled": true, "used_for_first_factor": true, "first_factors": []string{"email_code"}},
				"phone_number":  map[string]any{"enabled": true, "used_for_first_factor": true, "first_factors": []string{"phone_code"}},
				"username":      map[string]any{"enabled": true, "used_for_first_factor": true},
				"password":      map[string]any{"enabled": true, "required": false},
			},
			"password_settings": map[string]any{
				"min_length": s.d.PasswordMinLength, "max_length": 256, "disable_hibp": false,
				"enforce_hibp_on_sign_in": cfg.BreachOnSignIn,
			},
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
