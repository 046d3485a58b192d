package handlers

import (
	"net/http"

	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
)

// The second step of a sign-in on the pages: after the first factor (a
// password, a code, or a reset code and new password) a user with a
// second factor lands here with an authenticator code, a backup code or
// an SMS code. Every form of the step posts to the sign-in page, whatever
// page the first factor was given on, so the step lives in one place.

const stepSecondFactor = "second_factor"

// factorChoice is one other way to finish the sign-in, offered as a
// button under the code form.
type factorChoice struct {
	Strategy      string
	PhoneNumberID string
	Label         string
}

// secondStep is the code step of the second factor chosen (strategy,
// and for phone_code the phone).
func (s *Server) secondStep(strategy, phoneID string) codeStep {
	return codeStep{
		template: "sign_in", firstStep: stepPassword, expired: "This sign-in has expired. Please start again.",
		valid:   isSecondStrategy,
		resumes: func(a *signin.Attempt) bool { return a.Status == signin.StatusNeedsSecondFactor },
		show:    func(d *pageData, res *signin.Result) { s.showSecondFactor(d, res, strategy, phoneID) },
		start:   func(d *pageData) string { return d.SignInURL },
	}
}

func isSecondStrategy(v string) bool {
	return v == signin.StrategyTOTP || v == signin.StrategyBackupCode || v == signin.StrategyPhoneCode
}

// preferredFactor is the factor the step opens with: the authenticator
// app when the user has one (no SMS goes out unasked), else the primary
// phone, else the first offered.
func preferredFactor(res *signin.Result) signin.SecondFactor {
	var best signin.SecondFactor
	for _, f := range res.SecondFactors {
		switch {
		case f.Strategy == signin.StrategyTOTP:
			return f
		case best.Strategy == "" && f.Strategy != signin.StrategyBackupCode, f.Strategy == signin.StrategyPhoneCode && f.Primary:
			best = f
		}
	}
	if best.Strategy == "" && len(res.SecondFactors) > 0 {
		best = res.SecondFactors[0]
	}
	return best
}

// showSecondFactor sets d up for the second step of res with strategy
// (and phone phoneID for an SMS code).
func (s *Server) showSecondFactor(d *pageData, res *signin.Result, strategy, phoneID string) {
	d.Step = stepSecondFactor
	d.Title = "Two-step verification"
	d.SignInID = res.Attempt.ID
	d.Strategy = strategy
	d.PhoneNumberID = phoneID
	d.Choices = nil
	for _, f := range res.SecondFactors {
		if f.Strategy == strategy && f.PhoneNumberID == phoneID {
			d.Target = f.SafeIdentifier
			continue
		}
		c := factorChoice{Strategy: f.Strategy, PhoneNumberID: f.PhoneNumberID}
		switch f.Strategy {
		case signin.StrategyTOTP:
			c.Label = "Use your authenticator app"
		case signin.StrategyBackupCode:
			c.Label = "Use a backup code"
		case signin.StrategyPhoneCode:
			c.Label = "Text me a code at " + f.SafeIdentifier
		default:
			continue
		}
		d.Choices = append(d.Choices, c)
	}
	switch strategy {
	case signin.StrategyTOTP:
		d.Lead = "Enter the 6-digit code from your authenticator app."
	case signin.StrategyBackupCode:
		d.Lead = "Enter one of the backup codes you saved when you set up two-step verification. Each code works once."
	default:
		d.Lead = "We sent a code by text message to " + d.Target + ". Enter it below."
	}
}

// startSecondFactor shows the second step after a first factor: the
// sign-in needs one more factor before it has a session.
// c is the browser's client (just made, maybe: its cookie is not back
// yet, so it is not loaded again).
func (s *Server) startSecondFactor(w http.ResponseWriter, r *http.Request, c *session.Client, res *signin.Result, back string) {
	d := s.newPage(r, "Two-step verification", back)
	// The step's forms post to the sign-in page (its CSRF token is bound
	// to that path), also when the first factor came from another page.
	d.Action = withBack(s.cfg.Prefix+pathSignIn, back)
	f := preferredFactor(res)
	if f.Strategy == "" {
		s.failPage(w, r, errNoSecondFactor)
		return
	}
	if f.Strategy == signin.StrategyPhoneCode {
		id := res.Attempt.ID
		sent, err := s.d.SignIn.PrepareSecondFactor(r.Context(), signInRequest(r, c), id,
			signin.PrepareParams{Strategy: f.Strategy, PhoneNumberID: f.PhoneNumberID})
		if err != nil {
			s.stepFailed(w, r, d, s.secondStep(f.Strategy, f.PhoneNumberID), c, id, err)
			return
		}
		res = sent
	}
	s.showSecondFactor(d, res, f.Strategy, f.PhoneNumberID)
	s.render(w, r, http.StatusOK, "sign_in", d)
}

// secondFactorForm answers the second step's forms: op "second_factor"
// checks the code, "choose_factor" switches to another factor (sending
// an SMS code for phone_code), "resend_second" sends the SMS again.
func (s *Server) secondFactorForm(w http.ResponseWriter, r *http.Request, d *pageData, op string) {
	phoneID := r.PostForm.Get("phone_number_id")
	step := s.secondStep(r.PostForm.Get("strategy"), phoneID)
	c, id, strategy, ok := s.readAttemptForm(w, r, d, step)
	if !ok {
		return
	}
	ctx, rq := r.Context(), signInRequest(r, c)
	if op == "second_factor" {
		code := normalizeCode(r.PostForm.Get("code"))
		if code == "" {
			d.Fields["code"] = "Enter the code."
			s.reload(w, r, d, step, c, id, http.StatusUnprocessableEntity)
			return
		}
		res, err := s.d.SignIn.AttemptSecondFactor(ctx, rq, id, signin.AttemptParams{Strategy: strategy, Code: code})
		if err != nil {
			s.stepFailed(w, r, d, step, c, id, err, "code")
			return
		}
		s.finishSignIn(w, r, c, res, d.Redirect)
		return
	}
	if strategy != signin.StrategyPhoneCode {
		s.reload(w, r, d, step, c, id, http.StatusOK)
		return
	}
	res, err := s.d.SignIn.PrepareSecondFactor(ctx, rq, id, signin.PrepareParams{Strategy: strategy, PhoneNumberID: phoneID})
	if err != nil {
		s.stepFailed(w, r, d, step, c, id, err)
		return
	}
	step.show(d, res)
	if op == "resend_second" {
		d.Notice = "We sent a new code."
	}
	s.render(w, r, http.StatusOK, "sign_in", d)
}
