package signin

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/ids"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/users"
)

// CreateParams are the parameters of POST /v1/client/sign_ins.
type CreateParams struct {
	Strategy   string
	Identifier string
	Password   string
}

// PrepareParams are the parameters of prepare_first_factor.
type PrepareParams struct {
	Strategy       string
	EmailAddressID string
	PhoneNumberID  string
}

// AttemptParams are the parameters of attempt_first_factor.
type AttemptParams struct {
	Strategy string
	Code     string
	Password string
}

// Create starts a sign-in attempt. Without a strategy it only identifies
// the user (checking a password if one is given); with a code strategy it
// sends the first code at once.
func (s *Service) Create(ctx context.Context, rq Request, p CreateParams) (*Result, error) {
	if err := s.throttle.request(ctx, "sign_in", rq.IP); err != nil {
		return nil, err
	}
	var st *strategy
	if p.Strategy != "" {
		if st = lookup(p.Strategy); st == nil {
			return nil, errStrategyUnsupported()
		}
	} else if p.Identifier == "" {
		return nil, paramMissing("identifier")
	}
	res, err := s.start(ctx, rq, p)
	if err != nil {
		return nil, err
	}
	a := res.Attempt
	switch {
	case p.Password != "" && (st == nil || st.factor == factorPassword):
		if err := s.checkPassword(ctx, rq, res, p.Password); err != nil {
			return nil, s.keepAfterPasswordError(ctx, rq, a, err)
		}
	case st == nil:
		// Identifier first: the client picks a factor next.
	case st.factor == factorPassword:
		return nil, paramMissing("password")
	default:
		if err := s.save(ctx, a); err != nil {
			return nil, err
		}
		if err := s.send(ctx, rq, res, st, ""); err != nil {
			return nil, err
		}
	}
	if err := s.save(ctx, a); err != nil {
		return nil, err
	}
	if err := s.attach(ctx, rq, a); err != nil {
		return nil, err
	}
	return res, nil
}

// start builds a new attempt for the identifier. An unknown identifier is
// an error, unless enumeration protection is on: then the attempt is a
// fake one that behaves like a real one.
func (s *Service) start(ctx context.Context, rq Request, p CreateParams) (*Result, error) {
	kind, ident, err := users.Classify(p.Identifier)
	if err != nil {
		return nil, err
	}
	now := s.stamp()
	a := &Attempt{
		ID: ids.New("sia"), ClientID: rq.Client.ID, Status: StatusNeedsFirstFactor,
		Identifier: ident, Kind: kind, CreatedAt: now, AbandonAt: now.Add(s.cfg.AttemptLifetime),
	}
	u, err := s.users.Find(ctx, kind, ident)
	switch {
	case errors.Is(err, users.ErrNotFound):
		if !s.cfg.EnumerationProtection {
			if p.Password != "" {
				s.hasher.VerifyDummy(ctx, p.Password)
			}
			return nil, apierr.FormIdentifierNotFound.WithParam("identifier")
		}
		a.Fake = true
		u = nil
	case err != nil:
		return nil, err
	default:
		a.UserID = u.ID
	}
	if !s.cfg.EnumerationProtection {
		return &Result{Attempt: a, User: u}, nil
	}
	// From here on known and unknown identifiers do the same work: the
	// fake id's HMAC, and for an unknown one the read of a (fake) user
	// record that Find made for a known one.
	fake, err := s.fakeID(ctx, kind, ident)
	if err != nil {
		return nil, err
	}
	if a.Fake {
		a.FakeID = fake
		if _, err := s.users.Get(ctx, macUserID(a)); err != nil && !errors.Is(err, users.ErrNotFound) {
			return nil, err
		}
	}
	return &Result{Attempt: a, User: u}, nil
}

// keepAfterPasswordError stores the attempt after a failed password, so a
// client can continue with another factor; after a compromised password
// it becomes the client's sign-in. It returns the error to show.
func (s *Service) keepAfterPasswordError(ctx context.Context, rq Request, a *Attempt, cause error) error {
	if err := s.save(ctx, a); err != nil {
		if a.PasswordVerified {
			// The answer tells the client to continue this sign-in with a
			// code; without the attempt stored it could not.
			return err
		}
		// Nothing refers to this attempt yet: the password error is the
		// answer, and the store failure is only worth a log line.
		s.log.Warn("storing sign-in after a failed password", zap.String("sign_in_id", a.ID), zap.Error(err))
		return cause
	}
	if a.PasswordVerified {
		if err := s.attach(ctx, rq, a); err != nil {
			return err
		}
	}
	return cause
}

// attach makes a the client's current sign-in.
func (s *Service) attach(ctx context.Context, rq Request, a *Attempt) error {
	if err := s.sessions.UpdateClient(ctx, rq.Client, func(c *session.Client) { c.SignInID = a.ID }); err != nil {
		return fmt.Errorf("attaching sign-in to client: %w", err)
	}
	return nil
}

// fakeID is the identification id shown for an unknown identifier: stable
// for the identifier (as a real one is) and unguessable without the key.
func (s *Service) fakeID(ctx context.Context, kind users.Kind, ident string) (string, error) {
	return s.keyedID(ctx, "idn", "fake-identification", string(kind), ident)
}

