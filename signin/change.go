package signin

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/users"
)

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
		return nil, nil, apierr.FormParamMissing.WithParam("new_password").WithLongMessage("new_password must be included.")
	}
	// A reset-password task means the user already proved who they are.
	resetTask := tasks.Has(sess.Tasks, tasks.ResetPassword)
	if !resetTask && u.PasswordDigest != "" {
		if p.CurrentPassword == "" {
			return nil, nil, apierr.FormParamMissing.WithParam("current_password").WithLongMessage("current_password must be included.")
		}
		if err := s.checkLocked(ctx, u.ID); err != nil {
			return nil, nil, err
		}
		ok, _, err := s.hasher.Verify(ctx, p.CurrentPassword, u.PasswordDigest)
		if err != nil {
			if s.hasher.Busy(err) {
				return nil, nil, apierr.TooManyRequests.WithRetryAfter(time.Second)
			}
			return nil, nil, err
		}
		if !ok {
			if err := s.failed(ctx, u.ID); err != nil {
				return nil, nil, err
			}
			return nil, nil, apierr.FormPasswordIncorrect.WithParam("current_password")
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
	for _, t := range tasks.Completes(tasks.PasswordSet) {
		if !tasks.Has(sess.Tasks, t) {
			continue
		}
		ns, err := s.sessions.CompleteTask(ctx, sess.ID, t)
		if err != nil {
			return nil, nil, err
		}
		s.emit(ctx, "task_completed", zap.String("task", t), zap.String("user_id", u.ID), zap.String("session_id", sess.ID))
		sess = ns
	}
	return nu, sess, nil
}
