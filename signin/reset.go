package signin

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/ratelimit"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/users"
)

// ResetPassword sets the new password of an attempt whose reset code was
// verified, and signs the user in.
func (s *Service) ResetPassword(ctx context.Context, rq Request, id, pw string, signOutOthers bool) (*Result, error) {
	res, err := s.Get(ctx, rq, id)
	if err != nil {
		return nil, err
	}
	if res.Attempt.Status != StatusNeedsNewPassword || res.User == nil {
		return nil, apierr.ClientStateInvalid.WithLongMessage("Verify the reset code before setting a new password.")
	}
	if pw == "" {
		return nil, paramMissing("password")
	}
	if err := s.checkNewPassword(ctx, res.User, pw); err != nil {
		return nil, err
	}
	// One verified code sets one password, even when requests race.
	taken := apierr.ClientStateInvalid.WithLongMessage("This password reset is already being completed.")
	if err := ratelimit.Claim(ctx, s.st, resetClaimKey(id), s.cfg.AttemptLifetime+margin, taken); err != nil {
		return nil, err
	}
	if err := s.finishReset(ctx, rq, res, pw, signOutOthers); err != nil {
		// Release the claim so the user can try again. If that fails too,
		// the answer is still the first error; the claim expires with the
		// attempt.
		if derr := s.st.Delete(ctx, resetClaimKey(id)); derr != nil {
			s.log.Warn("releasing password reset claim failed", zap.String("sign_in_id", id), zap.Error(derr))
		}
		return nil, err
	}
	return res, nil
}

func (s *Service) finishReset(ctx context.Context, rq Request, res *Result, pw string, signOutOthers bool) error {
	nu, err := s.SetPassword(ctx, res.User, pw, "", signOutOthers)
	if err != nil {
		return err
	}
	res.User = nu
	// The password is set either way; a user with a second factor gives it
	// before a session exists (Clerk's needs_second_factor after a reset).
	if err := s.firstFactorDone(ctx, rq, res); err != nil {
		return err
	}
	return s.save(ctx, res.Attempt)
}

// checkNewPassword applies the password rules and refuses the current one.
func (s *Service) checkNewPassword(ctx context.Context, u *users.User, pw string) error {
	if err := s.rules.Validate(ctx, pw, u.Identifiers()); err != nil {
		if e := apierr.From(err); e.Code == apierr.FormPasswordPwned.Code {
			s.emit(ctx, "breach_hit", zap.String("where", "new_password"), zap.String("user_id", u.ID))
		}
		return err
	}
	if u.PasswordDigest != "" {
		same, _, err := s.hasher.Verify(ctx, pw, u.PasswordDigest)
		if err != nil {
			return s.hashFailed(err, "comparing with current password")
		}
		if same {
			return apierr.FormNewPasswordMatchesCurrent.WithParam("password")
		}
	}
	return nil
}

