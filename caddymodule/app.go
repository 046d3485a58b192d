package caddymodule

import (
	"github.com/caddyserver/caddy/v2"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the authgate app: the state all sites share (one user base, one
// store, one signing key set). It is configured by the `authgate` global
// option; without one, every field takes its default.
type App struct {
	// Storage selects the backend. Default: the embedded bbolt file.
	Storage *StorageConfig `json:"storage,omitempty"`
	// Issuer is the JWT `iss`. Default: the request's origin.
	Issuer string `json:"issuer,omitempty"`
	// SigningAlg is RS256, EdDSA or ES256. Default: RS256.
	SigningAlg string `json:"signing_alg,omitempty"`
	// TokenLifetime is the lifetime of a session JWT. Default: 60s.
	TokenLifetime caddy.Duration `json:"token_lifetime,omitempty"`
	// SessionLifetime is the maximum lifetime of a session. Default: 168h.
	SessionLifetime caddy.Duration `json:"session_lifetime,omitempty"`
	// Email selects the email sender. Default: log.
	Email *EmailConfig `json:"email,omitempty"`
	// SMS selects the SMS sender. Default: log.
	SMS *SMSConfig `json:"sms,omitempty"`
	// Password holds the password rules.
	Password *PasswordConfig `json:"password,omitempty"`
	// CodeTTL is how long a verification code is valid. Default: 10m.
	CodeTTL caddy.Duration `json:"code_ttl,omitempty"`
	// CodeMaxAttempts is how many wrong tries a code allows. Default: 5.
	CodeMaxAttempts int `json:"code_max_attempts,omitempty"`
	// EnumerationProtection hides whether an identifier exists. Default: true.
	EnumerationProtection *bool `json:"enumeration_protection,omitempty"`
	// Lockout locks an account after repeated failed sign-ins.
	// Default: 10 attempts, 1h.
	Lockout *LockoutConfig `json:"lockout,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "authgate",
		New: func() caddy.Module { return new(App) },
	}
}

// Start implements caddy.App.
func (a *App) Start() error { return nil }

// Stop implements caddy.App.
func (a *App) Stop() error { return nil }

// Interface guards
var (
	_ caddy.App = (*App)(nil)
)
