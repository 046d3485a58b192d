package handlers

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
)

// The built-in HTML pages: server-rendered, no JavaScript, every form
// CSRF-protected (csrf.go), strict security headers on every response.
// This file holds what every page shares; each flow has its own file
// (page_sign_in.go, page_forgot_password.go, page_reset_task.go,
// page_sign_out.go, and page_code.go for the code step two of them share).

//go:embed templates/*.html templates/style.css
var templateFS embed.FS

// pageCSS is the stylesheet inlined in every page; CSP allows exactly it
// by hash, so no other inline style (or anything else) can run.
var pageCSS = mustRead("templates/style.css")

// pageCSP is the Content-Security-Policy of every page.
var pageCSP = "default-src 'none'; style-src '" + cssHash(pageCSS) + "'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// pageTemplates are the page templates by name, each with the layout.
var pageTemplates = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"sign_in", "forgot_password", "reset_password", "sign_out", "message", "setup_mfa", "account", "sign_up"} {
		out[name] = template.Must(template.New(name).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return out
}()

func mustRead(name string) []byte {
	b, err := templateFS.ReadFile(name)
	if err != nil {
		panic("handlers: embedded " + name + " missing: " + err.Error())
	}
	return b
}

func cssHash(css []byte) string {
	sum := sha256.Sum256(css)
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// Form steps.
const (
	stepPassword    = "password"
	stepCode        = "code"
	stepIdentify    = "identify"
	stepNewPassword = "new_password"
)

// pageData is what the templates see.
type pageData struct {
	AppName string
	Title   string
	Lead    string
	CSS     template.CSS
	// CSRF is the token of the page's form, which posts to Action (the
	// page's own path and redirect_url).
	CSRF   string
	Action string
	// SignOutCSRF is the token of a sign-out button, when shown.
	SignOutCSRF string
	SignOutURL  string
	// Redirect is the (safe) redirect_url the flow carries along; the
	// page's steps read it here rather than take it as a parameter.
	Redirect string
	// Error is shown at the top, Fields next to their inputs.
	Error  string
	Notice string
	Fields map[string]string

	Step        string
	Identifier  string
	SignInID    string
	Strategy    string
	Target      string
	Compromised bool
	Enumeration bool
	NeedCurrent bool
	IsTask      bool
	Account     string
	MinLength   int
	SignOutAll  bool

	// PhoneNumberID and Choices are the second step's (page_second_factor.go).
	PhoneNumberID string
	Choices       []factorChoice
	// MFA is the setup-mfa and account pages' (page_mfa.go).
	MFA *mfaData
	// SignUp is the sign-up page's (page_sign_up.go).
	SignUp *signUpData

	SignInURL string
	ForgotURL string
	// SignUpURL is the sign-up page, "" while sign-up is off.
	SignUpURL string
	LinkURL   string
	LinkText  string
}

// newPage starts the data of a page posting to its own path.
func (s *Server) newPage(r *http.Request, title, back string) *pageData {
	d := &pageData{
		AppName: s.cfg.AppName, Title: title, CSS: template.CSS(pageCSS),
		// The form posts back to the page, keeping redirect_url in the
		// address so that the URL stays the same through the flow.
		Action: withBack(r.URL.Path, back), Redirect: back, Fields: map[string]string{}, MinLength: s.d.PasswordMinLength, SignOutAll: true,
	}
	d.SignInURL = withBack(s.cfg.Prefix+pathSignIn, back)
	d.ForgotURL = withBack(s.cfg.Prefix+pathForgotPassword, back)
	d.SignUpURL = s.signUpURL(back)
	return d
}

// flowPage is newPage for the first step of a flow (sign-in, sign-up,
// forgotten password), with its lead text.
func (s *Server) flowPage(r *http.Request, title, lead, step, back string) *pageData {
	d := s.newPage(r, title, back)
	d.Lead, d.Step = lead, step
	return d
}

// signedInGoesOn sends a browser that is signed in already on, as after
// signing in, when it asks for a flow's form (GET); it reports whether it
// did. A store error just shows the form.
func (s *Server) signedInGoesOn(w http.ResponseWriter, r *http.Request, back string) bool {
	if r.Method == http.MethodPost {
		return false
	}
	id, err := s.identify(w, r)
	if err != nil || id == nil {
		return false
	}
	s.goOn(w, r, id.Pending(), id.Tasks, back)
	return true
}

// withBack adds redirect_url=back to target when back is set.
func withBack(target, back string) string {
	if back == "" {
		return target
	}
	return WithRedirect(target, back)
}

// setPageHeaders sets the security headers of every page response
// (checklist O-14, C-43).
func setPageHeaders(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	setHSTS(w, r)
}

// page wraps a page handler: headers on every response; for POST a
// bounded body, a parsed form without repeated fields, and a valid CSRF
// token. Handlers read fields from r.PostForm only.
func (s *Server) page(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setPageHeaders(w, r)
		if r.Method != http.MethodPost {
			h(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				s.messagePage(w, r, http.StatusRequestEntityTooLarge, "Form too large",
					"The form you sent is larger than this page accepts.", "")
				return
			}
			s.messagePage(w, r, http.StatusBadRequest, "Form not readable", "The form you sent could not be read. Please try again.", "")
			return
		}
		for _, v := range r.PostForm {
			if len(v) > 1 {
				s.messagePage(w, r, http.StatusBadRequest, "Form not readable", "The form you sent has a repeated field. Please try again.", "")
				return
			}
		}
		if err := s.checkCSRF(r); err != nil {
			if !isCSRFError(err) {
				s.failPage(w, r, err)
				return
			}
			s.csrfFailed(w, r, err)
			return
		}
		h(w, r)
	})
}

