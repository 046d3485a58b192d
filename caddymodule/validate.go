package caddymodule

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/authgate/authgate/handlers"
	"github.com/authgate/authgate/internal/seal"
	"github.com/caddyserver/caddy/v2"
)

// This file holds every check of the configuration, once (made of the
// value checks in validate_values.go). (*App).Validate and
// (*Handler).Validate run them for JSON configs, and the Caddyfile
// parsers run Validate when they are done: the parsers themselves only
// check the grammar (arguments, blocks, keywords, repeats) and turn words
// into values. They also refuse what a JSON config cannot carry (an empty
// word, a zero or negative number: JSON reads zero as unset), with the
// messages of the checks below.

// Limits enforced on configuration values. They follow the security
// checklist: at most 100 failed sign-ins before lockout (C-14), at most 5
// wrong tries per code (C-23), email codes valid at most 24 h (C-20),
// passwords of at least 8 and at most 256 code points (D-1, N-2).
var (
	passwordMinLengths = intRange{8, 256}
	codeMaxAttempts    = intRange{1, 5}
	lockoutAttempts    = intRange{1, 100}
)

const (
	maxCodeTTL = 24 * time.Hour
	// maxAppNameLen is what notify accepts in a message subject.
	maxAppNameLen = 100
)

// Values accepted by the enumerated settings.
var (
	storageBackends = oneOf{"unknown backend", []string{"file", "redis"}}
	signingAlgs     = oneOf{"unsupported algorithm", []string{"RS256", "EdDSA", "ES256"}}
	emailSenders    = oneOf{"unknown sender", []string{"smtp", "log"}}
	smtpTLSModes    = oneOf{"unknown mode", []string{"none", "starttls", "implicit"}}
	smsSenders      = oneOf{"unknown sender", []string{"webhook", "twilio", "log"}}
	breachSources   = oneOf{"unknown source", []string{"hibp", "file", "common", "off"}}
	breachOnErrors  = oneOf{"unknown policy", []string{"refuse", "accept"}}
	signUpIdents    = oneOf{"unknown identifier", []string{"email", "phone"}}
	signUpUsernames = oneOf{"unknown username mode", []string{"off", "optional", "required"}}
)

// fieldError is an error of Validate about one field of the
// configuration, named by its path of JSON keys ("email.address",
// "task_urls.reset-password", "public.2"). The Caddyfile parsers report it
// at the line that set the field (see positions).
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

// fieldErrorf returns a fieldError about field.
func fieldErrorf(field, format string, args ...any) error {
	return &fieldError{field: field, err: fmt.Errorf(format, args...)}
}

// block is the check of an optional block of the configuration: one
// left out (nil) has nothing to check.
func block[T any](b *T, check func(*T) error) func() error {
	return func() error {
		if b == nil {
			return nil
		}
		return check(b)
	}
}

