// Package codes holds the primitives of the one-time verification codes
// authgate sends by email and SMS (sign-in, reset and sign-up): drawing a
// code, checking its form, and the HMAC it is stored as. Each flow keeps
// its own rules (TTL, tries, single use); only these are shared, so that a
// code is drawn and bound the same way everywhere.
package codes

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
)

// Length is the number of digits of a verification code.
const Length = 6

var space = big.NewInt(1_000_000)

// New returns a uniformly random 6-digit code. crypto/rand.Int draws
// by rejection sampling, so there is no modulo bias.
func New() (string, error) {
	n, err := rand.Int(rand.Reader, space)
	if err != nil {
		return "", fmt.Errorf("drawing code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// WellFormed reports whether s is exactly six ASCII digits.
func WellFormed(s string) bool {
	if len(s) != Length {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// MAC binds a code to what it was sent for (the flow's attempt, user,
// strategy...): the parts are NUL-separated, so a code for one attempt or
// flow never matches another's. It is what a code is stored as (hex, so
// no MAC equals a value with a non-hex byte).
func MAC(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, part := range parts {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return []byte(hex.EncodeToString(m.Sum(nil)))
}
