// Package breach tells whether a password is known to attackers: an embedded
// list of common passwords (Common), the Have I Been Pwned range API with
// k-anonymity (HIBP), and an offline index of the HIBP corpus built into a
// binary fuse filter (Build, Open).
//
// Every checker satisfies Checker (and password.Checker). Checkers never log
// or store passwords; HIBP sends only the first five hex digits of the SHA-1.
package breach

import (
	"context"
	"fmt"
)

// Checker reports whether a password appears in a breach corpus or list. An
// error means the answer is unknown; callers must not treat it as "not
// breached".
type Checker interface {
	Breached(ctx context.Context, pw string) (bool, error)
}

// Any returns a Checker that asks each checker in order and reports breached
// as soon as one does. An error from a checker is returned at once (wrapped),
// so a failing remote check is never skipped silently. Nil checkers are
// ignored.
func Any(checkers ...Checker) Checker {
	var cs multi
	for _, c := range checkers {
		if c != nil {
			cs = append(cs, c)
		}
	}
	return cs
}

type multi []Checker

func (m multi) Breached(ctx context.Context, pw string) (bool, error) {
	for i, c := range m {
		breached, err := c.Breached(ctx, pw)
		if err != nil {
			return false, fmt.Errorf("breach checker %d: %w", i, err)
		}
		if breached {
			return true, nil
		}
	}
	return false, nil
}
