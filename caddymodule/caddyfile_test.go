package caddymodule

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func boolPtr(b bool) *bool { return &b }

// assertSameJSON compares two configs by their JSON encoding: the config
// is what the Caddyfile sets, and the structs also hold runtime state.
func assertSameJSON(t *testing.T, got, want any) {
	t.Helper()
	if gj, wj := mustJSON(t, got), mustJSON(t, want); string(gj) != string(wj) {
		t.Fatalf("got  %s\nwant %s", gj, wj)
	}
}

// mustJSON encodes v, failing the test when it cannot.
func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %T: %v", v, err)
	}
	return b
}

// parseCase is an input a parser accepts, with the config it sets.
type parseCase struct {
	name  string
	input string
	want  caddyfile.Unmarshaler
}

// runParses parses each input into a new config from newConfig and
// compares it with the case's want.
func runParses(t *testing.T, newConfig func() caddyfile.Unmarshaler, tests []parseCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newConfig()
			if err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input)); err != nil {
				t.Fatalf("UnmarshalCaddyfile: %v", err)
			}
			assertSameJSON(t, got, tt.want)
		})
	}
}

// errCase is an input and a part of the error it must give ("" = the
// input is accepted).
type errCase struct {
	name    string
	input   string
	wantErr string
}

// runErrCases checks, per case, the error that errOf gives for its input.
func runErrCases(t *testing.T, tests []errCase, errOf func(t *testing.T, input string) error) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assertErrContains(t, errOf(t, tt.input), tt.wantErr) })
	}
}

// parseError parses input into a new config from newConfig.
func parseError(newConfig func() caddyfile.Unmarshaler) func(*testing.T, string) error {
	return func(_ *testing.T, input string) error {
		return newConfig().UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
	}
}

func TestAppUnmarshalCaddyfile(t *testing.T) {
	tests := []parseCase{
		{name: "bare", input: `authgate`, want: &App{}},
		{name: "empty block", input: `authgate {
		}`, want: &App{}},
		{
			name: "every subdirective",
			input: `authgate {
				storage file /var/lib/authgate.db
				issuer https://app.example.com:8443
				signing_alg EdDSA
				token_lifetime 90s
				session_lifetime 7d
				email smtp {
					address smtp.example.com:587
					from "Example <no-reply@example.com>"
					tls starttls
					username mailer
					password {env.SMTP_PASSWORD}
				}
				sms twilio {
					account_sid AC123
					auth_token {env.TWILIO_TOKEN}
					from +15555550000
					base_url https://api.twilio.com
				}
				password {
					min_length 12
					breach hibp https://api.pwnedpasswords.com
					breach_on_sign_in on
					breach_on_error accept
				}
				code_ttl 15m
				code_max_attempts 4
				enumeration_protection off
				lockout 20 30m
			}`,
			want: &App{
				Storage:         &StorageConfig{Backend: "file", Path: "/var/lib/authgate.db"},
				Issuer:          "https://app.example.com:8443",
				SigningAlg:      "EdDSA",
				TokenLifetime:   caddy.Duration(90 * time.Second),
				SessionLifetime: caddy.Duration(7 * 24 * time.Hour),
				Email: &EmailConfig{
					Sender: "smtp", Address: "smtp.example.com:587",
					From: "Example <no-reply@example.com>", TLS: "starttls",
					Username: "mailer", Password: "{env.SMTP_PASSWORD}",
				},
				SMS: &SMSConfig{
					Sender: "twilio", AccountSID: "AC123", AuthToken: "{env.TWILIO_TOKEN}",
					From: "+15555550000", BaseURL: "https://api.twilio.com",
				},
				Password: &PasswordConfig{
					MinLength:      12,
					Breach:         &BreachConfig{Source: "hibp", URL: "https://api.pwnedpasswords.com"},
					BreachOnSignIn: true,
					BreachOnError:  "accept",
				},
				CodeTTL:               caddy.Duration(15 * time.Minute),
				CodeMaxAttempts:       4,
				EnumerationProtection: boolPtr(false),
				Lockout:               &LockoutConfig{Attempts: 20, Duration: caddy.Duration(30 * time.Minute)},
			},
		},
		{
			name: "alternatives",
			input: `authgate {
				storage redis redis://:{env.REDIS_PASSWORD}@127.0.0.1:6379/0
				email log
				sms webhook http://127.0.0.1:9099/sms
				password {
					breach file ./pwned.idx
				}
				enumeration_protection on
			}`,
			want: &App{
				Storage:               &StorageConfig{Backend: "redis", URL: "redis://:{env.REDIS_PASSWORD}@127.0.0.1:6379/0"},
				Email:                 &EmailConfig{Sender: "log"},
				SMS:                   &SMSConfig{Sender: "webhook", URL: "http://127.0.0.1:9099/sms"},
				Password:              &PasswordConfig{Breach: &BreachConfig{Source: "file", Path: "./pwned.idx"}},
				EnumerationProtection: boolPtr(true),
			},
		},
		{
			name: "more alternatives",
			input: `authgate {
				storage file
				sms log
				password {
					breach off
					breach_on_sign_in off
				}
			}`,
			want: &App{
				Storage:  &StorageConfig{Backend: "file"},
				SMS:      &SMSConfig{Sender: "log"},
				Password: &PasswordConfig{Breach: &BreachConfig{Source: "off"}},
			},
		},
		{
			name: "breach common and hibp default URL",
			input: `authgate {
				password {
					breach common
				}
			}`,
			want: &App{Password: &PasswordConfig{Breach: &BreachConfig{Source: "common"}}},
		},
		{
			name: "hibp without URL",
			input: `authgate {
				password {
					breach hibp
				}
			}`,
			want: &App{Password: &PasswordConfig{Breach: &BreachConfig{Source: "hibp"}}},
		},
	}
	runParses(t, func() caddyfile.Unmarshaler { return new(App) }, tests)
}

