package password

import "errors"

// The package's sentinel errors, in one place; Service maps them to
// Clerk's errors (service.go).

// Errors returned by the hasher. They are sentinels: test with errors.Is.
var (
	// ErrBusy means every hashing worker is busy and the wait queue is full.
	// Callers should answer 429 (or 503) and let the client retry.
	ErrBusy = errors.New("password hashing is busy")
	// ErrTooLong means the password exceeds the byte limit: MaxPasswordBytes,
	// the policy's MaxBytes, or MaxBcryptPasswordBytes against a bcrypt digest.
	ErrTooLong = errors.New("password is too long")
	// ErrBadDigest means a stored or imported digest is malformed, of an
	// unsupported kind, or has parameters outside the accepted limits.
	ErrBadDigest = errors.New("invalid password digest")
	// ErrInvalid means the password is empty, is not valid UTF-8 or contains NUL.
	ErrInvalid = errors.New("password contains invalid characters")
)

// Policy errors. Check wraps them with context; test with errors.Is. ErrTooLong
// and ErrInvalid (the hasher's, above) are also returned by Check.
var (
	// ErrTooShort means the password has fewer code points than MinLength.
	ErrTooShort = errors.New("password is too short")
	// ErrMatchesIdentifier means the password equals (case-insensitively) one
	// of the account's identifiers, an email's local part, or the service name.
	ErrMatchesIdentifier = errors.New("password matches an identifier")
	// ErrTooWeak means the password's strength estimate (zxcvbn score,
	// 0-4) is below Policy.MinStrength. Check wraps a *WeakError with it.
	ErrTooWeak = errors.New("password is not strong enough")
	// ErrPwned means the breach checker found the password in a breach corpus
	// or common-password list.
	ErrPwned = errors.New("password has been found in a data breach")
	// ErrBreachUnavailable means the breach checker failed; the password is
	// refused rather than accepted unchecked. The checker's error is wrapped too.
	ErrBreachUnavailable = errors.New("password breach check is unavailable")
)
