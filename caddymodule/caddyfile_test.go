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

// inAuthgate is the Caddyfile block `authgate { ... }` of lines (a line
// of a nested block starts with a tab).
func inAuthgate(lines ...string) string {
	return "authgate {\n\t" + strings.Join(lines, "\n\t") + "\n}"
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
		{"unknown", inAuthgate("foo bar"), "unrecognized subdirective 'foo', at Testfile:2"},
		{"storage no args", inAuthgate("storage"), "wrong argument count or unexpected line ending after 'storage', at Testfile:2"},
		{"storage backend", inAuthgate("storage memory"), `storage: unknown backend "memory" (want file or redis), at Testfile:2`},
		{"storage twice", inAuthgate("storage file", "storage file ./b"), "subdirective 'storage' given more than once, at Testfile:3"},
		{"storage file extra", inAuthgate("storage file a b"), "wrong argument count"},
		{"storage redis no url", inAuthgate("storage redis"), "wrong argument count"},
		{"storage redis scheme", inAuthgate("storage redis tcp://h:6379"), `storage redis: unsupported URL scheme "tcp"`},
		{"storage redis no host", inAuthgate("storage redis redis:///0"), "storage redis: the URL has no host"},
		{"storage block", inAuthgate("storage file x {", "}"), "storage takes no block (not an empty one either), at Testfile:3"},
		{"issuer path", inAuthgate("issuer https://a.example/"), `issuer: "https://a.example/" must be an origin only`},
		{"issuer query", inAuthgate("issuer https://a.example?x=1"), "must be an origin only"},
		{"issuer fragment", inAuthgate("issuer https://a.example#x"), "must be an origin only"},
		{"issuer userinfo", inAuthgate("issuer https://u@a.example"), "must be an origin only"},
		{"issuer scheme", inAuthgate("issuer ftp://a.example"), "is not an absolute http or https origin"},
		{"issuer relative", inAuthgate("issuer /x"), "is not an absolute http or https origin"},
		{"issuer two", inAuthgate("issuer https://a.example https://b.example"), "wrong argument count"},
		{"signing_alg", inAuthgate("signing_alg rs256"), `signing_alg: unsupported algorithm "rs256" (want RS256, EdDSA or ES256), at Testfile:2`},
		{"signing_alg none", inAuthgate("signing_alg none"), `unsupported algorithm "none"`},
		{"token_lifetime negative", inAuthgate("token_lifetime -5s"), `token_lifetime: duration "-5s" must be positive`},
		{"token_lifetime bad", inAuthgate("token_lifetime soon"), `token_lifetime: invalid duration "soon"`},
		{"token_lifetime none", inAuthgate("token_lifetime"), "wrong argument count"},
		{"session_lifetime zero", inAuthgate("session_lifetime 0"), `session_lifetime: duration "0" must be positive`},
		{"email no args", inAuthgate("email"), "wrong argument count"},
		{"email sender", inAuthgate("email ses"), `email: unknown sender "ses" (want smtp or log)`},
		{"email twice", inAuthgate("email log", "email log"), "subdirective 'email' given more than once, at Testfile:3"},
		{"email log args", inAuthgate("email log x"), "wrong argument count"},
		{"email log block", inAuthgate("email log {", "\tfrom a@b.example", "}"), "email log takes no block"},
		{"email smtp no block", inAuthgate("email smtp"), "email smtp: address and from are required, at Testfile:2"},
		{"email smtp no from", inAuthgate("email smtp {", "\taddress h:25", "}"), "email smtp: address and from are required"},
		{"email smtp port", inAuthgate("email smtp {", "\taddress h:smtp", "}"), `email smtp: address: "h:smtp" has an invalid port`},
		{"email smtp port range", inAuthgate("email smtp {", "\taddress h:70000", "}"), "has an invalid port"},
		{"email smtp from", inAuthgate("email smtp {", "\tfrom <nobody>", "}"), `email smtp: from: "<nobody>" is not an email address`},
		{"email smtp tls", inAuthgate("email smtp {", "\ttls STARTTLS", "}"), `email smtp: tls: unknown mode "STARTTLS"`},
		{"email smtp tls twice", inAuthgate("email smtp {", "\ttls none", "\ttls none", "}"), "subdirective 'tls' given more than once, at Testfile:4"},
		{"email smtp username alone", inAuthgate("email smtp {", "\taddress h:25", "\tfrom a@b.example", "\tusername u", "}"), "email smtp: username and password must be given together, at Testfile:2"},
		{"email smtp password alone", inAuthgate("email smtp {", "\taddress h:25", "\tfrom a@b.example", "\tpassword p", "}"), "username and password must be given together"},
		{"email smtp username args", inAuthgate("email smtp {", "\tusername", "}"), "wrong argument count"},
		{"email smtp unknown", inAuthgate("email smtp {", "\tport 25", "}"), "unrecognized subdirective 'port', at Testfile:3"},
		{"sms no args", inAuthgate("sms"), "wrong argument count"},
		{"sms sender", inAuthgate("sms vonage"), `sms: unknown sender "vonage" (want webhook, twilio or log)`},
		{"sms twice", inAuthgate("sms log", "sms webhook http://h/x"), "subdirective 'sms' given more than once"},
		{"sms webhook no url", inAuthgate("sms webhook"), "wrong argument count"},
		{"sms webhook relative", inAuthgate("sms webhook /sms"), "sms webhook: the URL must be absolute with scheme http or https and a host"},
		{"sms webhook block", inAuthgate("sms webhook http://h/x {", "\tx y", "}"), "sms webhook takes no block"},
		{"sms twilio args", inAuthgate("sms twilio AC1 {", "}"), "wrong argument count"},
		{"sms twilio empty", inAuthgate("sms twilio"), "sms twilio: account_sid, auth_token and from are required, at Testfile:2"},
		{"sms twilio from", inAuthgate("sms twilio {", "\tfrom +0123", "}"), `sms twilio: from: "+0123" is not an E.164 phone number`},
		{"sms twilio base_url", inAuthgate("sms twilio {", "\tbase_url twilio", "}"), "sms twilio: base_url: the URL must be absolute"},
		{"sms twilio auth_token twice", inAuthgate("sms twilio {", "\tauth_token a", "\tauth_token b", "}"), "subdirective 'auth_token' given more than once"},
		{"sms twilio unknown", inAuthgate("sms twilio {", "\tmessaging_service MG1", "}"), "unrecognized subdirective 'messaging_service'"},
		{"password args", inAuthgate("password strong"), "wrong argument count"},
		{"password twice", inAuthgate("password {", "}", "password {", "}"), "subdirective 'password' given more than once"},
		{"password min_length low", inAuthgate("password {", "\tmin_length 7", "}"), "password: min_length: 7 is out of range [8, 256]"},
		{"password min_length high", inAuthgate("password {", "\tmin_length 257", "}"), "password: min_length: 257 is out of range [8, 256]"},
		{"password min_length nan", inAuthgate("password {", "\tmin_length eight", "}"), `password: min_length: "eight" is not an integer`},
		{"password breach none", inAuthgate("password {", "\tbreach", "}"), "wrong argument count"},
		{"password breach source", inAuthgate("password {", "\tbreach on", "}"), `password: breach: unknown source "on"`},
		{"password breach off extra", inAuthgate("password {", "\tbreach off now", "}"), "wrong argument count"},
		{"password breach common extra", inAuthgate("password {", "\tbreach common x", "}"), "wrong argument count"},
		{"password breach hibp extra", inAuthgate("password {", "\tbreach hibp https://a.example x", "}"), "wrong argument count"},
		{"password breach hibp url", inAuthgate("password {", "\tbreach hibp a.example", "}"), "password: breach hibp: the URL must be absolute"},
		{"password breach file none", inAuthgate("password {", "\tbreach file", "}"), "wrong argument count"},
		{"password breach twice", inAuthgate("password {", "\tbreach off", "\tbreach common", "}"), "subdirective 'breach' given more than once, at Testfile:4"},
		{"password breach_on_sign_in", inAuthgate("password {", "\tbreach_on_sign_in true", "}"), `password: breach_on_sign_in: "true" is neither on nor off`},
		{"password breach_on_error", inAuthgate("password {", "\tbreach_on_error fail", "}"), `password: breach_on_error: unknown policy "fail"`},
		{"password unknown", inAuthgate("password {", "\tmax_length 64", "}"), "unrecognized subdirective 'max_length'"},
		{"code_ttl zero", inAuthgate("code_ttl 0s"), `code_ttl: duration "0s" must be positive`},
		{"code_ttl long", inAuthgate("code_ttl 25h"), `code_ttl: "25h" is longer than 24h0m0s`},
		{"code_max_attempts zero", inAuthgate("code_max_attempts 0"), "code_max_attempts: 0 is out of range [1, 5]"},
		{"code_max_attempts high", inAuthgate("code_max_attempts 6"), "code_max_attempts: 6 is out of range [1, 5]"},
		{"code_max_attempts extra", inAuthgate("code_max_attempts 3 4"), "wrong argument count"},
		{"enumeration_protection", inAuthgate("enumeration_protection disabled"), `enumeration_protection: "disabled" is neither on nor off`},
		{"enumeration_protection none", inAuthgate("enumeration_protection"), "wrong argument count"},
		{"lockout one arg", inAuthgate("lockout 10"), "wrong argument count"},
		{"lockout three args", inAuthgate("lockout 10 1h 2h"), "wrong argument count"},
		{"lockout zero", inAuthgate("lockout 0 1h"), "lockout: attempts: 0 is out of range [1, 100]"},
		{"lockout over checklist cap", inAuthgate("lockout 101 1h"), "lockout: attempts: 101 is out of range [1, 100]"},
		{"lockout duration", inAuthgate("lockout 10 0s"), `lockout: duration: duration "0s" must be positive`},
		{"lockout twice", inAuthgate("lockout 10 1h", "lockout 5 1h"), "subdirective 'lockout' given more than once"},
	}
	runErrCases(t, tests, parseError(func() caddyfile.Unmarshaler { return new(App) }))
}

