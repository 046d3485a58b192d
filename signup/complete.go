package signup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/ratelimit"
	"github.com/authgate/authgate/password"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/users"
)

// finishClaim is how long one request holds the right to finish an
// attempt (create its user and session); a request that fails gives it
// back at once.
const finishClaim = time.Minute

func finishKey(id string) string { return "suadone:" + id }

// newAccount is a just-made user for tasks.For: no second factor yet, no
// reset required.
type newAccount struct{ *users.User }

func (newAccount) HasSecondFactor() bool { return false }

// finish creates the user once every required field is there and every
// identifier verified, signs the client in and completes the attempt. It
// returns the attempt as it is when something is still missing.
//
// The user is made with users.Service.Create, the admin API's path: its
// identifier claims make sure that of concurrent sign-ups (or admin
// creates) of one address, on any instances, exactly one makes a user;
// the others get form_identifier_exists (they proved they own the
// address, so telling them is no enumeration). Identifiers authgate
// stores are verified by construction: admin-made ones by the admin,
// this one by its code.
func (s *Service) finish(ctx context.Context, rq Request, a *Attempt) (*Result, error) {
	f := s.fields(a)
	if !f.ready() {
		return &Result{Attempt: a, Fields: f}, nil
	}
	if err := ratelimit.Claim(ctx, s.st, finishKey(a.ID), finishClaim, apierr.VerificationAlreadyVerified); err != nil {
		return nil, err
	}
	res, err := s.createAccount(ctx, rq, a)
	if err != nil {
		if derr := s.st.Delete(ctx, finishKey(a.ID)); derr != nil {
			s.log.Warn("releasing a sign-up's finish claim failed", zap.String("sign_up_id", a.ID), zap.Error(derr))
		}
		return nil, err
	}
	return res, nil
}

// createAccount makes the user (unless an earlier try did) and the
// session, and stores the attempt complete.
func (s *Service) createAccount(ctx context.Context, rq Request, a *Attempt) (*Result, error) {
	u, err := s.user(ctx, a)
	if err != nil {
		return nil, err
	}
	sess, err := s.sessions.Create(ctx, rq.Client, session.NewSession{
		UserID: u.ID, Tasks: tasks.For(newAccount{u}, s.policy),
	})
	if err != nil {
		return nil, err
	}
	a, err = s.change(ctx, a, func(cur *Attempt) error {
		cur.Status, cur.CreatedUserID, cur.CreatedSessionID = StatusComplete, u.ID, sess.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.emit(ctx, "sign_up", zap.String("result", "complete"), zap.String("sign_up_id", a.ID),
		zap.String("user_id", u.ID), zap.String("session_id", sess.ID), zap.String("session_status", sess.Status))
	return &Result{Attempt: a, Fields: s.fields(a), User: u, Session: sess}, nil
}

// user creates the attempt's user, or reads the one an earlier try of
// this attempt created before it failed to sign in.
func (s *Service) user(ctx context.Context, a *Attempt) (*users.User, error) {
	if a.CreatedUserID != "" {
		return s.users.Get(ctx, a.CreatedUserID)
	}
	nu := users.NewUser{Username: a.Username, PasswordDigest: a.PasswordDigest, PasswordHasher: password.HasherArgon2id}
	if a.EmailAddress != "" {
		nu.Emails = []string{a.EmailAddress}
	}
	if a.PhoneNumber != "" {
		nu.Phones = []string{a.PhoneNumber}
	}
	u, err := s.users.Create(ctx, nu)
	if errors.Is(err, apierr.FormIdentifierExists) {
		s.emit(ctx, "sign_up", zap.String("result", "identifier_exists"), zap.String("sign_up_id", a.ID))
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("creating the user: %w", err)
	}
	if _, err := s.change(ctx, a, func(cur *Attempt) error {
		cur.CreatedUserID = u.ID
		return nil
	}); err != nil {
		// The user exists; a retry would find its address taken. Log it:
		// the owner can sign in with the password just set.
		s.log.Error("recording a sign-up's user failed", zap.String("sign_up_id", a.ID), zap.String("user_id", u.ID), zap.Error(err))
		return nil, err
	}
	return u, nil
}
