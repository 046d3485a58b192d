package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/users"
)

// routes registers the API and the pages.
func (s *Server) routes() {
	mux := http.NewServeMux()
	p := s.cfg.Prefix
	api := func(pattern string, h http.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		mux.Handle(method+" "+p+path, s.apiMiddleware(h))
	}
	mux.HandleFunc("GET "+p+"/.well-known/jwks.json", s.jwks)
	mux.HandleFunc("GET "+p+"/v1/jwks", s.jwks)
	api("GET /v1/environment", s.environment)
	// clerk-js with a development key (pk_test_) PATCHes the environment
	// at load; nothing in it is writable, so the answer is the same.
	api("PATCH /v1/environment", s.environment)
	api("GET /v1/client", s.getClient)
	api("POST /v1/client", s.createClient)
	api("PUT /v1/client", s.createClient)
	api("DELETE /v1/client", s.deleteClient)
	api("DELETE /v1/client/sessions", s.removeClientSessions)
	api("POST /v1/client/sign_ins", s.createSignIn)
	api("GET /v1/client/sign_ins/{id}", s.getSignIn)
	api("POST /v1/client/sign_ins/{id}/prepare_first_factor", s.prepareFirstFactor)
	api("POST /v1/client/sign_ins/{id}/attempt_first_factor", s.attemptFirstFactor)
	api("POST /v1/client/sign_ins/{id}/reset_password", s.resetPassword)
	api("POST /v1/client/sessions/{id}/touch", s.touchSession)
	api("POST /v1/client/sessions/{id}/tokens", s.sessionToken)
	api("POST /v1/client/sessions/{id}/end", s.endSession(session.StatusEnded))
	api("POST /v1/client/sessions/{id}/remove", s.endSession(session.StatusRemoved))
	api("POST /v1/me/change_password", s.changePassword)
	mux.Handle(p+"/v1/", s.apiMiddleware(func(w http.ResponseWriter, r *http.Request) {
		apierr.Write(w, apierr.ResourceNotFound.WithLongMessage("No such endpoint: "+r.Method+" "+strings.TrimPrefix(r.URL.Path, p)))
	}))
	s.pageRoutes(mux)
	s.mux = mux
}

// apiMiddleware applies the method override, the Origin check on state
// changes and no-store caching.
func (s *Server) apiMiddleware(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if o := r.Header.Get("Origin"); o == "" || o != origin(r) {
				apierr.Write(w, apierr.OriginInvalid)
				return
			}
		}
		h(w, r)
	})
}

// methodOverride turns POST ?_method=DELETE|PATCH|PUT into that method
// (Clerk's Safari workaround).
func methodOverride(r *http.Request) {
	if r.Method != http.MethodPost {
		return
	}
	switch m := strings.ToUpper(r.URL.Query().Get("_method")); m {
	case http.MethodDelete, http.MethodPatch, http.MethodPut:
		r.Method = m
	}
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(s.d.Tokens.JWKS())
}

// respond writes {"response": v, "client": <client>}.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, c *session.Client, v any) {
	cj, err := s.renderClient(r.Context(), r, c)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"response": v, "client": cj})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) environment(w http.ResponseWriter, r *http.Request) {
	cfg := s.d.SignIn.Config()
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "environment",
		"auth_config": map[string]any{
			"object": "auth_config", "single_session_mode": false, "first_factors": []string{
				signin.StrategyPassword, signin.StrategyEmailCode, signin.StrategyPhoneCode,
				signin.StrategyResetPasswordEmail, signin.StrategyResetPasswordPhone,
			},
		},
		"display_config": map[string]any{
			"object": "display_config", "application_name": s.cfg.AppName,
			"sign_in_url": s.cfg.SignInURL, "after_sign_in_url": s.cfg.AfterSignInURL,
		},
		"user_settings": map[string]any{
			"attributes": map[string]any{
				"email_address": map[string]any{"enabled": true, "used_for_first_factor": true, "first_factors": []string{"email_code"}},
				"phone_number":  map[string]any{"enabled": true, "used_for_first_factor": true, "first_factors": []string{"phone_code"}},
				"username":      map[string]any{"enabled": true, "used_for_first_factor": true},
				"password":      map[string]any{"enabled": true, "required": false},
			},
			"password_settings": map[string]any{
				"min_length": s.d.PasswordMinLength, "max_length": 256, "disable_hibp": false,
				"enforce_hibp_on_sign_in": cfg.BreachOnSignIn,
			},
			"attack_protection": map[string]any{
				"enumeration_protection": map[string]any{"enabled": cfg.EnumerationProtection},
				"user_lockout": map[string]any{
					"enabled": true, "max_attempts": cfg.LockoutAttempts,
					"duration_in_minutes": int(cfg.LockoutDuration.Minutes()),
				},
			},
		},
	})
}

