package caddymodule

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/authgate/authgate/internal/defaults"
	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/signup"
	"github.com/authgate/authgate/users"
)

// This file fills in what a configuration leaves out, in one place: the
// values are internal/defaults' (DESIGN §4), plus the two that depend on
// Caddy (the storage file in Caddy's data directory) or on another field
// (sign_in_url below the prefix). Provision applies them; Validate, which
// Caddy runs after Provision, then checks what will be used.

// applyDefaults fills every field of the app that the configuration left
// out.
func (a *App) applyDefaults() {
	if a.Storage == nil {
		a.Storage = new(StorageConfig)
	}
	setDefault(&a.Storage.Backend, "file")
	if a.Storage.Backend == "file" {
		setDefault(&a.Storage.Path, filepath.Join(caddy.AppDataDir(), "authgate", "authgate.db"))
	}
	setDefault(&a.SigningAlg, defaults.SigningAlg)
	setDefault(&a.TokenLifetime, caddy.Duration(defaults.TokenLifetime))
	setDefault(&a.SessionLifetime, caddy.Duration(defaults.SessionLifetime))
	if a.Email == nil {
		a.Email = new(EmailConfig)
	}
	setDefault(&a.Email.Sender, "log")
	if a.SMS == nil {
		a.SMS = new(SMSConfig)
	}
	setDefault(&a.SMS.Sender, "log")
	a.Password = passwordDefaults(a.Password)
	setDefault(&a.CodeTTL, caddy.Duration(defaults.CodeTTL))
	setDefault(&a.CodeMaxAttempts, defaults.CodeMaxAttempts)
	if a.EnumerationProtection == nil {
		on := defaults.EnumerationProtection
		a.EnumerationProtection = &on
	}
	if a.Lockout == nil {
		a.Lockout = new(LockoutConfig)
	}
	setDefault(&a.Lockout.Attempts, defaults.LockoutAttempts)
	setDefault(&a.Lockout.Duration, caddy.Duration(defaults.LockoutDuration))
	setDefault(&a.AppName, defaults.AppName)
	a.MFA = mfaDefaults(a.MFA, a.AppName)
	// No sign_up stays nil: sign-up off.
	if a.SignUp != nil {
		a.SignUp = signUpDefaults(a.SignUp)
	}
}

// signUpKinds are the identifier kinds of the sign_up block's words.
var signUpKinds = map[string]users.Kind{"email": users.KindEmail, "phone": users.KindPhone}

// signUpDefaults returns a copy of s with its defaults: email as the one
// identifier, no username, and the phone countries upper-cased. No phone
// country is added: none is the default.
func signUpDefaults(s *SignUpConfig) *SignUpConfig {
	c := *s
	if len(c.Identifiers) == 0 {
		c.Identifiers = []string{defaults.SignUpIdentifier}
	}
	setDefault(&c.Username, defaults.SignUpUsername)
	c.PhoneCountries = upperAll(c.PhoneCountries)
	return &c
}

// upperAll upper-cases each region code (us is US) into a new slice.
func upperAll(codes []string) []string {
	if codes == nil {
		return nil
	}
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = strings.ToUpper(c)
	}
	return out
}

// resolved is the sign-up configuration the services get: off (the zero
// signup.Config) without a sign_up block, else the block with its
// defaults.
func (s *SignUpConfig) resolved() signup.Config {
	if s == nil {
		return signup.Config{}
	}
	full := signUpDefaults(s)
	kinds := make([]users.Kind, 0, len(full.Identifiers))
	for _, w := range full.Identifiers {
		kinds = append(kinds, signUpKinds[w])
	}
	return signup.Config{
		Enabled: true, Identifiers: kinds, Username: signup.Username(full.Username),
		PhoneCountries: full.PhoneCountries,
	}
}

// mfaDefaults returns m (or a new config) with every field set: TOTP and
// backup codes on, SMS codes off, not required, the app's name (without
// ':') as issuer.
func mfaDefaults(m *MFAConfig, appName string) *MFAConfig {
	if m == nil {
		m = new(MFAConfig)
	}
	for _, f := range []struct {
		field **bool
		on    bool
	}{
		{&m.TOTP, defaults.MFATOTP}, {&m.BackupCodes, defaults.MFABackupCodes},
		{&m.PhoneCode, defaults.MFAPhoneCode}, {&m.Required, defaults.MFARequired},
	} {
		if *f.field == nil {
			on := f.on
			*f.field = &on
		}
	}
	// An otpauth label is "issuer:account": a ':' in the app's name would
	// split it in the wrong place.
	setDefault(&m.Issuer, strings.ReplaceAll(appName, ":", ""))
	return m
}

// resolved is the second-factor configuration the services get, with the
// defaults for what m leaves out.
func (m *MFAConfig) resolved() *mfa.Config {
	full := mfaDefaults(cloneMFA(m), defaults.AppName)
	return &mfa.Config{
		TOTP: *full.TOTP, BackupCodes: *full.BackupCodes, PhoneCode: *full.PhoneCode,
		Required: *full.Required, Issuer: full.Issuer,
	}
}

// cloneMFA copies m (nil stays nil), so that resolving never changes the
// configuration Caddy holds.
func cloneMFA(m *MFAConfig) *MFAConfig {
	if m == nil {
		return nil
	}
	c := *m
	return &c
}

// passwordDefaults returns p (or a new config) with its defaults: the
// minimum length, the embedded common-password list, and refusing a new
// password when the breach source cannot answer.
func passwordDefaults(p *PasswordConfig) *PasswordConfig {
	if p == nil {
		p = new(PasswordConfig)
	}
	setDefault(&p.MinLength, defaults.MinLength)
	setDefault(&p.BreachOnError, defaults.BreachOnError)
	if p.Breach == nil {
		p.Breach = new(BreachConfig)
	}
	setDefault(&p.Breach.Source, "common")
	return p
}

// applyDefaults fills every field of the site that the configuration
// left out.
func (h *Handler) applyDefaults() {
	setDefault(&h.Prefix, defaults.Prefix)
	setDefault(&h.SignInURL, h.Prefix+defaults.SignInPath)
	setDefault(&h.AfterSignInURL, defaults.AfterSignInURL)
}

// lifetimes returns the token and session lifetimes that will be used.
func (a *App) lifetimes() (token, session time.Duration) {
	token, session = time.Duration(a.TokenLifetime), time.Duration(a.SessionLifetime)
	setDefault(&token, defaults.TokenLifetime)
	setDefault(&session, defaults.SessionLifetime)
	return token, session
}

// setDefault sets *field to v when it is zero.
func setDefault[T comparable](field *T, v T) {
	var zero T
	if *field == zero {
		*field = v
	}
}
