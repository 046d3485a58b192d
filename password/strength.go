package password

import (
	"fmt"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
)

// strengthInputLimit bounds the part of a password the estimate reads:
// zxcvbn's matching grows quickly with length, and a password this long
// is strong by length alone.
const strengthInputLimit = 64

// WeakError is a password refused by the strength estimate. It matches
// ErrTooWeak and carries zxcvbn's score for the Clerk error's meta.
type WeakError struct {
	Score, Min int
}

func (e *WeakError) Error() string {
	return fmt.Sprintf("password strength %d is below %d: %s", e.Score, e.Min, ErrTooWeak)
}

// Is reports whether target is ErrTooWeak.
func (e *WeakError) Is(target error) bool { return target == ErrTooWeak }

// Strength is zxcvbn's score (0 too guessable … 4 very unguessable) of pw,
// with the account's identifiers as words an attacker would try first.
func Strength(pw string, identifiers []string) int {
	if utf8.RuneCountInString(pw) > strengthInputLimit {
		return 4
	}
	return zxcvbn.PasswordStrength(pw, identifiers).Score
}

// checkStrength refuses pw when its score is below min (min 0: off).
func checkStrength(normalized string, min int, identifiers []string) error {
	if min <= 0 {
		return nil
	}
	if score := Strength(normalized, identifiers); score < min {
		return &WeakError{Score: score, Min: min}
	}
	return nil
}