// open loads an attempt for a request about one of its steps (the first
// factor, or the second when second is set) and the strategy it names:
// the attempt must be waiting for that step, and a second factor must be
// one the user has.
func (s *Service) open(ctx context.Context, rq Request, id, name string, second bool) (*Result, *strategy, error) {
	res, err := s.Get(ctx, rq, id)
	if err != nil {
		return nil, nil, err
	}
	if err := notAwaiting(res.Attempt.Status, second); err != nil {
		return nil, nil, err
	}
	st, err := strategyParam(second, name)
	if err != nil {
		return nil, nil, err
	}
	if second && !slices.ContainsFunc(res.SecondFactors, func(f SecondFactor) bool { return f.Strategy == st.name }) {
		return nil, nil, apierr.StrategyForUserInvalid.WithParam("strategy")
	}
	return res, st, nil
}

// notAwaiting is the answer to a request about a step (the second when
// second is set) that an attempt in status is not waiting for; nil when
// it is.
func notAwaiting(status string, second bool) error {
	switch {
	case status == StatusComplete:
		return errAlreadyComplete
	case second && status != StatusNeedsSecondFactor:
		return apierr.ClientStateInvalid.WithLongMessage("Verify the first factor before the second.")
	case second:
		return nil
	case status == StatusNeedsNewPassword:
		return apierr.VerificationAlreadyVerified
	case status == StatusNeedsSecondFactor:
		return apierr.VerificationAlreadyVerified.WithLongMessage("The first factor is verified: continue with the second factor.")
	}
	return nil
}

// openTry is open for a try at a factor, which first passes the per-IP
// attempt limit.
func (s *Service) openTry(ctx context.Context, rq Request, id, name string, second bool) (*Result, *strategy, error) {
	if err := s.throttle.request(ctx, "attempt", rq.IP); err != nil {
		return nil, nil, err
	}
	return s.open(ctx, rq, id, name, second)
}

// Prepare sends (or resends) a code for a code strategy.
func (s *Service) Prepare(ctx context.Context, rq Request, id string, p PrepareParams) (*Result, error) {
	res, st, err := s.open(ctx, rq, id, p.Strategy, false)
	if err != nil {
		return nil, err
	}
	if st.factor == factorPassword {
		return res, nil // nothing to prepare
	}
	if err := s.send(ctx, rq, res, st, st.channel.targetID(p)); err != nil {
		return nil, err
	}
	if err := s.save(ctx, res.Attempt); err != nil {
		return nil, err
	}
	return res, nil
}

// AttemptFirstFactor checks a password or code.
func (s *Service) AttemptFirstFactor(ctx context.Context, rq Request, id string, p AttemptParams) (*Result, error) {
	res, st, err := s.openTry(ctx, rq, id, p.Strategy, false)
	if err != nil {
		return nil, err
	}
	if st.factor == factorPassword {
		if p.Password == "" {
			return nil, paramMissing("password")
		}
		if err := s.checkPassword(ctx, rq, res, p.Password); err != nil {
			return nil, err
		}
		return res, s.save(ctx, res.Attempt)
	}
	if err := s.checkCode(ctx, rq, res, st, p); err != nil {
		return nil, err
	}
	return s.codeVerified(ctx, rq, res, st, p.Password)
}

// codeVerified moves an attempt on once its code was consumed: a sign-in
// code completes it (or asks for the second factor); a reset code asks
// for the new password, or sets the one given with it.
func (s *Service) codeVerified(ctx context.Context, rq Request, res *Result, st *strategy, pw string) (*Result, error) {
	a := res.Attempt
	if !st.resets {
		if err := s.firstFactorDone(ctx, rq, res); err != nil {
			return nil, err
		}
		return res, s.save(ctx, a)
	}
	if pw == "" {
		a.Status = StatusNeedsNewPassword
		return res, s.save(ctx, a)
	}
	if err := s.finishReset(ctx, rq, res, pw, true); err != nil {
		return nil, err
	}
	return res, nil
}

// firstFactorDone moves an attempt on once its first factor is verified:
// a user with a second factor is asked for it (no session yet), anyone
// else is signed in.
func (s *Service) firstFactorDone(ctx context.Context, rq Request, res *Result) error {
	if err := s.loadSecondFactors(ctx, res); err != nil {
		return err
	}
	if len(res.SecondFactors) == 0 {
		return s.complete(ctx, rq, res)
	}
	res.Attempt.Status = StatusNeedsSecondFactor
	s.emit(ctx, "sign_in", zap.String("result", "needs_second_factor"), zap.String("user_id", res.User.ID))
	return nil
}

// complete creates the session (pending with the tasks the user must do
// first: a new password, a second factor to set up) and marks the
// attempt complete.
func (s *Service) complete(ctx context.Context, rq Request, res *Result) error {
	if err := s.loadSecondFactors(ctx, res); err != nil {
		return err
	}
	pending := tasks.For(account{res.User, res.mfa.Enabled()}, s.policy())
	v := res.Attempt.SecondVerification
	sess, err := s.sessions.Create(ctx, rq.Client, session.NewSession{
		UserID: res.User.ID, Tasks: pending, SecondFactor: v != nil && v.Status == VerVerified,
	})
	if err != nil {
		return err
	}
	res.Session = sess
	res.Attempt.Status = StatusComplete
	res.Attempt.CreatedSessionID = sess.ID
	s.rememberDevice(ctx, rq, res.User.ID)
	s.emit(ctx, "sign_in", zap.String("result", "complete"), zap.String("user_id", res.User.ID),
		zap.String("session_id", sess.ID), zap.String("session_status", sess.Status))
	for _, t := range pending {
		s.emit(ctx, "task_started", zap.String("task", t), zap.String("user_id", res.User.ID))
	}
	return nil
}

var errAlreadyComplete = apierr.ClientStateInvalid.WithLongMessage("This sign-in is already complete.")

// paramMissing is the error for a required parameter left out.
func paramMissing(name string) error {
	return apierr.FormParamMissing.WithParam(name).WithLongMessage(name + " must be included.")
}
