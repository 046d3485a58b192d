package handlers

import (
	"net/http"
	"strings"

	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
)

// The sign-in endpoints: each runs one call of the sign-in service for
// the caller's client and answers the attempt.

// withSignIn runs a sign-in call for the caller's client; needClient
// creates the client when there is none (starting a sign-in), otherwise
// the attempt cannot exist.
func (s *Server) withSignIn(w http.ResponseWriter, r *http.Request, needClient bool,
	call func(rq signin.Request, p params) (*signin.Result, error)) {
	runFlow(s, w, r, needClient, signin.ErrNotFound, call, func(res *signin.Result) (*session.Session, any) {
		// Only the request that completed the attempt signs the browser in.
		var signedIn *session.Session
		if res.Session != nil && res.Attempt.Status == signin.StatusComplete && r.Method == http.MethodPost {
			signedIn = res.Session
		}
		return signedIn, renderSignIn(res, s.d.SignIn.Config().EnumerationProtection)
	})
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
