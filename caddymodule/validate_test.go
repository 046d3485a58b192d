package caddymodule

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// TestValidateJSON: a JSON config (which skips the Caddyfile parser) gets
// every check, with the parser's messages.
func TestValidateJSON(t *testing.T) {
	tests := []errCase{
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
		// One rule: what the store's parser refuses at start, validation
		// refuses (a Sentinel master goes in the path, not ?master=).
		{"storage redis sentinel master option", `{"storage": {"backend": "redis", "url": "redis+sentinel://s1/0?master=m"}}`,
			`storage redis: unknown option "master"`},
		{"storage redis no host", `{"storage": {"backend": "redis", "url": "redis:///0"}}`, "storage redis: the URL has no host"},
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
		{"mfa as the issue writes it", `{"mfa": {"totp": true, "backup_codes": true, "phone_code": false, "required": false, "issuer": "Acme Portal"}}`, ""},
		{"mfa required with sms only", `{"mfa": {"totp": false, "phone_code": true, "required": true}}`, ""},
		{"mfa required without a way to add one", `{"mfa": {"totp": false, "required": true}}`, "mfa: required needs totp or phone_code on"},
		{"mfa issuer", `{"mfa": {"issuer": "Acme: Portal"}}`, "mfa: issuer: want one line of 1 to 100 bytes without ':'"},
	}
	runErrCases(t, tests, validateError(func() caddy.Validator { return new(App) }))
}

// TestValidateRedisURLHidesPasswords: a URL whose '@' and host were
// forgotten puts the password where the parser looks for a port or host;
// the error says what to fix without it.
func TestValidateRedisURLHidesPasswords(t *testing.T) {
	for _, url := range []string{"redis://user:hunter2", "redis://:hunter2/0", "rediss://u:hun:ter2", "redis://u:hunter2@h:bad"} {
		app := &App{Storage: &StorageConfig{Backend: "redis", URL: url}}
		err := app.Validate()
		if err == nil {
			t.Fatalf("%q: accepted", url)
		}
		if strings.Contains(err.Error(), "hun") || strings.Contains(err.Error(), "ter2") {
			t.Errorf("%q: error %q shows the password", url, err)
		}
	}
}

// TestValidateHandlerJSON: the site's JSON config gets the parser's
// checks too, and unset fields are valid.
func TestValidateHandlerJSON(t *testing.T) {
	tests := []errCase{
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
	runErrCases(t, tests, validateError(func() caddy.Validator { return new(Handler) }))
}

// validateError decodes a JSON config into a new config from newConfig
// and returns what its Validate says.
func validateError(newConfig func() caddy.Validator) func(*testing.T, string) error {
	return func(t *testing.T, input string) error {
		v := newConfig()
		if err := json.Unmarshal([]byte(input), v); err != nil {
			t.Fatalf("decode: %v", err)
		}
		return v.Validate()
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

func TestValueValidators(t *testing.T) {
	type check struct {
		name string
		fn   func(string) error
		good []string
		bad  []string
	}
	checks := []check{
		{
			"issuer", validateIssuer,
			[]string{"https://app.example.com", "http://localhost:8080", "https://[::1]:8443", "{env.ISSUER}"},
			[]string{"", "app.example.com", "https://", "https://a.example/", "https://a.example/x", "https://a.example?", "https://a.example#", "https://u:p@a.example", "ws://a.example", "https://:443"},
		},
		{
			"prefix", validatePrefix,
			[]string{"/__authgate", "/auth", "/a/b-c_d.e"},
			[]string{"", "/", "auth", "/auth/", "//auth", "/a//b", "/a/./b", "/a/..", "/a b", "/a\\b", "/a*", "/a?", "/a#", "/{x}", "/a%2F"},
		},
		{
			"redirect target", validateRedirectTarget,
			[]string{"/", "/a?b=c", "/a#f", "https://a.example/x", "http://localhost:3000", "{env.URL}"},
			[]string{"", "a", "//evil.example", "/\\evil.example", "\\\\evil.example", "https:evil.example", "javascript:alert(1)", "https://u@a.example", "/a b", "ftp://a.example", "https://"},
		},
		{
			"public pattern", validatePublicPattern,
			[]string{"/", "/*", "/healthz", "/assets/*"},
			[]string{"", "*", "healthz", "/a*b", "/**", "/a?b", "/a b"},
		},
		{
			"task key", validateTaskKey,
			[]string{"reset-password", "setup-mfa", "choose-organization", "a", "t2"},
			[]string{"", "-a", "a-", "a--b", "Reset", "reset_password", "2fa", strings.Repeat("a", 65)},
		},
		{
			"E.164", validateE164,
			[]string{"+15555550000", "+447911123456", "{env.FROM}"},
			[]string{"", "15555550000", "+0123456789", "+1", "+1234567890123456", "+1 555 555 0000"},
		},
		{
			"host:port", validateHostPort,
			[]string{"127.0.0.1:1025", "smtp.example.com:587", "[::1]:25", "{env.SMTP}"},
			[]string{"", "127.0.0.1", ":25", "h:0", "h:65536", "h:x"},
		},
		{
			"mailbox", validateMailbox,
			[]string{"a@b.example", "Example <no-reply@example.com>", `"Ex, Ample" <a@b.example>`},
			[]string{"", "a", "<a>", "a@"},
		},
		{
			"http URL", validateHTTPURL,
			[]string{"http://127.0.0.1:9099/sms", "https://api.twilio.com"},
			[]string{"", "/sms", "127.0.0.1:9099", "ftp://h/x", "https://"},
		},
		{
			"redis URL", validateRedisURL,
			[]string{"redis://127.0.0.1:6379/0", "rediss://:pw@h:6380", "redis+sentinel://a:26379,b:26379/m/0", "redis+cluster://a:6379,b:6379", "{env.REDIS_URL}"},
			[]string{"", "127.0.0.1:6379", "http://h", "redis:///0", "unix:///tmp/redis.sock"},
		},
	}
	for _, c := range checks {
		for _, v := range c.good {
			if err := c.fn(v); err != nil {
				t.Errorf("%s %q: unexpected error %v", c.name, v, err)
			}
		}
		for _, v := range c.bad {
			if err := c.fn(v); err == nil {
				t.Errorf("%s %q: accepted, want an error", c.name, v)
			}
		}
	}
}