// csrfFailed answers a refused form with a 403 page that says what to do.
func (s *Server) csrfFailed(w http.ResponseWriter, r *http.Request, err error) {
	s.d.Events.Event(r.Context(), "csrf_rejected", zap.String("path", r.URL.Path), zap.String("reason", err.Error()))
	msg := apierr.CSRFInvalid.LongMessage
	switch {
	case errors.Is(err, errCSRFNoCookie):
		s.newCSRFCookie(w, r)
		msg = "Your browser did not send the cookie this form needs. Make sure cookies are allowed for this site, then reload the page and try again."
	case errors.Is(err, errCSRFSite), errors.Is(err, errCSRFOrigin):
		msg = "This form was sent from another site, so it was not accepted. If you meant to do this, open the page directly and try again."
	case errors.Is(err, errCSRFExpired):
		msg = "This form has expired. Please reload the page and try again."
	}
	s.messagePage(w, r, http.StatusForbidden, "Form not accepted", msg, withBack(r.URL.Path, redirectParam(r)))
}

// render writes a page. A form page gets its CSRF token here; when the
// key cannot be read the failure page is written instead.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, d *pageData) {
	ctx := r.Context()
	if d.Action != "" {
		binding := s.csrfBinding(w, r)
		// Tokens are bound to the path the form posts to (the query aside).
		path, _, _ := strings.Cut(d.Action, "?")
		tok, err := s.csrf.token(ctx, binding, path, s.d.Now())
		if err != nil {
			s.failPage(w, r, err)
			return
		}
		d.CSRF = tok
		if d.SignOutURL != "" {
			if d.SignOutCSRF, err = s.csrf.token(ctx, binding, d.SignOutURL, s.d.Now()); err != nil {
				s.failPage(w, r, err)
				return
			}
		}
	}
	s.writePage(w, r, status, name, d)
}

