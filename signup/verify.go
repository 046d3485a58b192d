package signup

import (
	"context"
)

// PrepareVerification sends a code for the attempt's email address
// (email_code) or phone number (phone_code). An identifier that already
// has an account gets a notice instead, and its code matches nothing.
func (s *Service) PrepareVerification(ctx context.Context, rq Request, id string, p PrepareParams) (*Result, error) {
	if !s.cfg.Enabled {
		return nil, ErrDisabled
	}
	return nil, ErrNotFound
}

// AttemptVerification checks a code. The right one verifies its
// identifier; once nothing is missing the user is created (users.Service
// .Create, with the identifier verified) and the client signed in: the
// result then has User and Session, and the attempt is complete.
func (s *Service) AttemptVerification(ctx context.Context, rq Request, id string, p AttemptParams) (*Result, error) {
	if !s.cfg.Enabled {
		return nil, ErrDisabled
	}
	return nil, ErrNotFound
}
