package signup

import (
	"time"

	"github.com/authgate/authgate/internal/defaults"
	"github.com/authgate/authgate/users"
)

// Username says whether a sign-up asks for a username (the Caddyfile's
// `username off|optional|required`).
type Username string

// Username requirements.
const (
	UsernameOff      Username = "off"
	UsernameOptional Username = "optional"
	UsernameRequired Username = "required"
)

// Config is what the Caddyfile's sign_up block says. The zero value is
// sign-up off: legacy apps keep admin-made accounts, and every sign-up
// endpoint answers 403 sign_up_disabled.
type Config struct {
	// Enabled turns sign-up on (a `sign_up` line or block).
	Enabled bool
	// Identifiers are what a new user signs up with and verifies:
	// users.KindEmail and/or users.KindPhone (default: email alone).
	Identifiers []users.Kind
	// Username is whether a username is asked for (default: off).
	Username Username
	// PhoneCountries are the ISO 3166-1 alpha-2 regions (upper case) an
	// SMS sign-up may go to. None (the default) allows no phone sign-up,
	// even with phone among Identifiers: an open SMS sign-up is what SMS
	// pumping fraud feeds on, so the operator names the countries.
	PhoneCountries []string

	// Limits are the code rules and rate limits (zero: the defaults).
	Limits Limits
}

// Limits are sign-up's rate limits and code rules; zero fields take the
// internal/defaults values.
type Limits struct {
	CodeTTL         time.Duration
	CodeMaxAttempts int
	ResendAfter     time.Duration
	AttemptLifetime time.Duration
	// SendsPerIdentifier and SendsPerIP bound code sends per SendWindow.
	SendsPerIdentifier int
	SendsPerIP         int
	SendWindow         time.Duration
	// CreatesPerIP and AttemptsPerIP bound requests per IP per
	// RequestWindow (Clerk: 5 creates and 3 attempt_verification per 10 s).
	CreatesPerIP  int
	AttemptsPerIP int
	RequestWindow time.Duration
	// FailuresPerIdentifier is the wrong codes an address or number may
	// take over all its sign-up attempts per FailureWindow.
	FailuresPerIdentifier int
	FailureWindow         time.Duration
	// SMSPerIPPerCountry and SMSPerCountry bound SMS sends per SMSWindow:
	// to one country from one IP, and to one country from everyone.
	SMSPerIPPerCountry int
	SMSPerCountry      int
	// SMSPerPrefix bounds SMS sends to one number range (all but the
	// last 4 digits) per SMSWindow.
	SMSPerPrefix int
	SMSWindow    time.Duration
}

// fill sets the defaults of the zero fields.
func (c *Config) fill() {
	if len(c.Identifiers) == 0 {
		c.Identifiers = []users.Kind{users.KindEmail}
	}
	if c.Username == "" {
		c.Username = UsernameOff
	}
	l := &c.Limits
	defaults.Set(&l.CodeTTL, defaults.CodeTTL)
	defaults.Set(&l.CodeMaxAttempts, defaults.CodeMaxAttempts)
	defaults.Set(&l.ResendAfter, defaults.ResendAfter)
	defaults.Set(&l.AttemptLifetime, defaults.SignUpLifetime)
	defaults.Set(&l.SendsPerIdentifier, defaults.SendsPerIdentifier)
	defaults.Set(&l.SendsPerIP, defaults.SendsPerIP)
	defaults.Set(&l.SendWindow, defaults.SendWindow)
	defaults.Set(&l.CreatesPerIP, defaults.SignUpCreatesPerIP)
	defaults.Set(&l.AttemptsPerIP, defaults.SignUpAttemptsPerIP)
	defaults.Set(&l.RequestWindow, defaults.SignUpRequestWindow)
	defaults.Set(&l.FailuresPerIdentifier, defaults.SignUpFailuresPerIdentifier)
	defaults.Set(&l.FailureWindow, defaults.SignUpFailureWindow)
	defaults.Set(&l.SMSPerIPPerCountry, defaults.SignUpSMSPerIPPerCountry)
	defaults.Set(&l.SMSPerCountry, defaults.SignUpSMSPerCountry)
	defaults.Set(&l.SMSPerPrefix, defaults.SignUpSMSPerPrefix)
	defaults.Set(&l.SMSWindow, defaults.SignUpSMSWindow)
}

// Allows reports whether a new user may sign up with an identifier of
// kind k.
func (c Config) Allows(k users.Kind) bool {
	for _, x := range c.Identifiers {
		if x == k {
			return true
		}
	}
	return false
}
