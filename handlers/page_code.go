package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/users"
)

// The code step that the sign-in and forgot-password pages share: a code
// was sent, the form asks for it (and, when resetting, a new password),
// and after an error the step is shown again, or the flow starts over
// when its attempt is gone.

// codeStep is one page's code step.
type codeStep struct {
	// template is the page's template, firstStep its first step.
	template  string
	firstStep string
	// expired is the error shown when the step's attempt is gone.
	expired string
	// valid reports the strategies the step's forms may post.
	valid func(strategy string) bool
	// resumes reports whether an attempt in progress is one this step
	// shows again.
	resumes func(a *signin.Attempt) bool
	// show sets d up for the step of res.
	show func(d *pageData, res *signin.Result)
	// start is the address of the flow's first step.
	start func(d *pageData) string
}

// signInCodeStep is the sign-in page's code step (email_code, phone_code).
func (s *Server) signInCodeStep() codeStep {
	return codeStep{
		template: "sign_in", firstStep: stepPassword, expired: "This sign-in has expired. Please start again.",
		valid:   func(v string) bool { return v == signin.StrategyEmailCode || v == signin.StrategyPhoneCode },
		resumes: func(*signin.Attempt) bool { return true },
		show:    s.showSignInCode,
		start:   func(d *pageData) string { return d.SignInURL },
	}
}

// forgotCodeStep is the forgot-password page's code step (the reset
// strategies), including its new-password step.
func (s *Server) forgotCodeStep() codeStep {
	return codeStep{
		template: "forgot_password", firstStep: stepIdentify, expired: "This password reset has expired. Please start again.",
		valid:   signin.Resets,
		resumes: func(a *signin.Attempt) bool { return signin.Resets(a.Verification.Strategy) },
		show:    s.showForgotCode,
		start:   func(d *pageData) string { return d.ForgotURL },
	}
}

// showSignInCode sets d up for the code step of res.
func (s *Server) showSignInCode(d *pageData, res *signin.Result) {
	d.Step = stepCode
	d.Title = "Check your " + channelWord(res.Attempt)
	d.Lead = ""
	d.SignInID = res.Attempt.ID
	d.Strategy = res.Attempt.Verification.Strategy
	d.Target = maskedTarget(res.Attempt)
	d.Enumeration = s.d.SignIn.Config().EnumerationProtection
}

// showForgotCode is the code step of a reset, or its new-password step
// once the code was verified.
func (s *Server) showForgotCode(d *pageData, res *signin.Result) {
	s.showSignInCode(d, res)
	if res.Attempt.Status == signin.StatusNeedsNewPassword {
		d.Step = stepNewPassword
		d.Title = "Set a new password"
	}
}

// reload shows step again for attempt id (after an error), or the first
// step when the attempt is gone (c nil: the caller knows it is).
func (s *Server) reload(w http.ResponseWriter, r *http.Request, d *pageData, step codeStep, c *session.Client, id string, status int) {
	if c != nil {
		res, err := s.d.SignIn.Get(r.Context(), signInRequest(r, c), id)
		if err == nil && res.Attempt.Verification != nil && res.Attempt.Status != signin.StatusComplete && step.resumes(res.Attempt) {
			step.show(d, res)
			s.render(w, r, status, step.template, d)
			return
		}
		if err != nil && !isNotFound(err) {
			s.failPage(w, r, err)
			return
		}
	}
	d.Step = step.firstStep
	d.Fields = map[string]string{}
	d.Error = step.expired
	s.render(w, r, http.StatusBadRequest, step.template, d)
}

// stepFailed answers an error of a call made for step's attempt id: a
// gone attempt starts over; the user's errors show on the step again,
// next to fields; any other error gets the failure page.
func (s *Server) stepFailed(w http.ResponseWriter, r *http.Request, d *pageData, step codeStep, c *session.Client, id string, err error, fields ...string) {
	if isNotFound(err) {
		s.reload(w, r, d, step, nil, id, http.StatusBadRequest)
		return
	}
	if status := s.showErr(w, r, d, err, fields...); status != 0 {
		s.reload(w, r, d, step, c, id, status)
	}
}