func TestAppUnmarshalCaddyfileErrors(t *testing.T) {
	tests := []errCase{
		{"args on option line", `authgate on`, "wrong argument count or unexpected line ending after 'on', at Testfile:1"},
		{"unknown", "authgate {\n\tfoo bar\n}", "unrecognized subdirective 'foo', at Testfile:2"},
		{"storage no args", "authgate {\n\tstorage\n}", "wrong argument count or unexpected line ending after 'storage', at Testfile:2"},
		{"storage backend", "authgate {\n\tstorage memory\n}", `storage: unknown backend "memory" (want file or redis), at Testfile:2`},
		{"storage twice", "authgate {\n\tstorage file\n\tstorage file ./b\n}", "subdirective 'storage' given more than once, at Testfile:3"},
		{"storage file extra", "authgate {\n\tstorage file a b\n}", "wrong argument count"},
		{"storage redis no url", "authgate {\n\tstorage redis\n}", "wrong argument count"},
		{"storage redis scheme", "authgate {\n\tstorage redis tcp://h:6379\n}", `storage redis: unsupported URL scheme "tcp"`},
		{"storage redis no host", "authgate {\n\tstorage redis redis:///0\n}", "storage redis: the URL has no host"},
		{"storage block", "authgate {\n\tstorage file x {\n\t}\n}", "storage takes no block (not an empty one either), at Testfile:3"},
		{"issuer path", "authgate {\n\tissuer https://a.example/\n}", `issuer: "https://a.example/" must be an origin only`},
		{"issuer query", "authgate {\n\tissuer https://a.example?x=1\n}", "must be an origin only"},
		{"issuer fragment", "authgate {\n\tissuer https://a.example#x\n}", "must be an origin only"},
		{"issuer userinfo", "authgate {\n\tissuer https://u@a.example\n}", "must be an origin only"},
		{"issuer scheme", "authgate {\n\tissuer ftp://a.example\n}", "is not an absolute http or https origin"},
		{"issuer relative", "authgate {\n\tissuer /x\n}", "is not an absolute http or https origin"},
		{"issuer two", "authgate {\n\tissuer https://a.example https://b.example\n}", "wrong argument count"},
		{"signing_alg", "authgate {\n\tsigning_alg rs256\n}", `signing_alg: unsupported algorithm "rs256" (want RS256, EdDSA or ES256), at Testfile:2`},
		{"signing_alg none", "authgate {\n\tsigning_alg none\n}", `unsupported algorithm "none"`},
		{"token_lifetime negative", "authgate {\n\ttoken_lifetime -5s\n}", `token_lifetime: duration "-5s" must be positive`},
		{"token_lifetime bad", "authgate {\n\ttoken_lifetime soon\n}", `token_lifetime: invalid duration "soon"`},
		{"token_lifetime none", "authgate {\n\ttoken_lifetime\n}", "wrong argument count"},
		{"session_lifetime zero", "authgate {\n\tsession_lifetime 0\n}", `session_lifetime: duration "0" must be positive`},
		{"email no args", "authgate {\n\temail\n}", "wrong argument count"},
		{"email sender", "authgate {\n\temail ses\n}", `email: unknown sender "ses" (want smtp or log)`},
		{"email twice", "authgate {\n\temail log\n\temail log\n}", "subdirective 'email' given more than once, at Testfile:3"},
		{"email log args", "authgate {\n\temail log x\n}", "wrong argument count"},
		{"email log block", "authgate {\n\temail log {\n\t\tfrom a@b.example\n\t}\n}", "email log takes no block"},
		{"email smtp no block", "authgate {\n\temail smtp\n}", "email smtp: address and from are required, at Testfile:2"},
		{"email smtp no from", "authgate {\n\temail smtp {\n\t\taddress h:25\n\t}\n}", "email smtp: address and from are required"},
		{"email smtp port", "authgate {\n\temail smtp {\n\t\taddress h:smtp\n\t}\n}", `email smtp: address: "h:smtp" has an invalid port`},
		{"email smtp port range", "authgate {\n\temail smtp {\n\t\taddress h:70000\n\t}\n}", "has an invalid port"},
		{"email smtp from", "authgate {\n\temail smtp {\n\t\tfrom <nobody>\n\t}\n}", `email smtp: from: "<nobody>" is not an email address`},
		{"email smtp tls", "authgate {\n\temail smtp {\n\t\ttls STARTTLS\n\t}\n}", `email smtp: tls: unknown mode "STARTTLS"`},
		{"email smtp tls twice", "authgate {\n\temail smtp {\n\t\ttls none\n\t\ttls none\n\t}\n}", "subdirective 'tls' given more than once, at Testfile:4"},
		{"email smtp username alone", "authgate {\n\temail smtp {\n\t\taddress h:25\n\t\tfrom a@b.example\n\t\tusername u\n\t}\n}", "email smtp: username and password must be given together, at Testfile:2"},
		{"email smtp password alone", "authgate {\n\temail smtp {\n\t\taddress h:25\n\t\tfrom a@b.example\n\t\tpassword p\n\t}\n}", "username and password must be given together"},
		{"email smtp username args", "authgate {\n\temail smtp {\n\t\tusername\n\t}\n}", "wrong argument count"},
		{"email smtp unknown", "authgate {\n\temail smtp {\n\t\tport 25\n\t}\n}", "unrecognized subdirective 'port', at Testfile:3"},
		{"sms no args", "authgate {\n\tsms\n}", "wrong argument count"},
		{"sms sender", "authgate {\n\tsms vonage\n}", `sms: unknown sender "vonage" (want webhook, twilio or log)`},
		{"sms twice", "authgate {\n\tsms log\n\tsms webhook http://h/x\n}", "subdirective 'sms' given more than once"},
		{"sms webhook no url", "authgate {\n\tsms webhook\n}", "wrong argument count"},
		{"sms webhook relative", "authgate {\n\tsms webhook /sms\n}", "sms webhook: the URL must be absolute with scheme http or https and a host"},
		{"sms webhook block", "authgate {\n\tsms webhook http://h/x {\n\t\tx y\n\t}\n}", "sms webhook takes no block"},
		{"sms twilio args", "authgate {\n\tsms twilio AC1 {\n\t}\n}", "wrong argument count"},
		{"sms twilio empty", "authgate {\n\tsms twilio\n}", "sms twilio: account_sid, auth_token and from are required, at Testfile:2"},
		{"sms twilio from", "authgate {\n\tsms twilio {\n\t\tfrom +0123\n\t}\n}", `sms twilio: from: "+0123" is not an E.164 phone number`},
		{"sms twilio base_url", "authgate {\n\tsms twilio {\n\t\tbase_url twilio\n\t}\n}", "sms twilio: base_url: the URL must be absolute"},
		{"sms twilio auth_token twice", "authgate {\n\tsms twilio {\n\t\tauth_token a\n\t\tauth_token b\n\t}\n}", "subdirective 'auth_token' given more than once"},
		{"sms twilio unknown", "authgate {\n\tsms twilio {\n\t\tmessaging_service MG1\n\t}\n}", "unrecognized subdirective 'messaging_service'"},
		{"password args", "authgate {\n\tpassword strong\n}", "wrong argument count"},
		{"password twice", "authgate {\n\tpassword {\n\t}\n\tpassword {\n\t}\n}", "subdirective 'password' given more than once"},
		{"password min_length low", "authgate {\n\tpassword {\n\t\tmin_length 7\n\t}\n}", "password: min_length: 7 is out of range [8, 256]"},
		{"password min_length high", "authgate {\n\tpassword {\n\t\tmin_length 257\n\t}\n}", "password: min_length: 257 is out of range [8, 256]"},
		{"password min_length nan", "authgate {\n\tpassword {\n\t\tmin_length eight\n\t}\n}", `password: min_length: "eight" is not an integer`},
		{"password breach none", "authgate {\n\tpassword {\n\t\tbreach\n\t}\n}", "wrong argument count"},
		{"password breach source", "authgate {\n\tpassword {\n\t\tbreach on\n\t}\n}", `password: breach: unknown source "on"`},
		{"password breach off extra", "authgate {\n\tpassword {\n\t\tbreach off now\n\t}\n}", "wrong argument count"},
		{"password breach common extra", "authgate {\n\tpassword {\n\t\tbreach common x\n\t}\n}", "wrong argument count"},
		{"password breach hibp extra", "authgate {\n\tpassword {\n\t\tbreach hibp https://a.example x\n\t}\n}", "wrong argument count"},
		{"password breach hibp url", "authgate {\n\tpassword {\n\t\tbreach hibp a.example\n\t}\n}", "password: breach hibp: the URL must be absolute"},
		{"password breach file none", "authgate {\n\tpassword {\n\t\tbreach file\n\t}\n}", "wrong argument count"},
		{"password breach twice", "authgate {\n\tpassword {\n\t\tbreach off\n\t\tbreach common\n\t}\n}", "subdirective 'breach' given more than once, at Testfile:4"},
		{"password breach_on_sign_in", "authgate {\n\tpassword {\n\t\tbreach_on_sign_in true\n\t}\n}", `password: breach_on_sign_in: "true" is neither on nor off`},
		{"password breach_on_error", "authgate {\n\tpassword {\n\t\tbreach_on_error fail\n\t}\n}", `password: breach_on_error: unknown policy "fail"`},
		{"password unknown", "authgate {\n\tpassword {\n\t\tmax_length 64\n\t}\n}", "unrecognized subdirective 'max_length'"},
		{"code_ttl zero", "authgate {\n\tcode_ttl 0s\n}", `code_ttl: duration "0s" must be positive`},
		{"code_ttl long", "authgate {\n\tcode_ttl 25h\n}", `code_ttl: "25h" is longer than 24h0m0s`},
		{"code_max_attempts zero", "authgate {\n\tcode_max_attempts 0\n}", "code_max_attempts: 0 is out of range [1, 5]"},
		{"code_max_attempts high", "authgate {\n\tcode_max_attempts 6\n}", "code_max_attempts: 6 is out of range [1, 5]"},
		{"code_max_attempts extra", "authgate {\n\tcode_max_attempts 3 4\n}", "wrong argument count"},
		{"enumeration_protection", "authgate {\n\tenumeration_protection disabled\n}", `enumeration_protection: "disabled" is neither on nor off`},
		{"enumeration_protection none", "authgate {\n\tenumeration_protection\n}", "wrong argument count"},
		{"lockout one arg", "authgate {\n\tlockout 10\n}", "wrong argument count"},
		{"lockout three args", "authgate {\n\tlockout 10 1h 2h\n}", "wrong argument count"},
		{"lockout zero", "authgate {\n\tlockout 0 1h\n}", "lockout: attempts: 0 is out of range [1, 100]"},
		{"lockout over checklist cap", "authgate {\n\tlockout 101 1h\n}", "lockout: attempts: 101 is out of range [1, 100]"},
		{"lockout duration", "authgate {\n\tlockout 10 0s\n}", `lockout: duration: duration "0s" must be positive`},
		{"lockout twice", "authgate {\n\tlockout 10 1h\n\tlockout 5 1h\n}", "subdirective 'lockout' given more than once"},
	}
	runErrCases(t, tests, parseError(func() caddyfile.Unmarshaler { return new(App) }))
}

