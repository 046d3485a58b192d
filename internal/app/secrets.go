package app

import (
	"context"
	"slices"

	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/token"
	"github.com/authgate/authgate/users"
)

// SecretKeys lists the fixed store keys that hold a secret: the private
// signing keys and the code-HMAC, CSRF, backup-code HMAC and identifier
// HMAC keys. The
// users' TOTP secrets are keyed per user, under mfa.SecretPrefix: an
// encryption layer seals every key IsSecretKey accepts, and a rewrap
// re-seals the ones AllSecretKeys lists.
func SecretKeys() []string {
	return append(token.StoreKeys(), signin.CodeKeyName, CSRFKeyName, mfa.KeyName, users.KeyName)
}

// CSRFKeyName is the store key of the CSRF secret (Services.CSRFKey).
const CSRFKeyName = "secrets:csrf"

var secretKeys = SecretKeys()

// IsSecretKey reports whether the store key k holds a secret: one of
// SecretKeys, or a user's TOTP secret.
func IsSecretKey(k string) bool { return slices.Contains(secretKeys, k) || mfa.IsSecretKey(k) }

// AllSecretKeys lists every store key holding a secret now, for a rewrap:
// SecretKeys and each verified TOTP secret. (An authenticator app still
// being set up is left out: it expires within minutes, and is re-sealed
// if read before.)
func (s *Services) AllSecretKeys(ctx context.Context) ([]string, error) {
	users, err := s.MFA.SecretKeys(ctx)
	if err != nil {
		return nil, err
	}
	return append(SecretKeys(), users...), nil
}
