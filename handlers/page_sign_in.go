package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/signin"
)

// The sign-in page: identifier and password; after a right but
// compromised password, a code at the user's own email or phone instead
// (page_sign_in_code.go).

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	d := s.flowPage(r, "Sign in", "to continue to "+s.cfg.AppName, stepPassword, redirectParam(r))
	if s.signedInGoesOn(w, r, d.Redirect) {
		return
	}
	resend := func(w http.ResponseWriter, r *http.Request, d *pageData) { s.resend(w, r, d, s.signInCodeStep()) }
	second := func(w http.ResponseWriter, r *http.Request, d *pageData) {
		s.secondFactorForm(w, r, d, r.PostForm.Get("op"))
	}
	s.serveForm(w, r, d, "sign_in", d.SignInURL, formOps{
		"": s.signInPassword, "password": s.signInPassword, "start_code": s.signInStartCode,
		"code": s.signInCode, "resend_code": resend,
		"second_factor": second, "choose_factor": second, "resend_second": second,
	})
}

func (s *Server) signInPassword(w http.ResponseWriter, r *http.Request, d *pageData) {
	ident := strings.TrimSpace(r.PostForm.Get("identifier"))
	pw := r.PostForm.Get("password")
	d.Identifier = ident
	if ident == "" {
		d.Fields["identifier"] = "Enter your email address, phone number or username."
	}
	if pw == "" {
		d.Fields["password"] = "Enter your password."
	}
	if len(d.Fields) > 0 {
		s.render(w, r, http.StatusUnprocessableEntity, "sign_in", d)
		return
	}
	c, ok := s.pageClient(w, r)
	if !ok {
		return
	}
	res, err := s.d.SignIn.Create(r.Context(), signInRequest(r, c), signin.CreateParams{
		Strategy: signin.StrategyPassword, Identifier: ident, Password: pw,
	})
	if err != nil {
		// A right but compromised password: the page offers a code instead.
		var e *apierr.Error
		if errors.As(err, &e) && errors.Is(e, apierr.FormPasswordCompromised) {
			d.Compromised = true
			d.Error = e.LongMessage
			if e.LongMessage == "" {
				d.Error = "Your password may be compromised. Sign in with a code instead."
			}
			s.render(w, r, e.Status, "sign_in", d)
			return
		}
		s.renderErr(w, r, d, "sign_in", err, "identifier", "password")
		return
	}
	s.finishSignIn(w, r, c, res, d.Redirect)
}
