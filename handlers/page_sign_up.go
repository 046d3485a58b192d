package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signup"
	"github.com/authgate/authgate/users"
)

// The sign-up page (on only with a sign_up block): an email address or
// phone number (as configured), a username when asked for, the password
// twice; then the code sent to the address or number; then the browser
// lands on redirect_url, signed in. The flow is signup.Service's, the
// same as the JSON API's: an address that already has an account gets
// the same pages (its owner is told by email instead of sent a code), and
// the password goes through the rules of a reset.

const pathSignUp = "/sign-up"

// Steps of the sign-up page.
const (
	stepSignUpDetails = "details"
	stepSignUpCode    = "code"
)

// signUpData is the sign-up page's part of pageData.
type signUpData struct {
	// Email and Phone say which identifiers the form takes.
	Email, Phone bool
	// Username is off, optional or required; UsernameValue what was typed.
	Username      string
	UsernameValue string
	// ID, Strategy and Target are the code step's: the attempt, the
	// code's strategy and the address or number it went to.
	ID       string
	Strategy string
	Target   string
}

// IdentifierLabel is the label of the identifier field.
func (d *signUpData) IdentifierLabel() string {
	return d.byIdentifiers("Email address or phone number", "Phone number", "Email address")
}

// IdentifierType is the input type of the identifier field.
func (d *signUpData) IdentifierType() string { return d.byIdentifiers("text", "tel", "email") }

// byIdentifiers is the one of its words that fits the identifiers the
// form takes: both kinds, a phone number alone, or an email address.
func (d *signUpData) byIdentifiers(both, phone, email string) string {
	switch {
	case d.Email && d.Phone:
		return both
	case d.Phone:
		return phone
	}
	return email
}

// signUpOn reports whether self-service sign-up is configured.
func (s *Server) signUpOn() bool { return s.d.SignUp != nil && s.d.SignUp.Config().Enabled }

// signUpURL is the sign-up page carrying back, or "" when sign-up is off
// (the sign-in page links to it only then).
func (s *Server) signUpURL(back string) string {
	if !s.signUpOn() {
		return ""
	}
	return withBack(s.cfg.Prefix+pathSignUp, back)
}

func (s *Server) signUpPage(w http.ResponseWriter, r *http.Request) {
	back := redirectParam(r)
	if !s.signUpOn() {
		s.signUpDisabled(w, r, back)
		return
	}
	d := s.flowPage(r, "Create your account", "to continue to "+s.cfg.AppName, stepSignUpDetails, back)
	d.SignUp = s.signUpForm()
	if s.signedInGoesOn(w, r, back) {
		return
	}
	s.serveForm(w, r, d, "sign_up", s.signUpURL(back), formOps{
		"": s.signUpCreate, "create": s.signUpCreate, "verify": s.signUpVerify, "resend": s.signUpResend,
	})
}

// signUpDisabled answers the page while sign-up is off: 403 with the
// sign_up_disabled message, and a way to sign in instead.
func (s *Server) signUpDisabled(w http.ResponseWriter, r *http.Request, back string) {
	d := s.newPage(r, "Sign-up is disabled", back)
	d.Action = ""
	d.Lead = apierr.SignUpDisabled.LongMessage
	d.LinkURL, d.LinkText = s.signInURL(back), "Sign in"
	s.writePage(w, r, apierr.SignUpDisabled.Status, "message", d)
}

// signUpForm is the form as configured.
func (s *Server) signUpForm() *signUpData {
	cfg := s.d.SignUp.Config()
	return &signUpData{
		Email: cfg.Allows(users.KindEmail), Phone: cfg.Allows(users.KindPhone), Username: string(cfg.Username),
	}
}

// signUpCreate starts the sign-up from the first step's form and sends
// the code.
func (s *Server) signUpCreate(w http.ResponseWriter, r *http.Request, d *pageData) {
	ctx := r.Context()
	p, strategy, ok := readSignUpForm(r, d)
	if !ok {
		s.render(w, r, http.StatusUnprocessableEntity, "sign_up", d)
		return
	}
	c, ok := s.pageClient(w, r)
	if !ok {
		return
	}
	rq := signup.Request{Client: c, IP: clientIP(r)}
	res, err := s.d.SignUp.Create(ctx, rq, p)
	if err == nil {
		res, err = s.d.SignUp.PrepareVerification(ctx, rq, res.Attempt.ID, signup.PrepareParams{Strategy: strategy})
	}
	if err != nil {
		if status := s.signUpErr(w, r, d, err); status != 0 {
			s.render(w, r, status, "sign_up", d)
		}
		return
	}
	showSignUpCode(d, res.Attempt, strategy)
	s.render(w, r, http.StatusOK, "sign_up", d)
}