// firstError runs the checks in order and returns the first error.
func firstError(checks ...func() error) error {
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// valueCheck is the check of one string field that may be unset.
type valueCheck struct {
	field string // as in fieldError
	label string // starts the message
	value string // "" (unset) is not checked
	check func(string) error
}

// checkValues runs the checks of the set values in order.
func checkValues(checks ...valueCheck) error {
	for _, c := range checks {
		if c.value == "" {
			continue
		}
		if err := c.check(c.value); err != nil {
			return fieldErrorf(c.field, "%s: %w", c.label, err)
		}
	}
	return nil
}

// check checks the storage backend and its path or URL.
func (s *StorageConfig) check() error {
	return checkChoice("storage", s.Backend, storageBackends, map[string]func() error{
		"file": func() error {
			if s.Path != "" && strings.TrimSpace(s.Path) == "" {
				return fieldErrorf("storage", "storage file: the path is empty")
			}
			return nil
		},
		"redis": func() error {
			if err := validateRedisURL(s.URL); err != nil {
				return fieldErrorf("storage", "storage redis: %w", err)
			}
			return nil
		},
	})
}

// checkChoice checks the word of field that picks one of o (unset: the
// default, checked as given), then runs the checks of the settings that
// go with the picked one, if it has any.
func checkChoice(field, word string, o oneOf, settings map[string]func() error) error {
	if err := checkValues(valueCheck{field, field, word, o.check}); err != nil {
		return err
	}
	if check := settings[word]; check != nil {
		return check()
	}
	return nil
}

// checkTokens checks the issuer, the signing algorithm and the lifetimes.
func (a *App) checkTokens() error {
	err := checkValues(
		valueCheck{"issuer", "issuer", a.Issuer, validateIssuer},
		valueCheck{"signing_alg", "signing_alg", a.SigningAlg, signingAlgs.check},
	)
	if err == nil {
		err = checkPositive("token_lifetime", "token_lifetime", a.TokenLifetime)
	}
	if err == nil {
		err = checkPositive("session_lifetime", "session_lifetime", a.SessionLifetime)
	}
	if err != nil {
		return err
	}
	// Compared as they will be used, so that a lifetime left to its
	// default counts too.
	if tl, sl := a.lifetimes(); tl > sl {
		return fieldErrorf("token_lifetime", "token_lifetime must not exceed session_lifetime (%s > %s)",
			formatDuration(tl), formatDuration(sl))
	}
	return nil
}

// check checks the email sender: for smtp each field, then that
// address and from are there and that username and password go together.
func (e *EmailConfig) check() error {
	return checkChoice("email", e.Sender, emailSenders, map[string]func() error{"smtp": e.checkSMTP})
}

func (e *EmailConfig) checkSMTP() error {
	err := checkValues(
		valueCheck{"email.address", "email smtp: address", e.Address, validateHostPort},
		valueCheck{"email.from", "email smtp: from", e.From, validateMailbox},
		valueCheck{"email.tls", "email smtp: tls", e.TLS, smtpTLSModes.check},
	)
	switch {
	case err != nil:
		return err
	case e.Address == "" || e.From == "":
		return fieldErrorf("email", "email smtp: address and from are required")
	case (e.Username == "") != (e.Password == ""):
		return fieldErrorf("email", "email smtp: username and password must be given together")
	}
	return nil
}

// check checks the SMS sender: the webhook URL, or for twilio each
// field and then that account_sid, auth_token and from are there.
func (s *SMSConfig) check() error {
	return checkChoice("sms", s.Sender, smsSenders, map[string]func() error{
		"webhook": func() error {
			if err := validateHTTPURL(s.URL); err != nil {
				return fieldErrorf("sms", "sms webhook: %w", err)
			}
			return nil
		},
		"twilio": s.checkTwilio,
	})
}

func (s *SMSConfig) checkTwilio() error {
	err := checkValues(
		valueCheck{"sms.from", "sms twilio: from", s.From, validateE164},
		valueCheck{"sms.base_url", "sms twilio: base_url", s.BaseURL, validateHTTPURL},
	)
	if err != nil {
		return err
	}
	if s.AccountSID == "" || s.AuthToken == "" || s.From == "" {
		return fieldErrorf("sms", "sms twilio: account_sid, auth_token and from are required")
	}
	return nil
}

// check checks the password rules and the breach source.
func (p *PasswordConfig) check() error {
	if err := checkCount("password.min_length", "password: min_length", p.MinLength, passwordMinLengths); err != nil {
		return err
	}
	err := checkValues(valueCheck{"password.breach_on_error", "password: breach_on_error", p.BreachOnError, breachOnErrors.check})
	if err != nil || p.Breach == nil {
		return err
	}
	return p.Breach.check()
}

// check checks the breach source and its URL or index path.
func (b *BreachConfig) check() error {
	err := checkValues(
		valueCheck{"password.breach", "password: breach", b.Source, breachSources.check},
		valueCheck{"password.breach", "password: breach hibp", b.URL, validateHTTPURL},
	)
	if err != nil {
		return err
	}
	if b.Source == "file" && strings.TrimSpace(b.Path) == "" {
		return fieldErrorf("password.breach", "password: breach file: the index path is empty")
	}
	return nil
}

// checkCodes checks the lifetime and the tries of verification codes.
func (a *App) checkCodes() error {
	if err := checkPositive("code_ttl", "code_ttl", a.CodeTTL); err != nil {
		return err
	}
	if d := time.Duration(a.CodeTTL); d > maxCodeTTL {
		return fieldErrorf("code_ttl", "code_ttl: %q is longer than %s", formatDuration(d), maxCodeTTL)
	}
	return checkCount("code_max_attempts", "code_max_attempts", a.CodeMaxAttempts, codeMaxAttempts)
}

// check checks the lockout's attempts and duration.
func (l *LockoutConfig) check() error {
	if err := checkCount("lockout", "lockout: attempts", l.Attempts, lockoutAttempts); err != nil {
		return err
	}
	return checkPositive("lockout", "lockout: duration", l.Duration)
}

// checkAppName checks that the application's name fits on one line of a
// message subject.
func (a *App) checkAppName() error {
	if len(a.AppName) > maxAppNameLen || strings.ContainsAny(a.AppName, "\r\n") {
		return fieldErrorf("app_name", "app_name: want one line of 1 to %d bytes", maxAppNameLen)
	}
	return nil
}

// check checks the second factors: a required second factor needs a
// way to set one up (totp or phone_code on), and the issuer is what an
// otpauth URI can carry.
func (m *MFAConfig) check() error {
	if err := checkValues(valueCheck{"mfa.issuer", "mfa: issuer", m.Issuer, validateTOTPIssuer}); err != nil {
		return err
	}
	full := m.resolved()
	if full.Required && !full.TOTP && !full.PhoneCode {
		return fieldErrorf("mfa.required", "mfa: required needs totp or phone_code on (a user must be able to add a second factor)")
	}
	return nil
}

// checkURLs checks the prefix, sign_in_url, after_sign_in_url and the
// task URLs (in the order of their keys).
func (h *Handler) checkURLs() error {
	err := checkValues(
		valueCheck{"prefix", "prefix", h.Prefix, validatePrefix},
		valueCheck{"sign_in_url", "sign_in_url", h.SignInURL, validateRedirectTarget},
		valueCheck{"after_sign_in_url", "after_sign_in_url", h.AfterSignInURL, validateRedirectTarget},
	)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(h.TaskURLs))
	for k := range h.TaskURLs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := validateTaskKey(k); err != nil {
			return fieldErrorf("task_urls."+k, "task_url: %w", err)
		}
		if err := validateRedirectTarget(h.TaskURLs[k]); err != nil {
			return fieldErrorf("task_urls."+k, "task_url %s: %w", k, err)
		}
	}
	return nil
}

