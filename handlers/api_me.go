package handlers

import (
	"errors"
	"net/http"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/users"
)

// The signed-in user's own endpoints (/v1/me).

// currentSession is the caller's signed-in session (active or pending)
// with its user and client; authentication_invalid without a session,
// signed_out when it is over or its user is gone.
func (s *Server) currentSession(w http.ResponseWriter, r *http.Request) (*session.Client, *session.Session, *users.User, error) {
	ctx := r.Context()
	id, err := s.identify(w, r)
	if err != nil {
		return nil, nil, nil, err
	}
	if id == nil {
		return nil, nil, nil, apierr.AuthenticationInvalid
	}
	sess, err := s.d.Sessions.Get(ctx, id.SessionID)
	if errors.Is(err, session.ErrNotFound) || (err == nil && !sess.SignedIn(s.d.Now())) {
		return nil, nil, nil, apierr.SignedOut
	}
	if err != nil {
		return nil, nil, nil, err
	}
	u, err := s.d.Users.Get(ctx, sess.UserID)
	if errors.Is(err, users.ErrNotFound) {
		return nil, nil, nil, apierr.SignedOut
	}
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := s.loadClient(ctx, r)
	if err != nil {
		return nil, nil, nil, err
	}
	return c, sess, u, nil
}

// changePassword sets the signed-in user's password; for a pending
// session with the reset-password task this completes the task.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	s.meCall(w, r, func(p params, c *session.Client, sess *session.Session, u *users.User) (any, error) {
		others, err := p.flag("sign_out_of_other_sessions", true)
		if err != nil {
			return nil, err
		}
		nu, nsess, err := s.d.SignIn.ChangePassword(r.Context(), u, sess, signin.ChangeParams{
			NewPassword: p["new_password"], CurrentPassword: p["current_password"], SignOutOthers: others,
		})
		if err != nil {
			return nil, err
		}
		// The session's tokens said "pending" until now: the browser gets
		// one that says what the session is now.
		if err := s.reissue(w, r, c, sess, nsess); err != nil {
			return nil, err
		}
		return nu.ToJSON(), nil
	})
}