// TestCaddyfileErrorsDoNotEchoSecrets checks that errors about secret
// values (SMTP password, Twilio token, credentials inside URLs) never show
// those values.
func TestCaddyfileErrorsDoNotEchoSecrets(t *testing.T) {
	const secret = "s3cr3tvalue"
	inputs := []string{
		inAuthgate("email smtp {", "\tpassword "+secret+" "+secret, "}"),
		inAuthgate("email smtp {", "\tpassword "+secret+" {", "\t}", "}"),
		inAuthgate("sms twilio {", "\tauth_token "+secret+" "+secret, "}"),
		inAuthgate("storage redis http://:" + secret + "@127.0.0.1:6379"),
		inAuthgate("storage redis rediss://:" + secret + "@"),
		inAuthgate("storage redis redis://:" + secret + "@host:bad%port"),
		inAuthgate("sms webhook ftp://" + secret + "@h/x"),
		inAuthgate("sms twilio {", "\tbase_url ftp://"+secret+"@h", "}"),
		inAuthgate("password {", "\tbreach hibp ftp://"+secret+"@h", "}"),
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
		{"unknown", inAuthgate("upstream x"), "unrecognized subdirective 'upstream', at Testfile:2"},
		{"prefix none", inAuthgate("prefix"), "wrong argument count"},
		{"prefix root", inAuthgate("prefix /"), `prefix: "/" must start with / and name a path below the root`},
		{"prefix relative", inAuthgate("prefix auth"), `prefix: "auth" must start with /`},
		{"prefix trailing slash", inAuthgate("prefix /auth/"), `prefix: "/auth/" must not end with /, at Testfile:2`},
		{"prefix double slash", inAuthgate("prefix /a//b"), "has an empty, . or .. path segment"},
		{"prefix dot dot", inAuthgate("prefix /a/../b"), "has an empty, . or .. path segment"},
		{"prefix wildcard", inAuthgate("prefix /auth*"), "must be a plain path"},
		{"prefix query", inAuthgate("prefix /auth?x"), "must be a plain path"},
		{"prefix placeholder", inAuthgate("prefix /{env.P}"), "must be a plain path"},
		{"prefix twice", inAuthgate("prefix /a", "prefix /b"), "subdirective 'prefix' given more than once, at Testfile:3"},
		{"sign_in_url scheme-relative", inAuthgate("sign_in_url //evil.example"), `sign_in_url: "//evil.example" is a scheme-relative URL`},
		{"sign_in_url backslash", inAuthgate("sign_in_url /\\evil.example"), "holds spaces, control characters or backslashes"},
		{"sign_in_url scheme", inAuthgate("sign_in_url javascript:alert(1)"), "must be a path starting with / or an absolute http or https URL"},
		{"sign_in_url relative", inAuthgate("sign_in_url sign-in"), "must be a path starting with /"},
		{"sign_in_url userinfo", inAuthgate("sign_in_url https://a@evil.example/"), "must not hold user info"},
		{"sign_in_url twice", inAuthgate("sign_in_url /a", "sign_in_url /b"), "subdirective 'sign_in_url' given more than once"},
		{"after_sign_in_url", inAuthgate("after_sign_in_url https:evil.example"), `after_sign_in_url: "https:evil.example" must be a path starting with /`},
		{"after_sign_in_url twice", inAuthgate("after_sign_in_url /", "after_sign_in_url /x"), "subdirective 'after_sign_in_url' given more than once"},
		{"task_url one arg", inAuthgate("task_url reset-password"), "wrong argument count"},
		{"task_url three args", inAuthgate("task_url reset-password /a /b"), "wrong argument count"},
		{"task_url key", inAuthgate("task_url reset--password /a"), `task_url: invalid task key "reset--password"`},
		{"task_url key upper", inAuthgate("task_url RESET /a"), `task_url: invalid task key "RESET"`},
		{"task_url target", inAuthgate("task_url reset-password //evil.example"), `task_url reset-password: "//evil.example" is a scheme-relative URL`},
		{"task_url same key", inAuthgate("task_url reset-password /a", "task_url setup-mfa /m", "task_url reset-password /b"), `task_url: task "reset-password" given more than once, at Testfile:4`},
		{"public none", inAuthgate("public"), "wrong argument count"},
		{"public relative", inAuthgate("public /ok assets/*"), `public: "assets/*" must start with /`},
		{"public inner star", inAuthgate("public /a/*.css"), `public: "/a/*.css" may hold * only at its end`},
		{"public query", inAuthgate("public /a?b"), "must be a plain path"},
		{"public block", inAuthgate("public /a {", "\tx", "}"), "public takes no block"},
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
