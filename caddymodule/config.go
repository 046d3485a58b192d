package caddymodule

import "github.com/caddyserver/caddy/v2"

// StorageConfig selects where authgate keeps its state.
type StorageConfig struct {
	// Backend is "file" (embedded bbolt) or "redis". Default: file.
	Backend string `json:"backend,omitempty"`
	// Path of the bbolt file for the file backend.
	// Default: <caddy data dir>/authgate/authgate.db
	Path string `json:"path,omitempty"`
	// URL of the Redis server for the redis backend: redis://, rediss://,
	// redis+sentinel:// or redis+cluster:// (see the README). Placeholders
	// such as {env.REDIS_URL} are expanded.
	URL string `json:"url,omitempty"`
}

// EmailConfig selects how emails (codes and notices) are delivered.
type EmailConfig struct {
	// Sender is "smtp" or "log". Default: log.
	Sender string `json:"sender,omitempty"`
	// Address is the SMTP server's host:port.
	Address string `json:"address,omitempty"`
	// From is the sender address, optionally with a display name.
	From string `json:"from,omitempty"`
	// TLS is "none", "starttls" or "implicit". Default: starttls.
	TLS string `json:"tls,omitempty"`
	// Username for SMTP authentication. Placeholders are expanded.
	Username string `json:"username,omitempty"`
	// Password for SMTP authentication. Placeholders are expanded.
	Password string `json:"password,omitempty"`
}

// SMSConfig selects how text messages are delivered.
type SMSConfig struct {
	// Sender is "webhook", "twilio" or "log". Default: log.
	Sender string `json:"sender,omitempty"`
	// URL of the webhook (POST application/json {"to","body"}).
	URL string `json:"url,omitempty"`
	// AccountSID of the Twilio account.
	AccountSID string `json:"account_sid,omitempty"`
	// AuthToken of the Twilio account. Placeholders are expanded.
	AuthToken string `json:"auth_token,omitempty"`
	// From is the sending phone number (E.164) for Twilio.
	From string `json:"from,omitempty"`
	// BaseURL of the Twilio API. Default: https://api.twilio.com
	BaseURL string `json:"base_url,omitempty"`
}

// BreachConfig selects the breached-password source.
type BreachConfig struct {
	// Source is "common" (embedded list of common passwords), "hibp",
	// "file" or "off". Default: common.
	Source string `json:"source,omitempty"`
	// URL of the Pwned Passwords range API for hibp.
	// Default: https://api.pwnedpasswords.com
	URL string `json:"url,omitempty"`
	// Path of the offline index for file (built by `caddy authgate breach build`).
	Path string `json:"path,omitempty"`
}

// PasswordConfig holds the password rules.
type PasswordConfig struct {
	// MinLength is the minimum length in Unicode code points. Default: 8.
	MinLength int `json:"min_length,omitempty"`
	// Breach selects the breached-password check.
	Breach *BreachConfig `json:"breach,omitempty"`
	// BreachOnSignIn refuses a correct but breached password at sign-in
	// with form_password_pwned. Default: false.
	BreachOnSignIn bool `json:"breach_on_sign_in,omitempty"`
	// BreachOnError is what happens when the breach source cannot answer:
	// "refuse" (503, the password is not set) or "accept". Default: refuse.
	BreachOnError string `json:"breach_on_error,omitempty"`
}

// LockoutConfig locks an account after repeated failures.
type LockoutConfig struct {
	// Attempts is the number of failed attempts that locks the account. Default: 10.
	Attempts int `json:"attempts,omitempty"`
	// Duration of the lock. Default: 1h.
	Duration caddy.Duration `json:"duration,omitempty"`
}

// MFAConfig selects the second factors (the `mfa` block). Unset fields
// take their defaults.
type MFAConfig struct {
	// TOTP offers authenticator apps (RFC 6238). Default: true.
	TOTP *bool `json:"totp,omitempty"`
	// BackupCodes offers 10 single-use backup codes. Default: true.
	BackupCodes *bool `json:"backup_codes,omitempty"`
	// PhoneCode offers SMS codes as a second factor. Default: false.
	PhoneCode *bool `json:"phone_code,omitempty"`
	// Required gives a user without a second factor the setup-mfa task.
	// Default: false.
	Required *bool `json:"required,omitempty"`
	// Issuer is the name authenticator apps show. Default: app_name.
	Issuer string `json:"issuer,omitempty"`
}

// SignUpConfig turns self-service sign-up on (the `sign_up` block; a bare
// `sign_up` is `{}`): its presence is what turns it on, and unset fields
// take their defaults. Without it, sign-up is off.
type SignUpConfig struct {
	// Identifiers are what a new user signs up with and verifies by a
	// code: "email" and/or "phone". Default: email.
	Identifiers []string `json:"identifiers,omitempty"`
	// Username is whether a username is asked for: "off", "optional" or
	// "required". Default: off.
	Username string `json:"username,omitempty"`
	// PhoneCountries are the ISO 3166-1 alpha-2 regions (case-insensitive)
	// an SMS sign-up may go to. Only with phone among Identifiers.
	// Default: none (no phone sign-up at all).
	PhoneCountries []string `json:"phone_countries,omitempty"`
}
