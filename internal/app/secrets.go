package app

import (
	"slices"

	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/token"
)

// SecretKeys lists every store key that holds a secret: the private
// signing keys and the code-HMAC and CSRF keys. An encryption layer seals
// exactly these (IsSecretKey), and a rewrap re-seals them.
func SecretKeys() []string {
	return append(token.StoreKeys(), signin.CodeKeyName, CSRFKeyName)
}

// CSRFKeyName is the store key of the CSRF secret (Services.CSRFKey).
const CSRFKeyName = "secrets:csrf"

var secretKeys = SecretKeys()

// IsSecretKey reports whether the store key k holds a secret.
func IsSecretKey(k string) bool { return slices.Contains(secretKeys, k) }