// readSignUpForm reads the first step's form into the service's
// parameters and the code strategy of the identifier typed. It reports
// false, with field errors on d, when a field is missing, not of a kind
// the form takes, or the passwords differ.
func readSignUpForm(r *http.Request, d *pageData) (signup.CreateParams, string, bool) {
	f := d.SignUp
	ident := strings.TrimSpace(r.PostForm.Get("identifier"))
	d.Identifier = ident
	var p signup.CreateParams
	var strategy string
	switch kind := identifierKind(ident); {
	case ident == "":
		d.Fields["identifier"] = "Enter your " + strings.ToLower(f.IdentifierLabel()) + "."
	case kind == users.KindEmail && f.Email:
		p.EmailAddress, strategy = ident, signup.StrategyEmailCode
	case kind == users.KindPhone && f.Phone:
		p.PhoneNumber, strategy = ident, signup.StrategyPhoneCode
	default:
		d.Fields["identifier"] = identifierProblem(f)
	}
	if f.Username != string(signup.UsernameOff) {
		p.Username = strings.TrimSpace(r.PostForm.Get("username"))
		f.UsernameValue = p.Username
		if p.Username == "" && f.Username == string(signup.UsernameRequired) {
			d.Fields["username"] = "Choose a username."
		}
	}
	p.Password = r.PostForm.Get("password")
	confirm := r.PostForm.Get("confirm_password")
	switch {
	case p.Password == "":
		d.Fields["password"] = "Choose a password."
	case confirm == "":
		d.Fields["confirm_password"] = "Enter the password again."
	case p.Password != confirm:
		d.Fields["confirm_password"] = "The passwords do not match."
	}
	return p, strategy, len(d.Fields) == 0
}

// identifierKind is the kind of what was typed: an email address has an
// '@', a phone number starts with '+' (the service checks the rest).
func identifierKind(v string) users.Kind {
	switch {
	case strings.Contains(v, "@"):
		return users.KindEmail
	case strings.HasPrefix(v, "+") || strings.HasPrefix(v, "＋"):
		return users.KindPhone
	}
	return users.KindUsername
}

// identifierProblem is the field's message for something that is not an
// identifier the form takes.
func identifierProblem(f *signUpData) string {
	switch {
	case f.Email && f.Phone:
		return "Enter an email address, or a phone number starting with + and the country code."
	case f.Phone:
		return "Enter a phone number starting with + and the country code."
	}
	return "Enter a valid email address."
}

// showSignUpCode sets d up for the code step of attempt a.
func showSignUpCode(d *pageData, a *signup.Attempt, strategy string) {
	d.Step = stepSignUpCode
	d.Lead = ""
	d.SignUp.ID, d.SignUp.Strategy = a.ID, strategy
	if strategy == signup.StrategyPhoneCode {
		d.Title, d.SignUp.Target = "Verify your phone number", a.PhoneNumber
	} else {
		d.Title, d.SignUp.Target = "Verify your email address", a.EmailAddress
	}
}

// readSignUpCodeForm reads the code step's attempt id and strategy and
// loads the caller's client (nil when it has none). It reports false
// when it has answered instead (a form no page of ours sends, a store
// error).
func (s *Server) readSignUpCodeForm(w http.ResponseWriter, r *http.Request, d *pageData) (*session.Client, string, string, bool) {
	id, strategy := r.PostForm.Get("sign_up_id"), r.PostForm.Get("strategy")
	valid := strategy == signup.StrategyEmailCode || strategy == signup.StrategyPhoneCode
	c, ok := s.codeFormClient(w, r, valid, func() string { return s.signUpURL(d.Redirect) })
	return c, id, strategy, ok
}