// TestCaddyfileErrorsDoNotEchoSecrets checks that errors about secret
// values (SMTP password, Twilio token, credentials inside URLs) never show
// those values.
func TestCaddyfileErrorsDoNotEchoSecrets(t *testing.T) {
	const secret = "s3cr3tvalue"
	inputs := []string{
		"authgate {\n\temail smtp {\n\t\tpassword " + secret + " " + secret + "\n\t}\n}",
		"authgate {\n\temail smtp {\n\t\tpassword " + secret + " {\n\t\t}\n\t}\n}",
		"authgate {\n\tsms twilio {\n\t\tauth_token " + secret + " " + secret + "\n\t}\n}",
		"authgate {\n\tstorage redis http://:" + secret + "@127.0.0.1:6379\n}",
		"authgate {\n\tstorage redis rediss://:" + secret + "@\n}",
		"authgate {\n\tstorage redis redis://:" + secret + "@host:bad%port\n}",
		"authgate {\n\tsms webhook ftp://" + secret + "@h/x\n}",
		"authgate {\n\tsms twilio {\n\t\tbase_url ftp://" + secret + "@h\n\t}\n}",
		"authgate {\n\tpassword {\n\t\tbreach hibp ftp://" + secret + "@h\n\t}\n}",
	}
	for _, in := range inputs {
		a := new(App)
		err := a.UnmarshalCaddyfile(caddyfile.NewTestDispenser(in))
		if err == nil {
			t.Errorf("no error for %q", in)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q echoes the secret", err)
		}
	}
}

