package signin

import (
	"context"

	"go.uber.org/zap"

	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/users"
)

// SetCompromised marks (on) or clears the user's password as compromised.
// Marking it either revokes every session of the user (revokeAll) or puts
// the signed-in ones into the reset-password task, and tells the user. An
// unknown id gives an error wrapping users.ErrNotFound.
func (s *Service) SetCompromised(ctx context.Context, userID string, on, revokeAll bool) (*users.User, error) {
	u, err := s.users.Update(ctx, userID, func(u *users.User) error {
		u.PasswordCompromised = on
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !on {
		s.emit(ctx, "password_compromised_unset", zap.String("user_id", u.ID))
		return u, nil
	}
	if revokeAll {
		n, err := s.sessions.RevokeUser(ctx, u.ID, "")
		if err != nil {
			return nil, err
		}
		s.emit(ctx, "sessions_revoked", zap.String("user_id", u.ID), zap.Int("count", n))
	} else if err := s.pendAll(ctx, u.ID); err != nil {
		return nil, err
	}
	s.Notify(u, notify.KindPasswordCompromised)
	s.emit(ctx, "password_compromised_set", zap.String("user_id", u.ID))
	return u, nil
}

// RequireReset forces the reset-password task at the user's next sign-in
// without marking the password compromised; signed-in sessions get the
// task at once.
func (s *Service) RequireReset(ctx context.Context, userID string) (*users.User, error) {
	u, err := s.users.Update(ctx, userID, func(u *users.User) error {
		u.ResetRequired = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.pendAll(ctx, u.ID); err != nil {
		return nil, err
	}
	s.emit(ctx, "password_reset_required", zap.String("user_id", u.ID))
	return u, nil
}

// pendAll puts the user's signed-in sessions into the reset-password
// task: no session keeps working normally on a password that must be
// replaced.
func (s *Service) pendAll(ctx context.Context, uid string) error {
	n, err := s.sessions.RequireTask(ctx, uid, tasks.ResetPassword)
	if err != nil {
		return err
	}
	s.emit(ctx, "task_started", zap.String("task", tasks.ResetPassword), zap.String("user_id", uid), zap.Int("sessions", n))
	return nil
}

// DisableMFA removes every second factor of the user (an administrator's
// answer to a lost phone). With a second factor required, the user's
// signed-in sessions get the setup-mfa task at once, as new ones will.
// An unknown id gives an error wrapping users.ErrNotFound.
func (s *Service) DisableMFA(ctx context.Context, userID string) (*users.User, error) {
	u, err := s.users.Get(ctx, userID)
	if err != nil {
		return nil, err
	}
	had, err := s.mfa.Reset(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if s.mfa.Config().Required {
		n, err := s.sessions.RequireTask(ctx, u.ID, tasks.SetupMFA)
		if err != nil {
			return nil, err
		}
		s.emit(ctx, "task_started", zap.String("task", tasks.SetupMFA), zap.String("user_id", u.ID), zap.Int("sessions", n))
	}
	s.emit(ctx, "mfa_disabled", zap.String("user_id", u.ID), zap.Bool("had_factors", had))
	return u, nil
}