// signUpVerify checks the code; the right one creates the user and signs
// the browser in.
func (s *Server) signUpVerify(w http.ResponseWriter, r *http.Request, d *pageData) {
	c, id, strategy, ok := s.readSignUpCodeForm(w, r, d)
	if !ok {
		return
	}
	code := readCode(r, d)
	if code == "" || c == nil {
		s.signUpReload(w, r, d, c, id, strategy, http.StatusUnprocessableEntity)
		return
	}
	rq := signup.Request{Client: c, IP: clientIP(r)}
	res, err := s.d.SignUp.AttemptVerification(r.Context(), rq, id, signup.AttemptParams{Strategy: strategy, Code: code})
	if err != nil {
		s.signUpStepFailed(w, r, d, c, id, strategy, err)
		return
	}
	if res.Attempt.Status != signup.StatusComplete || res.Session == nil {
		s.failPage(w, r, errors.New("sign-up verified but not complete"))
		return
	}
	s.signIn(w, r, c, res.Session, d.Redirect)
}

// signUpResend sends a new code for the attempt of the code step.
func (s *Server) signUpResend(w http.ResponseWriter, r *http.Request, d *pageData) {
	c, id, strategy, ok := s.readSignUpCodeForm(w, r, d)
	if !ok {
		return
	}
	if c == nil {
		s.signUpReload(w, r, d, nil, id, strategy, http.StatusBadRequest)
		return
	}
	rq := signup.Request{Client: c, IP: clientIP(r)}
	res, err := s.d.SignUp.PrepareVerification(r.Context(), rq, id, signup.PrepareParams{Strategy: strategy})
	if err != nil {
		s.signUpStepFailed(w, r, d, c, id, strategy, err)
		return
	}
	showSignUpCode(d, res.Attempt, strategy)
	d.Notice = "We sent a new code."
	s.render(w, r, http.StatusOK, "sign_up", d)
}

// signUpStepFailed answers an error of the code step: a gone attempt
// starts over, the user's errors show on the step again, any other error
// gets the failure page.
func (s *Server) signUpStepFailed(w http.ResponseWriter, r *http.Request, d *pageData, c *session.Client, id, strategy string, err error) {
	if isNotFound(err) {
		s.signUpReload(w, r, d, nil, id, strategy, http.StatusBadRequest)
		return
	}
	if status := s.signUpErr(w, r, d, err); status != 0 {
		s.signUpReload(w, r, d, c, id, strategy, status)
	}
}

// signUpReload shows the code step of attempt id again, or the first step
// when the attempt is gone or complete (c nil: the caller knows it is).
func (s *Server) signUpReload(w http.ResponseWriter, r *http.Request, d *pageData, c *session.Client, id, strategy string, status int) {
	if c != nil {
		a, err := s.signUpAttempt(r.Context(), r, c, id)
		if err != nil {
			s.failPage(w, r, err)
			return
		}
		if a != nil {
			showSignUpCode(d, a, strategy)
			s.render(w, r, status, "sign_up", d)
			return
		}
	}
	d.Step = stepSignUpDetails
	d.Fields = map[string]string{}
	d.Error = "This sign-up has expired. Please start again."
	s.render(w, r, http.StatusBadRequest, "sign_up", d)
}

// signUpAttempt is the client's attempt id while it waits for its code
// (nil when gone or complete).
func (s *Server) signUpAttempt(ctx context.Context, r *http.Request, c *session.Client, id string) (*signup.Attempt, error) {
	res, err := s.d.SignUp.Get(ctx, signup.Request{Client: c, IP: clientIP(r)}, id)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if res.Attempt.Status == signup.StatusComplete {
		return nil, nil
	}
	return res.Attempt, nil
}

// signUpErr is showErr for the sign-up form, whose one identifier field
// stands for the API's email_address and phone_number. A sign-up turned
// off meanwhile (a reload of the configuration) is the disabled page.
func (s *Server) signUpErr(w http.ResponseWriter, r *http.Request, d *pageData, err error) int {
	if errors.Is(err, apierr.SignUpDisabled) {
		s.signUpDisabled(w, r, d.Redirect)
		return 0
	}
	status := s.showErr(w, r, d, err, "email_address", "phone_number", "username", "password", "code")
	for _, k := range []string{"email_address", "phone_number"} {
		if msg, ok := d.Fields[k]; ok {
			delete(d.Fields, k)
			d.Fields["identifier"] = msg
		}
	}
	return status
}