func TestHandlerUnmarshalCaddyfile(t *testing.T) {
	tests := []parseCase{
		{name: "bare", input: `authgate`, want: &Handler{}},
		{
			name: "every subdirective",
			input: `authgate {
				prefix /__authgate
				sign_in_url /__authgate/sign-in
				after_sign_in_url /
				task_url reset-password /account/reset
				public /healthz /assets/*
			}`,
			want: &Handler{
				Prefix:         "/__authgate",
				SignInURL:      "/__authgate/sign-in",
				AfterSignInURL: "/",
				TaskURLs:       map[string]string{"reset-password": "/account/reset"},
				Public:         []string{"/healthz", "/assets/*"},
			},
		},
		{
			name: "repeatable and absolute URLs",
			input: `authgate {
				prefix /auth/v1
				sign_in_url https://accounts.example.com/sign-in?app=1
				after_sign_in_url {env.HOME_URL}
				task_url reset-password https://accounts.example.com/reset
				task_url setup-mfa /mfa
				public /a
				public /b* /c
			}`,
			want: &Handler{
				Prefix:         "/auth/v1",
				SignInURL:      "https://accounts.example.com/sign-in?app=1",
				AfterSignInURL: "{env.HOME_URL}",
				TaskURLs: map[string]string{
					"reset-password": "https://accounts.example.com/reset",
					"setup-mfa":      "/mfa",
				},
				Public: []string{"/a", "/b*", "/c"},
			},
		},
	}
	runParses(t, func() caddyfile.Unmarshaler { return new(Handler) }, tests)
}