func (s *Server) getClient(w http.ResponseWriter, r *http.Request) {
	c, err := s.loadClient(r.Context(), r)
	s.writeClient(w, r, c, err)
}

func (s *Server) createClient(w http.ResponseWriter, r *http.Request) {
	c, err := s.ensureClient(w, r)
	s.writeClient(w, r, c, err)
}

// writeClient answers with the client as both response and client.
func (s *Server) writeClient(w http.ResponseWriter, r *http.Request, c *session.Client, err error) {
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	cj, err := s.renderClient(r.Context(), r, c)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"response": cj, "client": cj})
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
	ctx := r.Context()
	c, err := s.loadClient(ctx, r)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	if c != nil {
		if err := s.signOutClient(r, c); err != nil {
			s.writeErr(w, r, err)
			return
		}
	}
	s.clearSessionCookie(w, r)
	if answerClient {
		s.writeClient(w, r, c, nil)
		return
	}
	s.respond(w, r, c, nil)
}

func (s *Server) signOutClient(r *http.Request, c *session.Client) error {
	ctx := r.Context()
	for _, id := range c.SessionIDs {
		sess, err := s.d.Sessions.End(ctx, id, session.StatusEnded)
		if errors.Is(err, session.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		s.forget(id)
		s.d.Events.Event(ctx, "sign_out", zap.String("session_id", id), zap.String("user_id", sess.UserID))
	}
	return s.d.Sessions.UpdateClient(ctx, c, func(c *session.Client) {
		c.SessionIDs, c.LastActiveSessionID, c.SignInID = nil, "", ""
	})
}

// withSignIn runs a sign-in call for the caller's client.
func (s *Server) withSignIn(w http.ResponseWriter, r *http.Request, needClient bool,
	call func(rq signin.Request, p params) (*signin.Result, error)) {
	p, err := readParams(w, r)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var c *session.Client
	if needClient {
		c, err = s.ensureClient(w, r)
	} else {
		c, err = s.loadClient(r.Context(), r)
		if err == nil && c == nil {
			err = signin.ErrNotFound
		}
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	res, err := call(signin.Request{Client: c, IP: clientIP(r)}, p)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	// Only the request that completed the attempt signs the browser in;
	// reading a completed attempt later never mints a token.
	if res.Session != nil && res.Attempt.Status == signin.StatusComplete && r.Method == http.MethodPost {
		if jwt, err := s.mint(r.Context(), r, res.Session); err == nil {
			s.setSessionCookie(w, r, jwt)
		}
	}
	s.respond(w, r, c, renderSignIn(res, s.d.SignIn.Config().EnumerationProtection))
}

func (s *Server) createSignIn(w http.ResponseWriter, r *http.Request) {
	s.withSignIn(w, r, true, func(rq signin.Request, p params) (*signin.Result, error) {
		return s.d.SignIn.Create(r.Context(), rq, signin.CreateParams{
			Strategy: p["strategy"], Identifier: p["identifier"], Password: p["password"],
		})
	})
}

func (s *Server) getSignIn(w http.ResponseWriter, r *http.Request) {
	s.withSignIn(w, r, false, func(rq signin.Request, _ params) (*signin.Result, error) {
		return s.d.SignIn.Get(r.Context(), rq, r.PathValue("id"))
	})
}

func (s *Server) prepareFirstFactor(w http.ResponseWriter, r *http.Request) {
	s.withSignIn(w, r, false, func(rq signin.Request, p params) (*signin.Result, error) {
		return s.d.SignIn.Prepare(r.Context(), rq, r.PathValue("id"), signin.PrepareParams{
			Strategy: p["strategy"], EmailAddressID: p["email_address_id"], PhoneNumberID: p["phone_number_id"],
		})
	})
}

func (s *Server) attemptFirstFactor(w http.ResponseWriter, r *http.Request) {
	s.withSignIn(w, r, false, func(rq signin.Request, p params) (*signin.Result, error) {
		return s.d.SignIn.AttemptFirstFactor(r.Context(), rq, r.PathValue("id"), signin.AttemptParams{
			Strategy: p["strategy"], Code: strings.TrimSpace(p["code"]), Password: p["password"],
		})
	})
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) {
	s.withSignIn(w, r, false, func(rq signin.Request, p params) (*signin.Result, error) {
		others, err := p.flag("sign_out_of_other_sessions", true)
		if err != nil {
			return nil, err
		}
		return s.d.SignIn.ResetPassword(r.Context(), rq, r.PathValue("id"), p["password"], others)
	})
}

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
		return nil, nil, apierr.ResourceNotFound.WithLongMessage("No session was found with this id.")
	}
	sess, err := s.d.Sessions.Get(ctx, id)
	if errors.Is(err, session.ErrNotFound) || (err == nil && sess.ClientID != c.ID) {
		return nil, nil, apierr.ResourceNotFound.WithLongMessage("No session was found with this id.")
	}
	return c, sess, err
}

