// Package ids makes the random, prefixed identifiers authgate hands out
// (user_…, idn_…, sess_…, sia_…, client_…) and random secrets.
package ids

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

var enc = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// New returns prefix + "_" + 26 characters encoding 128 random bits.
func New(prefix string) string {
	return prefix + "_" + Random(16)
}

// FromBytes returns prefix + "_" + the encoding of the first 16 bytes of
// b (b must hold at least 16): an id derived from a secret (an HMAC)
// that looks like one New made.
func FromBytes(prefix string, b []byte) string {
	return prefix + "_" + enc.EncodeToString(b[:16])
}

// Random returns n random bytes from crypto/rand, base32-encoded.
func Random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return enc.EncodeToString(b)
}

// Valid reports whether id looks like one New(prefix) made. It lets
// handlers reject junk ids before they reach the store.
func Valid(prefix, id string) bool {
	rest, ok := strings.CutPrefix(id, prefix+"_")
	if !ok || len(rest) != 26 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'v') {
			return false
		}
	}
	return true
}