func TestHandlerUnmarshalCaddyfileErrors(t *testing.T) {
	tests := []errCase{
		{"args", `authgate /x`, "wrong argument count or unexpected line ending after '/x', at Testfile:1"},
		{"unknown", "authgate {\n\tupstream x\n}", "unrecognized subdirective 'upstream', at Testfile:2"},
		{"prefix none", "authgate {\n\tprefix\n}", "wrong argument count"},
		{"prefix root", "authgate {\n\tprefix /\n}", `prefix: "/" must start with / and name a path below the root`},
		{"prefix relative", "authgate {\n\tprefix auth\n}", `prefix: "auth" must start with /`},
		{"prefix trailing slash", "authgate {\n\tprefix /auth/\n}", `prefix: "/auth/" must not end with /, at Testfile:2`},
		{"prefix double slash", "authgate {\n\tprefix /a//b\n}", "has an empty, . or .. path segment"},
		{"prefix dot dot", "authgate {\n\tprefix /a/../b\n}", "has an empty, . or .. path segment"},
		{"prefix wildcard", "authgate {\n\tprefix /auth*\n}", "must be a plain path"},
		{"prefix query", "authgate {\n\tprefix /auth?x\n}", "must be a plain path"},
		{"prefix placeholder", "authgate {\n\tprefix /{env.P}\n}", "must be a plain path"},
		{"prefix twice", "authgate {\n\tprefix /a\n\tprefix /b\n}", "subdirective 'prefix' given more than once, at Testfile:3"},
		{"sign_in_url scheme-relative", "authgate {\n\tsign_in_url //evil.example\n}", `sign_in_url: "//evil.example" is a scheme-relative URL`},
		{"sign_in_url backslash", "authgate {\n\tsign_in_url /\\evil.example\n}", "holds spaces, control characters or backslashes"},
		{"sign_in_url scheme", "authgate {\n\tsign_in_url javascript:alert(1)\n}", "must be a path starting with / or an absolute http or https URL"},
		{"sign_in_url relative", "authgate {\n\tsign_in_url sign-in\n}", "must be a path starting with /"},
		{"sign_in_url userinfo", "authgate {\n\tsign_in_url https://a@evil.example/\n}", "must not hold user info"},
		{"sign_in_url twice", "authgate {\n\tsign_in_url /a\n\tsign_in_url /b\n}", "subdirective 'sign_in_url' given more than once"},
		{"after_sign_in_url", "authgate {\n\tafter_sign_in_url https:evil.example\n}", `after_sign_in_url: "https:evil.example" must be a path starting with /`},
		{"after_sign_in_url twice", "authgate {\n\tafter_sign_in_url /\n\tafter_sign_in_url /x\n}", "subdirective 'after_sign_in_url' given more than once"},
		{"task_url one arg", "authgate {\n\ttask_url reset-password\n}", "wrong argument count"},
		{"task_url three args", "authgate {\n\ttask_url reset-password /a /b\n}", "wrong argument count"},
		{"task_url key", "authgate {\n\ttask_url reset--password /a\n}", `task_url: invalid task key "reset--password"`},
		{"task_url key upper", "authgate {\n\ttask_url RESET /a\n}", `task_url: invalid task key "RESET"`},
		{"task_url target", "authgate {\n\ttask_url reset-password //evil.example\n}", `task_url reset-password: "//evil.example" is a scheme-relative URL`},
		{"task_url same key", "authgate {\n\ttask_url reset-password /a\n\ttask_url setup-mfa /m\n\ttask_url reset-password /b\n}", `task_url: task "reset-password" given more than once, at Testfile:4`},
		{"public none", "authgate {\n\tpublic\n}", "wrong argument count"},
		{"public relative", "authgate {\n\tpublic /ok assets/*\n}", `public: "assets/*" must start with /`},
		{"public inner star", "authgate {\n\tpublic /a/*.css\n}", `public: "/a/*.css" may hold * only at its end`},
		{"public query", "authgate {\n\tpublic /a?b\n}", "must be a plain path"},
		{"public block", "authgate {\n\tpublic /a {\n\t\tx\n\t}\n}", "public takes no block"},
	}
	runErrCases(t, tests, parseError(func() caddyfile.Unmarshaler { return new(Handler) }))
}