// SetPassword stores a new (already checked) password for the user,
// clears the compromised and reset flags, revokes the user's other
// sessions unless told not to, and sends a notice.
func (s *Service) SetPassword(ctx context.Context, u *users.User, pw, keepSession string, signOutOthers bool) (*users.User, error) {
	digest, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return nil, s.hashFailed(err, "hashing password")
	}
	wasCompromised := u.NeedsReset()
	nu, err := s.users.Update(ctx, u.ID, func(u *users.User) error {
		u.PasswordDigest = digest
		u.PasswordCompromised = false
		u.ResetRequired = false
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A password that had to be replaced leaves no other session alive.
	if signOutOthers || wasCompromised {
		if _, err := s.sessions.RevokeUser(ctx, u.ID, keepSession); err != nil {
			return nil, err
		}
	}
	s.lockout.unlock(ctx, userSubject(u.ID))
	s.emit(ctx, "password_reset", zap.String("user_id", u.ID), zap.Bool("signed_out_others", signOutOthers || wasCompromised))
	s.Notify(nu, notify.KindPasswordChanged)
	return nu, nil
}

// Notify sends a notice without secrets (password changed, password
// compromised) to the user's first email address, else first phone
// number, in the background.
func (s *Service) Notify(u *users.User, kind notify.Kind) {
	var n notify.Notice
	switch {
	case u.PrimaryEmail() != "":
		n = notify.Notice{Channel: notify.ChannelEmail, Kind: kind, To: u.PrimaryEmail()}
	case u.PrimaryPhone() != "":
		n = notify.Notice{Channel: notify.ChannelSMS, Kind: kind, To: u.PrimaryPhone()}
	default:
		return
	}
	s.background(func(ctx context.Context) {
		if err := s.deliver.Deliver(ctx, n); err != nil {
			s.log.Warn("sending notice failed", zap.String("kind", string(kind)), zap.String("user_id", u.ID), zap.Error(err))
		}
	})
}

// ChangeParams are the parameters of POST /v1/me/change_password.
type ChangeParams struct {
	NewPassword     string
	CurrentPassword string
	SignOutOthers   bool
}

// ChangePassword sets a signed-in user's new password. The current
// password is required unless the session's task is reset-password (the
// user proved who they are with a code, or has no other factor). Doing so
// completes the reset-password task: the session becomes active.
func (s *Service) ChangePassword(ctx context.Context, u *users.User, sess *session.Session, p ChangeParams) (*users.User, *session.Session, error) {
	if p.NewPassword == "" {
		return nil, nil, paramMissing("new_password")
	}
	// A reset-password task means the user already proved who they are.
	if !tasks.Has(sess.Tasks, tasks.ResetPassword) && u.PasswordDigest != "" {
		if err := s.checkCurrentPassword(ctx, u, p.CurrentPassword, "current_password"); err != nil {
			return nil, nil, err
		}
	}
	if err := s.checkNewPassword(ctx, u, p.NewPassword); err != nil {
		var e *apierr.Error
		if errors.As(err, &e) {
			return nil, nil, e.WithParam("new_password")
		}
		return nil, nil, err
	}
	nu, err := s.SetPassword(ctx, u, p.NewPassword, sess.ID, p.SignOutOthers)
	if err != nil {
		return nil, nil, err
	}
	sess, err = s.completeTasks(ctx, u.ID, sess, tasks.PasswordSet)
	if err != nil {
		return nil, nil, err
	}
	return nu, sess, nil
}

// completeTasks finishes the tasks of sess that event e completes and
// returns the session as it is then (active when none is left).
func (s *Service) completeTasks(ctx context.Context, uid string, sess *session.Session, e tasks.Event) (*session.Session, error) {
	for _, t := range tasks.Completes(e) {
		if !tasks.Has(sess.Tasks, t) {
			continue
		}
		ns, err := s.sessions.CompleteTask(ctx, sess.ID, t)
		if err != nil {
			return nil, err
		}
		s.emit(ctx, "task_completed", zap.String("task", t), zap.String("user_id", uid), zap.String("session_id", sess.ID))
		sess = ns
	}
	return sess, nil
}

// checkCurrentPassword verifies the current password of a signed-in user
// (a password change, a reverification), given as parameter param; a
// wrong one counts against the lockout like a sign-in.
func (s *Service) checkCurrentPassword(ctx context.Context, u *users.User, pw, param string) error {
	if pw == "" {
		return paramMissing(param)
	}
	if err := s.lockout.check(ctx, userSubject(u.ID)); err != nil {
		return err
	}
	ok, _, err := s.hasher.Verify(ctx, pw, u.PasswordDigest)
	if err != nil {
		return s.hashFailed(err, "verifying current password")
	}
	if !ok {
		if err := s.lockout.fail(ctx, userSubject(u.ID)); err != nil {
			return err
		}
		return apierr.FormPasswordIncorrect.WithParam(param)
	}
	return nil
}
