package password

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/authgate/authgate/internal/defaults"
	"golang.org/x/text/unicode/norm"
)

// DefaultMinLength is the minimum password length, in code points after NFKC,
// when Policy.MinLength is zero.
// (internal/defaults holds the value).
const DefaultMinLength = defaults.MinLength

// Checker reports whether a password is known to be breached or too common.
// It has the same method set as breach.Checker, so every checker of package
// breach satisfies it.
type Checker interface {
	Breached(ctx context.Context, pw string) (bool, error)
}

// Policy is the rule set a new password must pass. There are no composition
// rules (character classes): length, identifiers and the breach check only.
type Policy struct {
	// MinLength is the minimum length in code points after NFKC
	// (0: DefaultMinLength).
	MinLength int
	// MaxBytes is the maximum length in bytes of the input as received
	// (0 or above MaxPasswordBytes: MaxPasswordBytes).
	MaxBytes int
	// MinStrength is the lowest zxcvbn score (0-4) a password may have;
	// 0 turns the estimate off.
	MinStrength int
	// Breach, if not nil, is consulted last; a failure refuses the password.
	Breach Checker
}

// Check returns nil if pw may be set as the password of an account known by
// identifiers (email addresses, phone numbers, username; callers should add
// the service name too). Otherwise it returns an error wrapping exactly one
// of ErrTooLong (checked first, before the input is even scanned), ErrInvalid
// (empty, invalid UTF-8 or NUL), ErrTooShort, ErrMatchesIdentifier, ErrPwned
// or ErrBreachUnavailable (with the checker's error), ErrTooWeak, checked in that order. The breach checker is called only when all
// local rules pass.
func (p Policy) Check(ctx context.Context, pw string, identifiers []string) error {
	maxBytes := p.MaxBytes
	if maxBytes <= 0 || maxBytes > MaxPasswordBytes {
		maxBytes = MaxPasswordBytes
	}
	minLen := p.MinLength
	if minLen <= 0 {
		minLen = DefaultMinLength
	}
	if len(pw) > maxBytes {
		return fmt.Errorf("password of %d bytes exceeds %d bytes: %w", len(pw), maxBytes, ErrTooLong)
	}
	if pw == "" || !utf8.ValidString(pw) || strings.IndexByte(pw, 0) >= 0 {
		return fmt.Errorf("password is empty, not UTF-8 or contains NUL: %w", ErrInvalid)
	}
	normalized := norm.NFKC.String(pw)
	if n := utf8.RuneCountInString(normalized); n < minLen {
		return fmt.Errorf("password has %d characters, at least %d required: %w", n, minLen, ErrTooShort)
	}
	if matchesIdentifier(normalized, identifiers) {
		return fmt.Errorf("password equals an identifier of the account: %w", ErrMatchesIdentifier)
	}
	if err := p.checkBreach(ctx, pw, normalized); err != nil {
		return err
	}
	// The estimate comes after the breach check: a listed password gets
	// the more telling form_password_pwned.
	return checkStrength(normalized, p.MinStrength, identifiers)
}

func (p Policy) checkBreach(ctx context.Context, pw, normalized string) error {
	if p.Breach == nil {
		return nil
	}
	forms := []string{normalized}
	if normalized != pw {
		forms = append(forms, pw)
	}
	for _, f := range forms {
		breached, err := p.Breach.Breached(ctx, f)
		if err != nil {
			return fmt.Errorf("check password against breaches: %w: %w", ErrBreachUnavailable, err)
		}
		if breached {
			return fmt.Errorf("password appears in a breach or common-password list: %w", ErrPwned)
		}
	}
	return nil
}

// matchesIdentifier reports whether the NFKC password equals, ignoring case,
// an identifier, an email's local part (with and without a +tag) or a phone
// number without its leading "+".
func matchesIdentifier(normalized string, identifiers []string) bool {
	for _, id := range identifiers {
		id = strings.TrimSpace(norm.NFKC.String(id))
		if id == "" {
			continue
		}
		forms := []string{id}
		if at := strings.LastIndexByte(id, '@'); at > 0 {
			local := id[:at]
			forms = append(forms, local)
			if plus := strings.IndexByte(local, '+'); plus > 0 {
				forms = append(forms, local[:plus])
			}
		}
		if len(id) > 1 && id[0] == '+' {
			forms = append(forms, id[1:])
		}
		for _, f := range forms {
			if strings.EqualFold(normalized, f) {
				return true
			}
		}
	}
	return false
}
