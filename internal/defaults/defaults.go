// Package defaults is the one home of authgate's default settings: every
// value a Caddyfile may leave out (DESIGN §4 and §7) and the internal
// limits that go with them. caddymodule applies them to the configuration
// (caddymodule/defaults.go); the inner packages fall back to the same
// values for a zero field, so a test that builds a service by hand gets
// what a deployer gets.
package defaults

import "time"

// Site settings (the handler directive).
const (
	// Prefix is where the JSON API and pages are mounted.
	Prefix = "/__authgate"
	// AfterSignInURL is the landing page after sign-in.
	AfterSignInURL = "/"
	// SignInPath is the sign-in page under the prefix (sign_in_url).
	SignInPath = "/sign-in"
)

// Tokens and sessions.
const (
	// SigningAlg is what Clerk's SDKs verify.
	SigningAlg      = "RS256"
	TokenLifetime   = 60 * time.Second
	SessionLifetime = 168 * time.Hour
)

// Codes (DESIGN §7).
const (
	CodeTTL         = 10 * time.Minute
	CodeMaxAttempts = 5
	// ResendAfter is the shortest wait between two codes of one attempt.
	ResendAfter = 30 * time.Second
)

// Lockout and sign-in attempts.
const (
	LockoutAttempts = 10
	LockoutDuration = time.Hour
	// AttemptLifetime is how long a sign-in attempt may be continued.
	AttemptLifetime = time.Hour
	// DeviceLifetime is how long a client that signed in as a user keeps
	// its own password-failure budget for that user (OWASP device
	// cookies), so strangers locking the account do not lock it out.
	DeviceLifetime = 30 * 24 * time.Hour
)

// The code budget: one per account, shared by every code strategy. Past
// LockoutAttempts consecutive wrong codes, code verification waits
// CodeLockoutBase, doubling with each further wrong code up to
// CodeLockoutMax. With 6-digit codes that allows at most 20 guesses in
// the first day and 384 in a year while no right code clears the count
// (README, security notes).
const (
	CodeLockoutBase = time.Minute
	CodeLockoutMax  = 24 * time.Hour
	// CodeBudgetMemory is how long the count of wrong codes outlives its
	// last lock. It must be longer than about 19 days, or waiting for the
	// count to be forgotten (then 20 guesses in a day) would beat the
	// capped backoff (one guess a day).
	CodeBudgetMemory = 30 * 24 * time.Hour
)

// Throttles: code sends per identifier and per IP per SendWindow, and
// sign-in requests per IP per RequestWindow.
const (
	SendsPerIdentifier = 5
	SendsPerIP         = 30
	SendWindow         = 15 * time.Minute
	RequestsPerIP      = 30
	RequestWindow      = 10 * time.Second
)

// Passwords.
const (
	MinLength = 8
	// MinStrength is the lowest zxcvbn score (0-4) a new password may
	// have: 2 refuses what an online attacker guesses within about 10^6
	// tries ("password123456" scores 1).
	MinStrength = 2
	// HashQueue is how many hashing jobs may wait for a worker before
	// callers get 429.
	HashQueue = 64
	// BreachOnError is what a new password gets when the breach source
	// cannot answer: refuse (fail closed).
	BreachOnError = "refuse"
)

// AppName is the application's name on pages and in messages.
const AppName = "authgate"

// EnumerationProtection is on unless turned off.
const EnumerationProtection = true

// Second factors (the mfa block). Authenticator apps and backup codes are
// on, SMS codes as a second factor off (SMS is the weakest factor, and a
// phone that receives the first-factor code should not also be the
// second), no user is forced to add one; authenticator apps show the app
// name.
const (
	MFATOTP        = true
	MFABackupCodes = true
	MFAPhoneCode   = false
	MFARequired    = false
	// MFAEnrollTTL is how long an authenticator app being set up waits
	// for its first code.
	MFAEnrollTTL = 15 * time.Minute
	// ReverificationWindow is how recently a session's user must have
	// proved a first factor to add or remove a second factor (Clerk's
	// "strict" reverification: 10 minutes).
	ReverificationWindow = 10 * time.Minute
)

// Sign-up (the sign_up block) is off unless configured: legacy apps keep
// admin-made accounts. Turned on, a new user signs up with an email
// address (verified by a code), is asked for no username, and no country
// is open to SMS sign-up until the operator names it (phone_countries):
// an open SMS sign-up is what SMS pumping fraud feeds on.
const (
	// SignUpIdentifier is the Caddyfile word of the default identifier.
	SignUpIdentifier = "email"
	// SignUpUsername is the default username mode (off|optional|required).
	SignUpUsername = "off"
)

// Sign-up's limits. Codes follow the sign-in's rules (CodeTTL,
// CodeMaxAttempts, ResendAfter, SendsPerIdentifier, SendsPerIP,
// SendWindow). Requests per IP follow Clerk's system limits (create 5 and
// attempt_verification 3 per 10 s). An address or number takes at most
// SignUpFailuresPerIdentifier wrong codes per SignUpFailureWindow over
// all its attempts, so new attempts buy no fresh guesses. SMS sends are
// bounded per IP per country, per number range (all but the last 4
// digits) and per country overall (SMS pumping).
const (
	SignUpLifetime              = 24 * time.Hour
	SignUpCreatesPerIP          = 5
	SignUpAttemptsPerIP         = 3
	SignUpRequestWindow         = 10 * time.Second
	SignUpFailuresPerIdentifier = 10
	SignUpFailureWindow         = 24 * time.Hour
	SignUpSMSPerIPPerCountry    = 3
	SignUpSMSPerCountry         = 100
	SignUpSMSPerPrefix          = 5
	SignUpSMSWindow             = time.Hour
)

// UnverifiedPhones is how many phone numbers a signed-in user may have
// waiting for their code at once: each is an SMS target a caller typed.
const UnverifiedPhones = 3

// The Redis client's timeouts, unless the storage URL's options set them
// (dial_timeout, read_timeout, write_timeout, pool_timeout). go-redis's
// own (5 s per read or write, 6 s of pool wait) would let one hung server
// hold a request for 5-10 s.
const (
	RedisDialTimeout  = time.Second
	RedisReadTimeout  = 500 * time.Millisecond
	RedisWriteTimeout = 500 * time.Millisecond
	RedisPoolTimeout  = time.Second
)
