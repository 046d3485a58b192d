package caddymodule

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestValidateJSON: a JSON config (which skips the Caddyfile parser) gets
// every check, with the parser's messages.
func TestValidateJSON(t *testing.T) {
	tests := []struct {
		name    string
		app     string
		wantErr string // "" = valid
	}{
		{"empty", `{}`, ""},
		{"design example", `{
			"storage": {"backend": "redis", "url": "redis://127.0.0.1:6379/0"},
			"issuer": "https://app.example.com", "signing_alg": "RS256",
			"token_lifetime": "60s", "session_lifetime": "168h",
			"email": {"sender": "smtp", "address": "127.0.0.1:1025", "from": "Example <no-reply@example.com>",
				"tls": "none", "username": "mailer", "password": "{env.SMTP_PASSWORD}"},
			"sms": {"sender": "twilio", "account_sid": "AC1", "auth_token": "{env.TWILIO_TOKEN}", "from": "+15555550000"},
			"password": {"min_length": 8, "breach": {"source": "hibp"}, "breach_on_sign_in": true},
			"code_ttl": "10m", "code_max_attempts": 5, "enumeration_protection": true,
			"lockout": {"attempts": 10, "duration": "1h"}}`, ""},
		{"smtp username without password", `{"email": {"sender": "smtp", "address": "h:25", "from": "a@b.example", "username": "u"}}`,
			"email smtp: username and password must be given together"},
		{"smtp password without username", `{"email": {"sender": "smtp", "address": "h:25", "from": "a@b.example", "password": "p"}}`,
			"email smtp: username and password must be given together"},
		{"smtp without from", `{"email": {"sender": "smtp", "address": "h:25"}}`, "email smtp: address and from are required"},
		{"smtp tls", `{"email": {"sender": "smtp", "address": "h:25", "from": "a@b.example", "tls": "ssl"}}`,
			`email smtp: tls: unknown mode "ssl" (want none, starttls or implicit)`},
		{"email sender", `{"email": {"sender": "ses"}}`, `email: unknown sender "ses" (want smtp or log)`},
		{"twilio without from", `{"sms": {"sender": "twilio", "account_sid": "AC1", "auth_token": "t"}}`,
			"sms twilio: account_sid, auth_token and from are required"},
		{"twilio from", `{"sms": {"sender": "twilio", "account_sid": "AC1", "auth_token": "t", "from": "555"}}`,
			`sms twilio: from: "555" is not an E.164 phone number`},
		{"sms webhook", `{"sms": {"sender": "webhook", "url": "/sms"}}`, "sms webhook: the URL must be absolute"},
		{"storage backend", `{"storage": {"backend": "s3"}}`, `storage: unknown backend "s3" (want file or redis)`},
		{"storage redis", `{"storage": {"backend": "redis", "url": "http://h"}}`, `storage redis: unsupported URL scheme "http"`},
		{"signing_alg", `{"signing_alg": "HS256"}`, `signing_alg: unsupported algorithm "HS256" (want RS256, EdDSA or ES256)`},
		{"issuer", `{"issuer": "https://a.example/x"}`, "issuer: \"https://a.example/x\" must be an origin only"},
		{"token_lifetime negative", `{"token_lifetime": "-5s"}`, `token_lifetime: duration "-5s" must be positive`},
		{"token_lifetime over session_lifetime", `{"token_lifetime": "2h", "session_lifetime": "1h"}`,
			"token_lifetime must not exceed session_lifetime (2h > 1h)"},
		{"session_lifetime under the default token_lifetime", `{"session_lifetime": "30s"}`,
			"token_lifetime must not exceed session_lifetime (1m > 30s)"},
		{"code_ttl", `{"code_ttl": "48h"}`, `code_ttl: "48h" is longer than 24h0m0s`},
		{"code_max_attempts", `{"code_max_attempts": 6}`, "code_max_attempts: 6 is out of range [1, 5]"},
		{"min_length", `{"password": {"min_length": 7}}`, "password: min_length: 7 is out of range [8, 256]"},
		{"breach_on_error", `{"password": {"breach_on_error": "ignore"}}`, `password: breach_on_error: unknown policy "ignore"`},
		{"breach source", `{"password": {"breach": {"source": "pwned"}}}`, `password: breach: unknown source "pwned"`},
		{"breach file without path", `{"password": {"breach": {"source": "file"}}}`, "password: breach file: the index path is empty"},
		{"lockout attempts", `{"lockout": {"attempts": 101}}`, "lockout: attempts: 101 is out of range [1, 100]"},
		{"lockout duration", `{"lockout": {"attempts": 5, "duration": "-1h"}}`, `lockout: duration: duration "-1h" must be positive`},
		{"app_name", `{"app_name": "two\nlines"}`, "app_name: want one line of 1 to 100 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a App
			if err := json.Unmarshal([]byte(tt.app), &a); err != nil {
				t.Fatalf("decode: %v", err)
			}
			assertErrContains(t, a.Validate(), tt.wantErr)
		})
	}
}

// TestValidateHandlerJSON: the site's JSON config gets the parser's
// checks too, and unset fields are valid.
func TestValidateHandlerJSON(t *testing.T) {
	tests := []struct {
		name    string
		handler string
		wantErr string
	}{
		{"empty", `{}`, ""},
		{"every field", `{"prefix": "/auth", "sign_in_url": "/auth/sign-in", "after_sign_in_url": "/",
			"task_urls": {"reset-password": "/account/reset"}, "public": ["/healthz", "/assets/*"]}`, ""},
		{"prefix", `{"prefix": "/auth/"}`, `prefix: "/auth/" must not end with /`},
		{"sign_in_url", `{"sign_in_url": "//evil.example"}`, `sign_in_url: "//evil.example" is a scheme-relative URL`},
		{"after_sign_in_url", `{"after_sign_in_url": "javascript:x"}`, "after_sign_in_url: \"javascript:x\" must be a path"},
		{"task key", `{"task_urls": {"Reset": "/r"}}`, `task_url: invalid task key "Reset"`},
		{"task target", `{"task_urls": {"reset-password": "r"}}`, `task_url reset-password: "r" must be a path`},
		{"public", `{"public": ["/ok", "assets/*"]}`, `public: "assets/*" must start with /`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Handler
			if err := json.Unmarshal([]byte(tt.handler), &h); err != nil {
				t.Fatalf("decode: %v", err)
			}
			assertErrContains(t, h.Validate(), tt.wantErr)
		})
	}
}

// TestValidateAfterDefaults: the defaults Provision applies pass
// Validate, which Caddy runs after Provision.
func TestValidateAfterDefaults(t *testing.T) {
	a := new(App)
	a.applyDefaults()
	if err := a.Validate(); err != nil {
		t.Errorf("app defaults: %v", err)
	}
	h := new(Handler)
	h.applyDefaults()
	if err := h.Validate(); err != nil {
		t.Errorf("handler defaults: %v", err)
	}
	if h.Prefix != "/__authgate" || h.SignInURL != "/__authgate/sign-in" || h.AfterSignInURL != "/" {
		t.Errorf("handler defaults: %+v", h)
	}
}

// assertErrContains checks that err holds want, or that err is nil when
// want is empty.
func assertErrContains(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want == "":
	case err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[string]string{"48h": "48h", "90m": "1h30m", "10m": "10m", "90s": "1m30s", "-1h": "-1h", "0s": "0s", "1.5s": "1.5s"} {
		dur, err := time.ParseDuration(d)
		if err != nil {
			t.Fatal(err)
		}
		if got := formatDuration(dur); got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