// checkPublic checks the public path patterns.
func (h *Handler) checkPublic() error {
	for i, p := range h.Public {
		if err := validatePublicPattern(p); err != nil {
			return fieldErrorf(publicField(i), "public: %w", err)
		}
	}
	return nil
}

// checkIdentityHeaders checks the names of the identity headers: each
// known, none twice.
func (h *Handler) checkIdentityHeaders() error {
	if err := handlers.CheckIdentityHeaders(h.IdentityHeaders); err != nil {
		return fieldErrorf("identity_headers", "identity_headers: %w", err)
	}
	return nil
}

// publicField names the i-th public pattern in a fieldError.
func publicField(i int) string { return "public." + strconv.Itoa(i) }

// checkCount checks an integer setting against its range (zero is unset).
func checkCount(field, label string, n int, r intRange) error {
	if n == 0 {
		return nil
	}
	if err := r.check(n); err != nil {
		return fieldErrorf(field, "%s: %w", label, err)
	}
	return nil
}

// checkPositive refuses a negative duration (zero is unset); label
// starts the message.
func checkPositive(field, label string, d caddy.Duration) error {
	if d >= 0 {
		return nil
	}
	return fieldErrorf(field, "%s: %w", label, errNotPositive(formatDuration(time.Duration(d))))
}

// checkEncryptionKey: each key is 32 bytes of base64 (or a placeholder,
// checked at Provision). The error never quotes a key.
func (a *App) checkEncryptionKey() error {
	for i, k := range a.EncryptionKey {
		if hasPlaceholder(k) {
			continue
		}
		if _, err := seal.ParseKey(k); err != nil {
			return fieldErrorf("encryption_key", "encryption_key %d: %v", i+1, err)
		}
	}
	return nil
}

// check checks the sign_up block: known identifiers and username
// mode, each identifier and country once, every country a region
// libphonenumber knows (ISO 3166-1 alpha-2, any case), and
// phone_countries only with phone among the identifiers: countries that
// no sign-up can use are a mistake, not a setting, so they are refused
// rather than ignored.
func (s *SignUpConfig) check() error {
	if err := checkWords("sign_up.identifiers", "sign_up: identifiers", s.Identifiers, signUpIdents.check); err != nil {
		return err
	}
	err := checkValues(valueCheck{"sign_up.username", "sign_up: username", s.Username, signUpUsernames.check})
	if err != nil {
		return err
	}
	codes := upperAll(s.PhoneCountries)
	if err := checkWords("sign_up.phone_countries", "sign_up: phone_countries", codes, validateRegion); err != nil {
		return err
	}
	if len(codes) > 0 && !slices.Contains(signUpDefaults(s).Identifiers, "phone") {
		return fieldErrorf("sign_up.phone_countries", "sign_up: phone_countries needs phone among the identifiers (identifiers email phone)")
	}
	return nil
}

// signUpWarning is what Provision logs about a sign_up block that is
// valid but likely not what was meant: phone sign-up with no country open
// to it (the default, so that SMS costs are opted into country by
// country).
func (s *SignUpConfig) signUpWarning() string {
	if s == nil || len(s.PhoneCountries) > 0 || !slices.Contains(s.Identifiers, "phone") {
		return ""
	}
	return "sign_up: phone is among the identifiers but phone_countries names no country, so every phone sign-up is refused"
}

// checkWords checks each word of a list with check and refuses a word
// given twice; field and label are as in valueCheck.
func checkWords(field, label string, words []string, check func(string) error) error {
	seen := make(map[string]bool, len(words))
	for _, w := range words {
		if err := check(w); err != nil {
			return fieldErrorf(field, "%s: %w", label, err)
		}
		if seen[w] {
			return fieldErrorf(field, "%s: %q given more than once", label, w)
		}
		seen[w] = true
	}
	return nil
}
