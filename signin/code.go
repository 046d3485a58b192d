package signin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"time"
)

// CodeLength is the number of digits of a verification code.
const CodeLength = 6

var codeSpace = big.NewInt(1_000_000)

// NewCode returns a uniformly random 6-digit code. crypto/rand.Int draws
// by rejection sampling, so there is no modulo bias.
func NewCode() (string, error) {
	n, err := rand.Int(rand.Reader, codeSpace)
	if err != nil {
		return "", fmt.Errorf("drawing code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// wellFormedCode reports whether s is exactly six ASCII digits.
func wellFormedCode(s string) bool {
	if len(s) != CodeLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// codeMAC binds a code to its sign-in attempt, user and strategy, so a
// code for one user or flow never works for another.
func codeMAC(key []byte, attemptID, userID, strategy, code string) []byte {
	m := hmac.New(sha256.New, key)
	for _, part := range []string{attemptID, userID, strategy, code} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return []byte(hex.EncodeToString(m.Sum(nil)))
}

// fakeMAC is stored for attempts on unknown identifiers: no code matches
// it, but the attempt behaves like a real one.
func fakeMAC() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return []byte("x" + hex.EncodeToString(b))
}

func codeKey(attemptID string) string     { return "code:" + attemptID }
func codeFailKey(attemptID string) string { return "codefail:" + attemptID }
func resendKey(attemptID string) string   { return "resend:" + attemptID }

// margin keeps stored codes a little longer than their logical TTL so
// that expiry is decided by the (injectable) clock, not by the store.
const margin = time.Minute
