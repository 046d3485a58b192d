package password

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
)

// Service is what the sign-in and user services need of passwords:
// hashing in a bounded pool, and the rules for a new password mapped to
// Clerk's errors (this file is the one place that mapping lives).
type Service struct {
	hasher        *Hasher
	policy        Policy
	acceptOnError bool
	log           *zap.Logger
	appName       string
}

// ServiceConfig configures a Service.
type ServiceConfig struct {
	Params      Params
	HashWorkers int
	HashQueue   int
	MinLength   int
	// MinStrength is the lowest zxcvbn score (0-4) a new password may
	// have; 0 turns the estimate off.
	MinStrength int
	// Breach is the breach source (nil: none).
	Breach Checker
	// AcceptOnBreachError accepts a new password when the breach source
	// cannot answer (breach_on_error accept); default is to refuse it.
	AcceptOnBreachError bool
	// AppName may not be used as a password.
	AppName string
	Logger  *zap.Logger
}

// NewService returns a Service.
func NewService(c ServiceConfig) *Service {
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return &Service{
		hasher:        NewHasher(c.Params, c.HashWorkers, c.HashQueue),
		policy:        Policy{MinLength: c.MinLength, MinStrength: c.MinStrength, Breach: c.Breach},
		acceptOnError: c.AcceptOnBreachError, log: c.Logger, appName: c.AppName,
	}
}

// Hash hashes a password with argon2id.
//
// When the hashing pool is full the error is a 429 too_many_requests
// (and still matches ErrBusy).
func (p *Service) Hash(ctx context.Context, pw string) (string, error) {
	digest, err := p.hasher.Hash(ctx, pw)
	if errors.Is(err, ErrBusy) {
		return "", fmt.Errorf("%w: %w", apierr.TooManyRequests.WithRetryAfter(time.Second), err)
	}
	return digest, err
}

// Verify checks pw against a digest.
func (p *Service) Verify(ctx context.Context, pw, digest string) (bool, bool, error) {
	return p.hasher.Verify(ctx, pw, digest)
}

// VerifyDummy spends the time of a verification (unknown users).
func (p *Service) VerifyDummy(ctx context.Context, pw string) { _ = p.hasher.VerifyDummy(ctx, pw) }

// Busy reports whether err means the hashing pool is full.
func (p *Service) Busy(err error) bool { return errors.Is(err, ErrBusy) }

// Stats reports the hashing pool's load.
func (p *Service) Stats() (running, queued int) { return p.hasher.Stats() }

// CheckDigest validates an imported digest.
func (p *Service) CheckDigest(hasher, digest string) error { return CheckDigest(hasher, digest) }

// Breached asks the breach source.
func (p *Service) Breached(ctx context.Context, pw string) (bool, error) {
	if p.policy.Breach == nil {
		return false, nil
	}
	return p.policy.Breach.Breached(ctx, pw)
}

// MinLength is the minimum password length.
func (p *Service) MinLength() int { return p.policy.MinLength }

// Validate applies the rules for a new password and returns Clerk's error.
func (p *Service) Validate(ctx context.Context, pw string, identifiers []string) error {
	ids := identifiers
	if p.appName != "" {
		ids = append(append([]string(nil), identifiers...), p.appName)
	}
	err := p.policy.Check(ctx, pw, ids)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrTooLong):
		return apierr.FormPasswordSizeExceeded.WithParam("password")
	case errors.Is(err, ErrInvalid):
		return apierr.FormPasswordInvalid.WithParam("password")
	case errors.Is(err, ErrTooShort):
		return apierr.FormPasswordLengthTooShort.WithParam("password").
			WithLongMessage(fmt.Sprintf("Your password is too short. It must be at least %d characters long.", p.policy.MinLength))
	case errors.Is(err, ErrMatchesIdentifier):
		return apierr.FormPasswordMatchesIdentifier.WithParam("password")
	case errors.Is(err, ErrTooWeak):
		return errNotStrongEnough.WithParam("password").WithMeta("zxcvbn", map[string]any{
			"suggestions": []map[string]string{{"code": "use_more_words", "message": "Add another word or two. Uncommon words are better."}},
		})
	case errors.Is(err, ErrPwned):
		return apierr.FormPasswordPwned.WithParam("password")
	case errors.Is(err, ErrBreachUnavailable):
		p.log.Warn("breach check failed", zap.Bool("accepted", p.acceptOnError), zap.Error(err))
		if p.acceptOnError {
			return nil
		}
		return apierr.BreachCheckUnavailable.WithRetryAfter(30 * time.Second)
	}
	return fmt.Errorf("checking password: %w", err)
}

// errNotStrongEnough is Clerk's error for a password below the strength
// estimate's threshold.
var errNotStrongEnough = &apierr.Error{
	Status: 422, Code: "form_password_not_strong_enough",
	Message: "Given password is not strong enough.", LongMessage: "Given password is not strong enough.",
}
