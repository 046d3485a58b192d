package handlers

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/authgate/authgate/session"
)

// The client endpoints: one client per browser, found by the __client
// cookie.

func (s *Server) getClient(w http.ResponseWriter, r *http.Request) {
	c, err := s.loadClient(r.Context(), r)
	s.writeClient(w, r, c, err)
}

func (s *Server) createClient(w http.ResponseWriter, r *http.Request) {
	c, err := s.ensureClient(w, r)
	s.writeClient(w, r, c, err)
}

// writeClient answers with the client as both response and client (and,
// as respond does, the new cookie of a rotated client).
func (s *Server) writeClient(w http.ResponseWriter, r *http.Request, c *session.Client, err error) {
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	if cj, ok := s.sendClient(w, r, c); ok {
		writeJSON(w, http.StatusOK, map[string]any{"response": cj, "client": cj})
	}
}

// deleteClient signs out of every session of the client (DELETE
// /v1/client, clerk-js's signOut without a persisted client).
func (s *Server) deleteClient(w http.ResponseWriter, r *http.Request) {
	s.signOutAll(w, r, false)
}

// removeClientSessions signs out of every session of the client and
// answers the client, now without sessions (DELETE /v1/client/sessions,
// what clerk-js's signOut sends by default).
func (s *Server) removeClientSessions(w http.ResponseWriter, r *http.Request) {
	s.signOutAll(w, r, true)
}

// signOutAll ends every session of the caller's client and clears the
// session cookie; the response is the client itself when answerClient.
func (s *Server) signOutAll(w http.ResponseWriter, r *http.Request, answerClient bool) {
	c, err := s.signOutClient(r)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.clearSessionCookie(w, r)
	if answerClient {
		s.writeClient(w, r, c, nil)
		return
	}
	s.respond(w, r, c, nil)
}

// signOutClient signs the caller's client (if any) out of every session
// and returns it; the API and the sign-out page share it.
func (s *Server) signOutClient(r *http.Request) (*session.Client, error) {
	ctx := r.Context()
	c, err := s.loadClient(ctx, r)
	if err != nil || c == nil {
		return c, err
	}
	ended, err := s.d.Sessions.SignOutClient(ctx, c)
	for _, sess := range ended {
		s.signedOut(r, sess)
	}
	return c, err
}

// signedOut forgets a session that just ended on this instance and
// records it.
func (s *Server) signedOut(r *http.Request, sess *session.Session) {
	s.ids.forget(sess.ID)
	s.d.Events.Event(r.Context(), "sign_out", zap.String("session_id", sess.ID), zap.String("user_id", sess.UserID))
}
