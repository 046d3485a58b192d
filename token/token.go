// Package token mints and verifies authgate's session tokens: short-lived
// JWTs (compact JWS) signed with keys that live in the shared store, so
// every instance signs with the same key and verifies every other
// instance's tokens without a store round trip.
//
// Token format (DESIGN.md §5): protected header {"alg", "kid", "typ":"JWT"};
// claims iss, sub (user id), sid (session id), sts ("active" | "pending"),
// v (2), iat, nbf (iat-10s), exp (iat+lifetime), jti (random), azp (request
// origin, optional).
//
// Verification is deliberately narrower than general JWT processing: only
// the configured algorithm is accepted (the header's alg must equal it and
// the signature is always checked with it), only exact compact
// serialization of base64url without padding is parsed, only the header
// members alg, kid and typ may appear (jku, jwk, x5u, x5c, crit, zip, b64,
// cty, ... all reject the token), duplicate JSON members reject the token,
// and a session token never carries aud (other token kinds use it, so they
// can never pass as session tokens). Successful verifications are cached by
// token string until the token expires, so the gate's per-request cost is a
// map lookup.
//
// Keys are stored as one JSON record per algorithm (see Keyring.Load) and
// rotated by publishing the new key before it signs (see Keyring.Rotate).
package token

import (
	"errors"
	"fmt"
	"time"

	"github.com/authgate/authgate/internal/defaults"
	"github.com/lestrrat-go/jwx/v2/jwa"
)

// Token statuses carried in the sts claim.
const (
	// StatusActive is a normal session.
	StatusActive = "active"
	// StatusPending is a session with tasks left (e.g. reset-password).
	StatusPending = "pending"
)

// Supported signing algorithms (Config.Alg).
const (
	// AlgRS256 is RSASSA-PKCS1-v1_5 with SHA-256 and a 2048-bit key; the
	// default, and what Clerk's SDKs verify.
	AlgRS256 = "RS256"
	// AlgEdDSA is Ed25519.
	AlgEdDSA = "EdDSA"
	// AlgES256 is ECDSA on P-256 with SHA-256.
	AlgES256 = "ES256"
)

// Limits and defaults.
const (
	// DefaultLifetime is the token lifetime when Config.Lifetime is zero.
	DefaultLifetime = defaults.TokenLifetime
	// MaxLifetime is the longest accepted Config.Lifetime, and the longest
	// exp-iat span a token may claim.
	MaxLifetime = 24 * time.Hour
	// DefaultLeeway is the clock skew allowance when Config.Leeway is zero.
	DefaultLeeway = 5 * time.Second
	// MaxLeeway is the largest accepted Config.Leeway.
	MaxLeeway = 60 * time.Second
	// DefaultPublishDelay is how long a rotated-in key is published in the
	// JWKS before it signs, when Config.PublishDelay is zero. It must cover
	// the JWKS cache time of every verifier and the instances' refresh
	// period.
	DefaultPublishDelay = 5 * time.Minute
	// UnknownKidRefreshInterval is the minimum time between two store
	// refreshes triggered by tokens with an unknown kid.
	UnknownKidRefreshInterval = 60 * time.Second
	// MaxTokenSize is the longest token Verify looks at, in bytes.
	MaxTokenSize = 8 << 10
	// DefaultCacheSize is the number of verified tokens kept in the
	// verification cache when Config.CacheSize is zero.
	DefaultCacheSize = 10000
	// NotBeforeSkew is how far before iat the nbf claim is set.
	NotBeforeSkew = 10 * time.Second
	// Version is the value of the v claim.
	Version = 2
)

// ErrInvalidToken is wrapped by every verification failure. The rest of the
// error text says why (expired, bad signature, ...) and is meant for logs;
// it never contains the token.
var ErrInvalidToken = errors.New("invalid session token")

// Claims are the claims of a session token.
type Claims struct {
	// Issuer (iss), e.g. "https://app.example.com".
	Issuer string
	// Subject (sub) is the user id.
	Subject string
	// SessionID (sid) is the session id.
	SessionID string
	// Status (sts) is StatusActive or StatusPending.
	Status string
	// ID (jti) is a random token id; set by Mint.
	ID string
	// AuthorizedParty (azp) is the origin the token was issued to; optional.
	AuthorizedParty string
	// IssuedAt (iat), set by Mint; whole seconds, UTC.
	IssuedAt time.Time
	// NotBefore (nbf) = IssuedAt - 10s, set by Mint.
	NotBefore time.Time
	// Expiry (exp) = IssuedAt + lifetime, set by Mint.
	Expiry time.Time
}

// Config configures a Keyring. The zero value is usable: RS256, 60 s
// tokens, 5 s leeway, 5 min publish delay, the system clock.
type Config struct {
	// Alg is AlgRS256 (default when empty), AlgEdDSA or AlgES256. Only this
	// algorithm is ever accepted by Verify.
	Alg string
	// Lifetime of minted tokens; default DefaultLifetime, at most
	// MaxLifetime.
	Lifetime time.Duration
	// Leeway is the clock skew allowed on nbf and iat (never on exp: see
	// checkTimes); default
	// DefaultLeeway, at most MaxLeeway.
	Leeway time.Duration
	// PublishDelay is how long Rotate publishes a new key before it signs;
	// default DefaultPublishDelay. Set it to at least the JWKS cache time
	// (Cache-Control max-age) plus the period of Refresh calls.
	PublishDelay time.Duration
	// CacheSize bounds the verification cache (entries); default
	// DefaultCacheSize. A negative value disables the cache.
	CacheSize int
	// Now is the clock; default time.Now. Tests pass a fake clock.
	Now func() time.Time
}

// resolve validates cfg and fills in defaults.
func (cfg Config) resolve() (Config, jwa.SignatureAlgorithm, error) {
	var alg jwa.SignatureAlgorithm
	switch cfg.Alg {
	case "", AlgRS256:
		cfg.Alg, alg = AlgRS256, jwa.RS256
	case AlgEdDSA:
		alg = jwa.EdDSA
	case AlgES256:
		alg = jwa.ES256
	default:
		return cfg, "", fmt.Errorf("token: unsupported signing algorithm %q (want RS256, EdDSA or ES256)", cfg.Alg)
	}
	switch {
	case cfg.Lifetime == 0:
		cfg.Lifetime = DefaultLifetime
	case cfg.Lifetime < time.Second || cfg.Lifetime > MaxLifetime:
		return cfg, "", fmt.Errorf("token: lifetime %s out of range [1s, %s]", cfg.Lifetime, MaxLifetime)
	}
	switch {
	case cfg.Leeway == 0:
		cfg.Leeway = DefaultLeeway
	case cfg.Leeway < 0 || cfg.Leeway > MaxLeeway:
		return cfg, "", fmt.Errorf("token: leeway %s out of range [0, %s]", cfg.Leeway, MaxLeeway)
	}
	switch {
	case cfg.PublishDelay == 0:
		cfg.PublishDelay = DefaultPublishDelay
	case cfg.PublishDelay < 0:
		return cfg, "", fmt.Errorf("token: negative publish delay %s", cfg.PublishDelay)
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg, alg, nil
}

// invalid returns an error wrapping ErrInvalidToken with a reason.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidToken}, args...)...)
}
