package caddymodule

import (
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/authgate/authgate/internal/defaults"
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