func (s *Server) writePage(w http.ResponseWriter, r *http.Request, status int, name string, d *pageData) {
	var buf bytes.Buffer
	if err := pageTemplates[name].ExecuteTemplate(&buf, "layout", d); err != nil {
		s.d.Logger.Error("rendering page failed", zap.String("page", name), zap.Error(err))
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// messagePage writes a page with a title, a message and an optional link.
func (s *Server) messagePage(w http.ResponseWriter, r *http.Request, status int, title, msg, link string) {
	d := &pageData{AppName: s.cfg.AppName, Title: title, Lead: msg, CSS: template.CSS(pageCSS), LinkURL: link, LinkText: "Try again"}
	s.writePage(w, r, status, "message", d)
}

// unreadableForm answers a form that no page of ours sends (an unknown
// op or strategy), with a link back to the flow's start.
func (s *Server) unreadableForm(w http.ResponseWriter, r *http.Request, link string) {
	s.messagePage(w, r, http.StatusBadRequest, "Form not readable", "The form you sent could not be read. Please try again.", link)
}

// formOps maps the op field of a page's form to the step that handles it
// ("" is the form's first submit, sent without an op).
type formOps map[string]func(http.ResponseWriter, *http.Request, *pageData)

// serveForm is a form page's opening: a GET renders the form tmpl, a POST
// goes to the step its op names, and an op the page does not know is an
// unreadable form with a link to start (the page's own start URL).
func (s *Server) serveForm(w http.ResponseWriter, r *http.Request, d *pageData, tmpl, start string, ops formOps) {
	if r.Method != http.MethodPost {
		s.render(w, r, http.StatusOK, tmpl, d)
		return
	}
	step, ok := ops[r.PostForm.Get("op")]
	if !ok {
		s.unreadableForm(w, r, start)
		return
	}
	step(w, r, d)
}

// pageClient is ensureClient for a page step: on a store error it writes
// the failure page and returns false.
func (s *Server) pageClient(w http.ResponseWriter, r *http.Request) (*session.Client, bool) {
	c, err := s.ensureClient(w, r)
	if err != nil {
		s.failPage(w, r, err)
		return nil, false
	}
	return c, true
}

// renderErr shows err on the form tmpl (at its field when fields name it,
// see showErr), or writes the failure page when it is not the user's.
func (s *Server) renderErr(w http.ResponseWriter, r *http.Request, d *pageData, tmpl string, err error, fields ...string) {
	if status := s.showErr(w, r, d, err, fields...); status != 0 {
		s.render(w, r, status, tmpl, d)
	}
}

// failPage answers an error that is not the user's, as errorFor maps it:
// 503 with Retry-After when the store is down, 500 otherwise.
func (s *Server) failPage(w http.ResponseWriter, r *http.Request, err error) {
	logFailure(s.d.Logger, r, err)
	back := withBack(r.URL.Path, redirectParam(r))
	if e := errorFor(err); errors.Is(e, apierr.ServiceUnavailable) {
		e.SetHeaders(w.Header())
		s.messagePage(w, r, http.StatusServiceUnavailable, "Temporarily unavailable",
			"We can't process this right now. Please try again in a few seconds.", back)
		return
	}
	s.messagePage(w, r, http.StatusInternalServerError, "Something went wrong",
		"Something went wrong on our side. Please try again.", back)
}

// showErr puts a service error on the page: next to its input when the
// form has one (fields), at the top otherwise. It returns the status to
// answer with, or 0 when the error was not the user's and the failure
// page has been written.
func (s *Server) showErr(w http.ResponseWriter, r *http.Request, d *pageData, err error, fields ...string) int {
	var e *apierr.Error
	if !errors.As(err, &e) {
		s.failPage(w, r, err)
		return 0
	}
	param, _ := e.Meta["param_name"].(string)
	if param == "new_password" {
		param = "password"
	}
	msg := friendlyMessage(e, param)
	if param != "" && slices.Contains(fields, param) {
		d.Fields[param] = msg
	} else {
		d.Error = msg
	}
	e.SetHeaders(w.Header())
	if e.Status == 0 || e.Status == http.StatusInternalServerError {
		logFailure(s.d.Logger, r, err)
		return http.StatusInternalServerError
	}
	return e.Status
}

// friendlyMessage is the text shown for an error; the API's messages
// that name parameters are reworded for people.
func friendlyMessage(e *apierr.Error, param string) string {
	switch {
	case errors.Is(e, apierr.FormParamMissing):
		switch param {
		case "identifier":
			return "Enter your email address, phone number or username."
		case "password":
			return "Enter a password."
		case "current_password":
			return "Enter your current password."
		case "code":
			return "Enter the code we sent you."
		}
	case errors.Is(e, apierr.FormParamFormatInvalid):
		if param == "identifier" {
			return "Enter a valid email address, a phone number starting with + and the country code, or a username."
		}
	case errors.Is(e, apierr.FormCodeIncorrect):
		return "That code is not correct. Check the code and try again."
	case errors.Is(e, apierr.VerificationExpired):
		return "This code has expired. Request a new code."
	case errors.Is(e, apierr.VerificationFailed):
		return "Too many wrong codes. Please start over."
	}
	if e.LongMessage != "" {
		return e.LongMessage
	}
	return e.Message
}

// readNewPassword checks the new password fields; it reports false (with
// field errors on d) when they are missing or do not match.
func readNewPassword(r *http.Request, d *pageData) (string, bool) {
	pw := r.PostForm.Get("password")
	confirm := r.PostForm.Get("confirm_password")
	switch {
	case pw == "":
		d.Fields["password"] = "Enter a new password."
	case confirm == "":
		d.Fields["confirm_password"] = "Enter the new password again."
	case pw != confirm:
		d.Fields["confirm_password"] = "The passwords do not match."
	}
	d.SignOutAll = r.PostForm.Get("sign_out_of_other_sessions") != ""
	return pw, len(d.Fields) == 0
}

// redirectParam is the safe redirect_url of the request ("" if none or
// unsafe): from the form on POST, else from the query.
func redirectParam(r *http.Request) string {
	v := r.PostForm.Get("redirect_url")
	if v == "" {
		v = r.URL.Query().Get("redirect_url")
	}
	return SafeRedirect(v, "")
}

func (s *Server) afterSignIn(back string) string {
	if back != "" {
		return back
	}
	if s.cfg.AfterSignInURL != "" {
		return s.cfg.AfterSignInURL
	}
	return "/"
}

func (s *Server) signInURL(back string) string {
	u := s.cfg.SignInURL
	if u == "" {
		u = s.cfg.Prefix + pathSignIn
	}
	return withBack(u, back)
}

func seeOther(w http.ResponseWriter, r *http.Request, target string) {
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// goOn sends a signed-in browser on: to the first task of a pending
// session, else to back (or the after-sign-in page).
func (s *Server) goOn(w http.ResponseWriter, r *http.Request, pending bool, taskKeys []string, back string) {
	if pending {
		seeOther(w, r, s.cfg.Tasks.FirstURL(taskKeys, back))
		return
	}
	seeOther(w, r, s.afterSignIn(back))
}

// signIn sets the cookies of a browser that just signed in (or finished
// a task) as sess on client c, and sends it on: the new __client of the
// rotated client with a new CSRF cookie (sendRotated), and the session
// token.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, c *session.Client, sess *session.Session, back string) {
	s.sendRotated(w, r, c)
	if _, err := s.issueToken(w, r, sess); err != nil {
		s.failPage(w, r, err)
		return
	}
	s.goOn(w, r, sess.Status == session.StatusPending, sess.Tasks, back)
}

// errNoSecondFactor is a sign-in that waits for a second factor but
// offers none (a configuration that turned every factor off).
var errNoSecondFactor = errors.New("sign-in needs a second factor but offers none")

// finishSignIn signs the browser in after a completed sign-in attempt of
// its client c.
func (s *Server) finishSignIn(w http.ResponseWriter, r *http.Request, c *session.Client, res *signin.Result, back string) {
	if res.Attempt.Status == signin.StatusNeedsSecondFactor {
		s.startSecondFactor(w, r, c, res, back)
		return
	}
	if res.Session == nil || res.Attempt.Status != signin.StatusComplete {
		s.failPage(w, r, errors.New("sign-in finished without a session"))
		return
	}
	s.signIn(w, r, c, res.Session, back)
}
