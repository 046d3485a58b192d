package signup

import "github.com/authgate/authgate/users"

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

// fill sets the defaults of the zero fields.
func (c *Config) fill() {
	if len(c.Identifiers) == 0 {
		c.Identifiers = []users.Kind{users.KindEmail}
	}
	if c.Username == "" {
		c.Username = UsernameOff
	}
	c.Limits.defaults()
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
