package handlers

import (
	"errors"
	"net/http"
	"slices"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/users"
)

// The session endpoints: a session of the caller's client made active,
// asked for a token, or signed out.

// errNoSuchSession is the answer for a session the client does not have.
var errNoSuchSession = apierr.ResourceNotFound.WithLongMessage("No session was found with this id.")

// clientSession finds a session of the caller's client by id.
func (s *Server) clientSession(r *http.Request, id string) (*session.Client, *session.Session, error) {
	ctx := r.Context()
	c, err := s.loadClient(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	if c == nil {
		return nil, nil, apierr.SignedOut
	}
	if !slices.Contains(c.SessionIDs, id) {
		return nil, nil, errNoSuchSession
	}
	sess, err := s.d.Sessions.Get(ctx, id)
	if errors.Is(err, session.ErrNotFound) || (err == nil && sess.ClientID != c.ID) {
		return nil, nil, errNoSuchSession
	}
	return c, sess, err
}

// signedInClientSession is clientSession for a session that must still
// be signed in (signed_out otherwise).
func (s *Server) signedInClientSession(r *http.Request, id string) (*session.Client, *session.Session, error) {
	c, sess, err := s.clientSession(r, id)
	if err == nil && !sess.SignedIn(s.d.Now()) {
		err = apierr.SignedOut
	}
	return c, sess, err
}

// touchSession makes a session the client's active one and answers it
// with a fresh token.
func (s *Server) touchSession(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, sess, err := s.signedInClientSession(r, r.PathValue("id"))
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	if sess, err = s.d.Sessions.SetActive(ctx, c, sess.ID); err != nil {
		s.writeErr(w, r, err)
		return
	}
	u, err := s.d.Users.Get(ctx, sess.UserID)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	jwt, err := s.issueToken(w, r, sess)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.respondSession(w, r, c, sess, u, jwt)
}

// respondSession answers the session sess of user u (with jwt, when one
// was minted) for the client c.
func (s *Server) respondSession(w http.ResponseWriter, r *http.Request, c *session.Client, sess *session.Session, u *users.User, jwt string) {
	sj, err := s.renderSessionOf(r.Context(), sess, u, jwt)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.respond(w, r, c, sj)
}

// createSessionToken mints a fresh JWT; the body is the token object
// itself.
func (s *Server) createSessionToken(w http.ResponseWriter, r *http.Request) {
	_, sess, err := s.signedInClientSession(r, r.PathValue("id"))
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	// A token refresh changes nothing of the sign-in: __client_uat stays
	// unless it cannot go with the new token (renewedAt).
	jwt, iat, err := s.mintAt(r.Context(), r, sess)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.renewedAt(w, r, jwt, iat)
	writeJSON(w, http.StatusOK, tokenJSON{Object: "token", JWT: jwt})
}

// issueToken mints a token for sess after a change of the client's
// sign-in state (a sign-in or sign-up completed, a session made active,
// a task done) and sets it as the __session cookie, with __client_uat
// saying when the change happened; it returns the token for the bodies
// that carry it too.
func (s *Server) issueToken(w http.ResponseWriter, r *http.Request, sess *session.Session) (string, error) {
	jwt, iat, err := s.mintAt(r.Context(), r, sess)
	if err != nil {
		return "", err
	}
	s.signedInAt(w, r, jwt, iat)
	return jwt, nil
}

// endSession signs a session of the client out with status (ended, or
// removed from the client as well).
func (s *Server) endSession(status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		c, sess, err := s.clientSession(r, r.PathValue("id"))
		if err != nil {
			s.writeErr(w, r, err)
			return
		}
		ended, err := s.d.Sessions.SignOut(ctx, c, sess.ID, status)
		if ended != nil {
			s.signedOut(r, ended)
		}
		if err != nil {
			s.writeErr(w, r, err)
			return
		}
		sess = ended
		if c.LastActiveSessionID == "" {
			s.clearSessionCookie(w, r)
		}
		// The session is answered without its user when the user is gone.
		u, err := s.d.Users.Get(ctx, sess.UserID)
		if errors.Is(err, users.ErrNotFound) {
			s.respond(w, r, c, renderSession(sess, nil, ""))
			return
		}
		if err != nil {
			s.writeErr(w, r, err)
			return
		}
		s.respondSession(w, r, c, sess, u, "")
	}
}