func TestParseGlobalOption(t *testing.T) {
	val, err := parseGlobalOption(caddyfile.NewTestDispenser(`authgate`), nil)
	if err != nil {
		t.Fatalf("bare option: %v", err)
	}
	app, ok := val.(httpcaddyfile.App)
	if !ok {
		t.Fatalf("value is %T, want httpcaddyfile.App", val)
	}
	if app.Name != "authgate" || string(app.Value) != "{}" {
		t.Fatalf("got app %q = %s, want authgate = {}", app.Name, app.Value)
	}

	val, err = parseGlobalOption(caddyfile.NewTestDispenser("authgate {\n\tsigning_alg ES256\n}"), nil)
	if err != nil {
		t.Fatalf("option with block: %v", err)
	}
	if got := string(val.(httpcaddyfile.App).Value); got != `{"signing_alg":"ES256"}` {
		t.Fatalf("got %s", got)
	}

	_, err = parseGlobalOption(caddyfile.NewTestDispenser(`authgate`), app)
	if err == nil || !strings.Contains(err.Error(), "may be given only once") {
		t.Fatalf("second option: got error %v, want 'may be given only once'", err)
	}
}

func TestParseHelpers(t *testing.T) {
	if d, err := parsePositiveDuration("1d"); err != nil || d != 24*time.Hour {
		t.Errorf("parsePositiveDuration(1d) = %v, %v", d, err)
	}
	for _, v := range []string{"", "0", "-1s", "1 s", "1y"} {
		if _, err := parsePositiveDuration(v); err == nil {
			t.Errorf("parsePositiveDuration(%q) accepted", v)
		}
	}
	// An integer goes through parseCount (the parser) and its range's
	// check (Validate).
	parseIntInRange := func(v string, lo, hi int) (int, error) {
		r := intRange{lo, hi}
		n, err := parseCount(v, r)
		if err == nil {
			err = r.check(n)
		}
		return n, err
	}
	if n, err := parseIntInRange("5", 1, 5); err != nil || n != 5 {
		t.Errorf("parseIntInRange(5) = %d, %v", n, err)
	}
	for _, v := range []string{"", "0", "6", "1.5", "0x3", " 3"} {
		if _, err := parseIntInRange(v, 1, 5); err == nil {
			t.Errorf("parseIntInRange(%q) accepted", v)
		}
	}
	for v, want := range map[string]bool{"on": true, "off": false} {
		if got, err := parseOnOff(v); err != nil || got != want {
			t.Errorf("parseOnOff(%q) = %v, %v", v, got, err)
		}
	}
	for _, v := range []string{"On", "true", "1", ""} {
		if _, err := parseOnOff(v); err == nil {
			t.Errorf("parseOnOff(%q) accepted", v)
		}
	}
	for v, want := range map[string]bool{"{env.X}": true, "a{b}c": true, "{}": false, "{": false, "}{": false, "plain": false} {
		if got := hasPlaceholder(v); got != want {
			t.Errorf("hasPlaceholder(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestStorageArgErrorHidesURL: the storage line's argument-count error
// never quotes a Redis URL, which may hold a password.
func TestStorageArgErrorHidesURL(t *testing.T) {
	for _, line := range []string{"storage redis cluster redis+cluster://:hunter22@h:7000", "storage file /x redis://:hunter22@h"} {
		d := caddyfile.NewTestDispenser("authgate {\n" + line + "\n}")
		err := new(App).UnmarshalCaddyfile(d)
		if err == nil || strings.Contains(err.Error(), "hunter22") {
			t.Errorf("%s: %v", line, err)
		}
	}
}