func (s *Server) touchSession(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, sess, err := s.clientSession(r, r.PathValue("id"))
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	if !sess.SignedIn(s.d.Now()) {
		s.writeErr(w, r, apierr.SignedOut)
		return
	}
	if sess, err = s.d.Sessions.Touch(ctx, sess.ID); err != nil {
		s.writeErr(w, r, err)
		return
	}
	if err := s.d.Sessions.UpdateClient(ctx, c, func(c *session.Client) { c.LastActiveSessionID = sess.ID }); err != nil {
		s.writeErr(w, r, err)
		return
	}
	u, err := s.d.Users.Get(ctx, sess.UserID)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	jwt, err := s.mint(ctx, r, sess)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.setSessionCookie(w, r, jwt)
	s.respond(w, r, c, renderSession(sess, u, jwt))
}

// sessionToken mints a fresh JWT; the body is the token object itself.
func (s *Server) sessionToken(w http.ResponseWriter, r *http.Request) {
	_, sess, err := s.clientSession(r, r.PathValue("id"))
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	if !sess.SignedIn(s.d.Now()) {
		s.writeErr(w, r, apierr.SignedOut)
		return
	}
	jwt, err := s.mint(r.Context(), r, sess)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.setSessionCookie(w, r, jwt)
	writeJSON(w, http.StatusOK, tokenJSON{Object: "token", JWT: jwt})
}

func (s *Server) endSession(status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		c, sess, err := s.clientSession(r, r.PathValue("id"))
		if err != nil {
			s.writeErr(w, r, err)
			return
		}
		if sess, err = s.d.Sessions.End(ctx, sess.ID, status); err != nil {
			s.writeErr(w, r, err)
			return
		}
		s.forget(sess.ID)
		err = s.d.Sessions.UpdateClient(ctx, c, func(c *session.Client) {
			if status == session.StatusRemoved {
				c.SessionIDs = slices.DeleteFunc(c.SessionIDs, func(id string) bool { return id == sess.ID })
			}
			if c.LastActiveSessionID == sess.ID {
				c.LastActiveSessionID = ""
			}
		})
		if err != nil {
			s.writeErr(w, r, err)
			return
		}
		if c.LastActiveSessionID == "" {
			s.clearSessionCookie(w, r)
		}
		s.d.Events.Event(ctx, "sign_out", zap.String("session_id", sess.ID), zap.String("user_id", sess.UserID))
		u, _ := s.d.Users.Get(ctx, sess.UserID)
		s.respond(w, r, c, renderSession(sess, u, ""))
	}
}

// currentSession is the caller's signed-in session (active or pending).
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

// ChangePassword sets the signed-in user's password; for a pending
// session with the reset-password task this completes the task.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(w, r)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	c, sess, u, err := s.currentSession(w, r)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	others, err := p.flag("sign_out_of_other_sessions", true)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	nu, nsess, err := s.d.SignIn.ChangePassword(r.Context(), u, sess, signin.ChangeParams{
		NewPassword: p["new_password"], CurrentPassword: p["current_password"], SignOutOthers: others,
	})
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.forget(sess.ID)
	if jwt, err := s.mint(r.Context(), r, nsess); err == nil {
		s.setSessionCookie(w, r, jwt)
	}
	uj := nu.ToJSON()
	s.respond(w, r, c, uj)
}
