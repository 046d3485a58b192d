package handlers

import (
	"net/http"
	"strings"

	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/users"
)

// The forgot-password page: an email address or phone number, then the
// code sent there with a new password (or the new password alone when
// the code went through but the password was refused).

func (s *Server) forgotPasswordPage(w http.ResponseWriter, r *http.Request) {
	d := s.flowPage(r, "Reset your password", "Enter the email address or phone number of your account and we will send you a code.",
		stepIdentify, redirectParam(r))
	resend := func(w http.ResponseWriter, r *http.Request, d *pageData) { s.resend(w, r, d, s.forgotCodeStep()) }
	s.serveForm(w, r, d, "forgot_password", d.ForgotURL, formOps{
		"": s.forgotStart, "start": s.forgotStart, "reset": s.forgotReset,
		"set_password": s.forgotSetPassword, "resend": resend,
	})
}

// resetStrategy is the reset strategy for an identifier typed on the
// page, or a message for the field when it is neither an email address
// nor a phone number.
func resetStrategy(ident string) (strategy, problem string) {
	if ident == "" {
		return "", "Enter your email address or phone number."
	}
	kind, _, err := users.Classify(ident)
	if err != nil {
		return "", "Enter a valid email address, or a phone number starting with + and the country code."
	}
	switch kind {
	case users.KindEmail:
		return signin.StrategyResetPasswordEmail, ""
	case users.KindPhone:
		return signin.StrategyResetPasswordPhone, ""
	}
	return "", "Enter an email address, or a phone number starting with + and the country code."
}

// forgotStart sends the code for the identifier typed.
func (s *Server) forgotStart(w http.ResponseWriter, r *http.Request, d *pageData) {
	ident := strings.TrimSpace(r.PostForm.Get("identifier"))
	d.Identifier = ident
	strategy, problem := resetStrategy(ident)
	if problem != "" {
		d.Fields["identifier"] = problem
		s.render(w, r, http.StatusUnprocessableEntity, "forgot_password", d)
		return
	}
	c, ok := s.pageClient(w, r)
	if !ok {
		return
	}
	res, err := s.d.SignIn.Create(r.Context(), signInRequest(r, c), signin.CreateParams{Strategy: strategy, Identifier: ident})
	if err != nil {
		s.renderErr(w, r, d, "forgot_password", err, "identifier")
		return
	}
	s.showForgotCode(d, res)
	s.render(w, r, http.StatusOK, "forgot_password", d)
}

// forgotReset checks the code and sets the new password.
func (s *Server) forgotReset(w http.ResponseWriter, r *http.Request, d *pageData) {
	ctx := r.Context()
	step := s.forgotCodeStep()
	c, id, strategy, ok := s.readCodeForm(w, r, d, step)
	if !ok {
		return
	}
	code := readCode(r, d)
	pw, ok := readNewPassword(r, d)
	if !ok || code == "" || c == nil {
		s.reload(w, r, d, step, c, id, http.StatusUnprocessableEntity)
		return
	}
	rq := signInRequest(r, c)
	var res *signin.Result
	var err error
	if d.SignOutAll {
		res, err = s.d.SignIn.AttemptFirstFactor(ctx, rq, id, signin.AttemptParams{Strategy: strategy, Code: code, Password: pw})
	} else {
		// Keeping other sessions needs reset_password's flag: verify the
		// code first, then set the password.
		res, err = s.d.SignIn.AttemptFirstFactor(ctx, rq, id, signin.AttemptParams{Strategy: strategy, Code: code})
		if err == nil && res.Attempt.Status == signin.StatusNeedsNewPassword {
			res, err = s.d.SignIn.ResetPassword(ctx, rq, id, pw, false)
		}
	}
	if err != nil {
		s.stepFailed(w, r, d, step, c, id, err, "code", "password")
		return
	}
	s.finishSignIn(w, r, c, res, d.Redirect)
}

// forgotSetPassword sets the password of an attempt whose code was
// verified (the code step went through but the password was refused).
func (s *Server) forgotSetPassword(w http.ResponseWriter, r *http.Request, d *pageData) {
	ctx := r.Context()
	step := s.forgotCodeStep()
	id := r.PostForm.Get("sign_in_id")
	c, err := s.loadClient(ctx, r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	pw, ok := readNewPassword(r, d)
	if !ok || c == nil {
		s.reload(w, r, d, step, c, id, http.StatusUnprocessableEntity)
		return
	}
	res, err := s.d.SignIn.ResetPassword(ctx, signInRequest(r, c), id, pw, d.SignOutAll)
	if err != nil {
		s.stepFailed(w, r, d, step, c, id, err, "password")
		return
	}
	s.finishSignIn(w, r, c, res, d.Redirect)
}
