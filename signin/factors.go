package signin

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/defaults"
	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/users"
)

// A signed-in user's second factors: what the JSON API (/v1/me/...) and
// the account and setup-mfa pages call. Each change needs a session that
// may make it (mayChange) and comes back with what to show once (backup
// codes) and the session as it is afterwards (adding a factor completes
// the setup-mfa task).

// MFAConfig is the deployment's second-factor configuration.
func (s *Service) MFAConfig() mfa.Config { return s.mfa.Config() }

// MFAStatus is the user's second factors (two_factor_enabled,
// totp_enabled, backup_code_enabled; the reserved phones, limited to the
// user's own).
func (s *Service) MFAStatus(ctx context.Context, u *users.User) (mfa.Status, error) {
	st, err := s.mfa.Status(ctx, u.ID)
	if err != nil {
		return mfa.Status{}, err
	}
	return ownFactors(u, st), nil
}

// mayChange checks that sess may change its user's second factors: the
// session is active, or (to add one) its next task is setup-mfa; and its
// user proved a first factor within defaults.ReverificationWindow (else
// apierr.SessionReverificationRequired: Reverify, then try again).
func (s *Service) mayChange(sess *session.Session, adding bool) error {
	setup := len(sess.Tasks) > 0 && sess.Tasks[0] == tasks.SetupMFA
	switch {
	case !sess.SignedIn(s.now()):
		return apierr.SignedOut
	case sess.Status == session.StatusActive, adding && setup:
	default:
		return apierr.SessionTaskPending.WithMeta("tasks", sess.Tasks)
	}
	if s.now().Sub(sess.FirstFactorVerifiedAt()) > defaults.ReverificationWindow {
		return apierr.SessionReverificationRequired
	}
	return nil
}

// EnrollTOTP starts setting up an authenticator app: the secret and the
// otpauth URI to show (as text and as a QR code).
func (s *Service) EnrollTOTP(ctx context.Context, u *users.User, sess *session.Session) (*mfa.Enrollment, error) {
	if err := s.mayChange(sess, true); err != nil {
		return nil, err
	}
	return s.mfa.Enroll(ctx, u.ID, accountName(u))
}

// accountName names the user in an authenticator app.
func accountName(u *users.User) string {
	for _, v := range []string{u.PrimaryEmail(), u.Username, u.PrimaryPhone()} {
		if v != "" {
			return v
		}
	}
	return u.ID
}

// FactorAdded is a second factor just added.
type FactorAdded struct {
	// TOTP is the verified authenticator app (nil for a phone).
	TOTP *mfa.Verified
	// BackupCodes are the user's first backup codes, to show once; nil
	// when none were made.
	BackupCodes []string
	// Session is the session afterwards: active when adding the factor
	// was its last task (the caller mints it a new token then).
	Session *session.Session
}

// VerifyTOTP finishes setting up the authenticator app with its first
// code; it completes the setup-mfa task of sess.
func (s *Service) VerifyTOTP(ctx context.Context, u *users.User, sess *session.Session, code string) (*FactorAdded, error) {
	if err := s.mayChange(sess, true); err != nil {
		return nil, err
	}
	if code == "" {
		return nil, paramMissing("code")
	}
	v, err := s.mfa.Verify(ctx, u.ID, code)
	if err != nil {
		return nil, err
	}
	s.emit(ctx, "second_factor_added", zap.String("strategy", StrategyTOTP), zap.String("user_id", u.ID))
	ns, err := s.completeTasks(ctx, u.ID, sess, tasks.SecondFactorAdded)
	if err != nil {
		return nil, err
	}
	return &FactorAdded{TOTP: v, BackupCodes: v.BackupCodes, Session: ns}, nil
}

// DisableTOTP removes the user's authenticator app (and the backup codes
// with the last second factor).
func (s *Service) DisableTOTP(ctx context.Context, u *users.User, sess *session.Session) error {
	if err := s.mayChange(sess, false); err != nil {
		return err
	}
	if err := s.mfa.DisableTOTP(ctx, u.ID); err != nil {
		return err
	}
	s.emit(ctx, "second_factor_removed", zap.String("strategy", StrategyTOTP), zap.String("user_id", u.ID))
	return nil
}

// RegenerateBackupCodes replaces the user's backup codes.
func (s *Service) RegenerateBackupCodes(ctx context.Context, u *users.User, sess *session.Session) (*mfa.BackupCodes, error) {
	if err := s.mayChange(sess, false); err != nil {
		return nil, err
	}
	set, err := s.mfa.RegenerateBackupCodes(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	s.emit(ctx, "backup_codes_created", zap.String("user_id", u.ID))
	return set, nil
}

// ReservePhone reserves (on) or releases one of the user's phone numbers
// as a second factor (SMS codes; phone_code must be on). Reserving one
// completes the setup-mfa task of sess.
func (s *Service) ReservePhone(ctx context.Context, u *users.User, sess *session.Session, phoneID string, on bool) (*FactorAdded, error) {
	if err := s.mayChange(sess, on); err != nil {
		return nil, err
	}
	if phoneValue(u, phoneID) == "" {
		return nil, apierr.ResourceNotFound.WithLongMessage("No phone number was found with this id.")
	}
	codes, err := s.mfa.ReservePhone(ctx, u.ID, phoneID, on)
	if err != nil {
		return nil, err
	}
	out := &FactorAdded{BackupCodes: codes, Session: sess}
	if !on {
		s.emit(ctx, "second_factor_removed", zap.String("strategy", StrategyPhoneCode), zap.String("user_id", u.ID))
		return out, nil
	}
	s.emit(ctx, "second_factor_added", zap.String("strategy", StrategyPhoneCode), zap.String("user_id", u.ID))
	if out.Session, err = s.completeTasks(ctx, u.ID, sess, tasks.SecondFactorAdded); err != nil {
		return nil, err
	}
	return out, nil
}

// Reverify records that the user of sess proved their password again
// (Clerk's session reverification), for the changes that ask for it.
// A wrong password counts toward the lockout like a sign-in. A user
// without a password reverifies with a code (reverify_code.go).
func (s *Service) Reverify(ctx context.Context, u *users.User, sess *session.Session, pw string) (*session.Session, error) {
	if !sess.SignedIn(s.now()) {
		return nil, apierr.SignedOut
	}
	if u.PasswordDigest == "" {
		return nil, apierr.StrategyForUserInvalid.WithParam("strategy").
			WithLongMessage("This account has no password: verify with a code instead.")
	}
	if err := s.checkCurrentPassword(ctx, u, pw, "password"); err != nil {
		return nil, err
	}
	ns, err := s.sessions.Reverified(ctx, sess.ID)
	if errors.Is(err, session.ErrNotFound) {
		return nil, apierr.SignedOut
	}
	if err != nil {
		return nil, err
	}
	s.emit(ctx, "session_reverified", zap.String("user_id", u.ID), zap.String("session_id", sess.ID))
	return ns, nil
}