// readCodeForm reads the form of step: the attempt's id, a strategy the
// step sends, and the caller's client (nil when it has none). It reports
// false when it has answered instead: a form none of our pages sends, or
// a client that could not be loaded.
func (s *Server) readCodeForm(w http.ResponseWriter, r *http.Request, d *pageData, step codeStep) (c *session.Client, id, strategy string, ok bool) {
	id, strategy = r.PostForm.Get("sign_in_id"), r.PostForm.Get("strategy")
	c, ok = s.codeFormClient(w, r, step.valid(strategy), func() string { return step.start(d) })
	return c, id, strategy, ok
}

// readAttemptForm is readCodeForm for a form that acts on the attempt: a
// caller with no client has none, and is shown the step again (400).
func (s *Server) readAttemptForm(w http.ResponseWriter, r *http.Request, d *pageData, step codeStep) (c *session.Client, id, strategy string, ok bool) {
	c, id, strategy, ok = s.readCodeForm(w, r, d, step)
	if ok && c == nil {
		s.reload(w, r, d, step, nil, id, http.StatusBadRequest)
		return nil, "", "", false
	}
	return c, id, strategy, ok
}

// codeFormClient loads the caller's client (nil when it has none) for the
// form of a code step (sign-in, reset, second factor, sign-up) whose
// strategy is valid. It reports false when it has answered instead: a
// form none of our pages sends (a link to start, the flow's first step),
// or a client that could not be loaded.
func (s *Server) codeFormClient(w http.ResponseWriter, r *http.Request, valid bool, start func() string) (*session.Client, bool) {
	if !valid {
		s.unreadableForm(w, r, start())
		return nil, false
	}
	c, err := s.loadClient(r.Context(), r)
	if err != nil {
		s.failPage(w, r, err)
		return nil, false
	}
	return c, true
}

// readCode reads the code typed, flagging the field when it is empty.
func readCode(r *http.Request, d *pageData) string {
	code := normalizeCode(r.PostForm.Get("code"))
	if code == "" {
		d.Fields["code"] = "Enter the code we sent you."
	}
	return code
}

// resend sends a new code for the sign-in attempt of a code step
// ("Resend code" on the sign-in and forgot-password pages).
func (s *Server) resend(w http.ResponseWriter, r *http.Request, d *pageData, step codeStep) {
	c, id, strategy, ok := s.readAttemptForm(w, r, d, step)
	if !ok {
		return
	}
	res, err := s.d.SignIn.Prepare(r.Context(), signInRequest(r, c), id, signin.PrepareParams{Strategy: strategy})
	if err != nil {
		s.stepFailed(w, r, d, step, c, id, err)
		return
	}
	step.show(d, res)
	d.Notice = "We sent a new code."
	s.render(w, r, http.StatusOK, step.template, d)
}

// isNotFound reports an unknown or expired sign-in attempt.
func isNotFound(err error) bool { return errors.Is(err, apierr.ResourceNotFound) }

// normalizeCode drops the spaces and dashes people type inside codes.
func normalizeCode(v string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, strings.TrimSpace(v))
}

// isPhoneCode reports whether the attempt's code went out by SMS (the
// strategy table knows each strategy's channel).
func isPhoneCode(a *signin.Attempt) bool {
	v := a.Verification
	return v != nil && signin.CodeChannel(v.Strategy) == users.KindPhone
}

func channelWord(a *signin.Attempt) string {
	if isPhoneCode(a) {
		return "phone"
	}
	return "email"
}

// maskedTarget is where the attempt's code went, masked.
func maskedTarget(a *signin.Attempt) string {
	v := a.Verification
	if v == nil {
		return ""
	}
	target := v.Target
	if target == "" {
		target = a.Identifier
	}
	if isPhoneCode(a) {
		return signin.Mask(users.KindPhone, target)
	}
	return signin.Mask(users.KindEmail, target)
}
