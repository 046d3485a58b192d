package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/users"
)

// The sign-in page: identifier and password; after a right but
// compromised password, a code at the user's own email or phone instead.

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	d := s.newPage(r, "Sign in", redirectParam(r))
	d.Lead = "to continue to " + s.cfg.AppName
	d.Step = stepPassword
	if r.Method != http.MethodPost {
		// Already signed in: go on (a store error just shows the form).
		if id, err := s.identify(w, r); err == nil && id != nil {
			s.goOn(w, r, id.Pending(), id.Tasks, d.Redirect)
			return
		}
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

// signInStartCode starts a sign-in with an email or SMS code (offered
// when the password is compromised).
func (s *Server) signInStartCode(w http.ResponseWriter, r *http.Request, d *pageData) {
	ctx := r.Context()
	ident := strings.TrimSpace(r.PostForm.Get("identifier"))
	d.Identifier = ident
	fail := func(err error) { s.renderErr(w, r, d, "sign_in", err, "identifier") }
	kind, _, err := users.Classify(ident)
	if err != nil {
		fail(err)
		return
	}
	c, ok := s.pageClient(w, r)
	if !ok {
		return
	}
	rq := signInRequest(r, c)
	// After a right but compromised password the client's sign-in knows
	// the user: continue it, so a username works too.
	res, err := s.compromisedSignIn(ctx, rq, c, ident)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	if res == nil {
		if res, err = s.d.SignIn.Create(ctx, rq, signin.CreateParams{Identifier: ident}); err != nil {
			fail(err)
			return
		}
	}
	strategy := codeStrategy(kind, res.User)
	res, err = s.d.SignIn.Prepare(ctx, rq, res.Attempt.ID, signin.PrepareParams{Strategy: strategy})
	if err != nil {
		fail(err)
		return
	}
	s.showSignInCode(d, res)
	s.render(w, r, http.StatusOK, "sign_in", d)
}

// compromisedSignIn returns the client's sign-in if it is the one whose
// compromised password was just given for ident, or nil.
func (s *Server) compromisedSignIn(ctx context.Context, rq signin.Request, c *session.Client, ident string) (*signin.Result, error) {
	if c.SignInID == "" {
		return nil, nil
	}
	_, norm, err := users.Classify(ident)
	if err != nil {
		return nil, nil
	}
	res, err := s.d.SignIn.Get(ctx, rq, c.SignInID)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !res.Attempt.PasswordVerified || res.Attempt.Identifier != norm || res.User == nil {
		return nil, nil
	}
	return res, nil
}

// codeStrategy picks email_code or phone_code for a code sign-in: the
// channel of the identifier typed, else (a username) the user's email,
// or their phone when they have no email.
func codeStrategy(kind users.Kind, u *users.User) string {
	switch {
	case kind == users.KindPhone:
		return signin.StrategyPhoneCode
	case kind == users.KindEmail:
		return signin.StrategyEmailCode
	case u != nil && len(u.Emails) == 0 && len(u.Phones) > 0:
		return signin.StrategyPhoneCode
	}
	return signin.StrategyEmailCode
}

// signInCode checks the code of a code sign-in.
func (s *Server) signInCode(w http.ResponseWriter, r *http.Request, d *pageData) {
	step := s.signInCodeStep()
	c, id, strategy, ok := s.readCodeForm(w, r, d, step)
	if !ok {
		return
	}
	code := readCode(r, d)
	if code == "" {
		s.reload(w, r, d, step, c, id, http.StatusUnprocessableEntity)
		return
	}
	if c == nil {
		s.reload(w, r, d, step, nil, id, http.StatusBadRequest)
		return
	}
	res, err := s.d.SignIn.AttemptFirstFactor(r.Context(), signInRequest(r, c), id, signin.AttemptParams{Strategy: strategy, Code: code})
	if err != nil {
		s.stepFailed(w, r, d, step, c, id, err, "code")
		return
	}
	s.finishSignIn(w, r, c, res, d.Redirect)
}
