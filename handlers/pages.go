package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/users"
)

// The built-in HTML pages: server-rendered, no JavaScript, every form
// CSRF-protected (csrf.go), strict security headers on every response.

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
	for _, name := range []string{"sign_in", "forgot_password", "reset_password", "sign_out", "message"} {
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

// Page paths under the prefix.
const (
	pathSignIn         = "/sign-in"
	pathForgotPassword = "/forgot-password"
	pathResetTask      = "/tasks/reset-password"
	pathSignOut        = "/sign-out"
)

// Form steps.
const (
	stepPassword    = "password"
	stepCode        = "code"
	stepIdentify    = "identify"
	stepNewPassword = "new_password"
)

// pageRoutes registers the HTML pages (sign-in, forgot-password,
// tasks/reset-password, sign-out).
func (s *Server) pageRoutes(mux *http.ServeMux) {
	p := s.cfg.Prefix
	for path, h := range map[string]http.HandlerFunc{
		pathSignIn:         s.signInPage,
		pathForgotPassword: s.forgotPasswordPage,
		pathResetTask:      s.resetPasswordPage,
		pathSignOut:        s.signOutPage,
	} {
		mux.Handle("GET "+p+path, s.page(h))
		mux.Handle("POST "+p+path, s.page(h))
	}
}

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
	// Redirect is the (safe) redirect_url the flow carries along.
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

	SignInURL string
	ForgotURL string
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
	return d
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
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
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

// failPage answers an error that is not the user's: 503 with Retry-After
// when the store is down, 500 otherwise.
func (s *Server) failPage(w http.ResponseWriter, r *http.Request, err error) {
	if unavailable(err) {
		s.d.Logger.Error("store unavailable", zap.String("path", r.URL.Path), zap.Error(err))
		w.Header().Set("Retry-After", "5")
		s.messagePage(w, r, http.StatusServiceUnavailable, "Temporarily unavailable",
			"We can't process this right now. Please try again in a few seconds.", withBack(r.URL.Path, redirectParam(r)))
		return
	}
	s.d.Logger.Error("page request failed", zap.String("path", r.URL.Path), zap.Error(err))
	s.messagePage(w, r, http.StatusInternalServerError, "Something went wrong",
		"Something went wrong on our side. Please try again.", withBack(r.URL.Path, redirectParam(r)))
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
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	if e.Status == 0 || e.Status == http.StatusInternalServerError {
		s.d.Logger.Error("page request failed", zap.String("path", r.URL.Path), zap.Error(err))
		return http.StatusInternalServerError
	}
	return e.Status
}

// friendlyMessage is the text shown for an error; the API's messages
// that name parameters are reworded for people.
func friendlyMessage(e *apierr.Error, param string) string {
	switch e.Code {
	case apierr.FormParamMissing.Code:
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
	case apierr.FormParamFormatInvalid.Code:
		if param == "identifier" {
			return "Enter a valid email address, a phone number starting with + and the country code, or a username."
		}
	case apierr.FormCodeIncorrect.Code:
		return "That code is not correct. Check the code and try again."
	case apierr.VerificationExpired.Code:
		return "This code has expired. Request a new code."
	case apierr.VerificationFailed.Code:
		return "Too many wrong codes. Please start over."
	}
	if e.LongMessage != "" {
		return e.LongMessage
	}
	return e.Message
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

// taskURL is the page of a pending session's first task, with the
// redirect_url to come back to.
func (s *Server) taskURL(keys []string, back string) string {
	return s.cfg.Tasks.FirstURL(keys, back)
}

func seeOther(w http.ResponseWriter, r *http.Request, target string) {
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// finishSignIn sets the session cookie of a completed sign-in and sends
// the browser on: to the first task of a pending session, else to back.
func (s *Server) finishSignIn(w http.ResponseWriter, r *http.Request, res *signin.Result, back string) {
	sess := res.Session
	if sess == nil || res.Attempt.Status != signin.StatusComplete {
		s.failPage(w, r, errors.New("sign-in finished without a session"))
		return
	}
	jwt, err := s.mint(r.Context(), r, sess)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	s.setSessionCookie(w, r, jwt)
	// A fresh CSRF cookie after sign-in: forms from before it are void.
	s.newCSRFCookie(w, r)
	if sess.Status == session.StatusPending {
		seeOther(w, r, s.taskURL(sess.Tasks, back))
		return
	}
	seeOther(w, r, s.afterSignIn(back))
}

func (s *Server) signInRequest(r *http.Request, c *session.Client) signin.Request {
	return signin.Request{Client: c, IP: clientIP(r)}
}

// isNotFound reports an unknown or expired sign-in attempt.
func isNotFound(err error) bool {
	var e *apierr.Error
	return errors.As(err, &e) && e.Code == apierr.ResourceNotFound.Code
}

// normalizeCode drops the spaces and dashes people type inside codes.
func normalizeCode(v string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, strings.TrimSpace(v))
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
	if v.Strategy == signin.StrategyPhoneCode || v.Strategy == signin.StrategyResetPasswordPhone {
		return signin.Mask(users.KindPhone, target)
	}
	return signin.Mask(users.KindEmail, target)
}

// --- sign-in ---

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	back := redirectParam(r)
	d := s.newPage(r, "Sign in", back)
	d.Lead = "to continue to " + s.cfg.AppName
	d.Step = stepPassword
	if r.Method != http.MethodPost {
		// Already signed in: go on (a store error just shows the form).
		if id, err := s.identify(w, r); err == nil && id != nil {
			if id.Pending() {
				seeOther(w, r, s.taskURL(id.Tasks, back))
			} else {
				seeOther(w, r, s.afterSignIn(back))
			}
			return
		}
		s.render(w, r, http.StatusOK, "sign_in", d)
		return
	}
	switch r.PostForm.Get("op") {
	case "", "password":
		s.signInPassword(w, r, d, back)
	case "start_code":
		s.signInStartCode(w, r, d)
	case "code":
		s.signInCode(w, r, d, back)
	case "resend_code":
		s.signInResend(w, r, d)
	default:
		s.messagePage(w, r, http.StatusBadRequest, "Form not readable", "The form you sent could not be read. Please try again.", d.SignInURL)
	}
}

func (s *Server) signInPassword(w http.ResponseWriter, r *http.Request, d *pageData, back string) {
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
	c, err := s.ensureClient(w, r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	res, err := s.d.SignIn.Create(r.Context(), s.signInRequest(r, c), signin.CreateParams{
		Strategy: signin.StrategyPassword, Identifier: ident, Password: pw,
	})
	if err != nil {
		if e := (*apierr.Error)(nil); errors.As(err, &e) && e.Code == apierr.FormPasswordCompromised.Code {
			d.Compromised = true
			d.Error = e.LongMessage
			if e.LongMessage == "" {
				d.Error = "Your password may be compromised. Sign in with a code instead."
			}
			s.render(w, r, e.Status, "sign_in", d)
			return
		}
		if status := s.showErr(w, r, d, err, "identifier", "password"); status != 0 {
			s.render(w, r, status, "sign_in", d)
		}
		return
	}
	s.finishSignIn(w, r, res, back)
}

// codeStrategy picks email_code or phone_code for a code sign-in.
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
	if err != nil {
		if unavailable(err) {
			return nil, err
		}
		return nil, nil
	}
	if !res.Attempt.PasswordVerified || res.Attempt.Identifier != norm || res.User == nil {
		return nil, nil
	}
	return res, nil
}

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

// signInStartCode starts a sign-in with an email or SMS code (offered
// when the password is compromised).
func (s *Server) signInStartCode(w http.ResponseWriter, r *http.Request, d *pageData) {
	ctx := r.Context()
	ident := strings.TrimSpace(r.PostForm.Get("identifier"))
	d.Identifier = ident
	fail := func(err error) {
		if status := s.showErr(w, r, d, err, "identifier"); status != 0 {
			s.render(w, r, status, "sign_in", d)
		}
	}
	kind, _, err := users.Classify(ident)
	if err != nil {
		fail(err)
		return
	}
	c, err := s.ensureClient(w, r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	rq := s.signInRequest(r, c)
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

func (s *Server) showSignInCode(d *pageData, res *signin.Result) {
	d.Step = stepCode
	d.Title = "Check your " + channelWord(res.Attempt)
	d.Lead = ""
	d.SignInID = res.Attempt.ID
	d.Strategy = res.Attempt.Verification.Strategy
	d.Target = maskedTarget(res.Attempt)
	d.Enumeration = s.d.SignIn.Config().EnumerationProtection
}

func channelWord(a *signin.Attempt) string {
	if v := a.Verification; v != nil && (v.Strategy == signin.StrategyPhoneCode || v.Strategy == signin.StrategyResetPasswordPhone) {
		return "phone"
	}
	return "email"
}

// reloadSignInCode shows the code step again for attempt id (after an
// error), or the first step when the attempt is gone.
func (s *Server) reloadSignInCode(w http.ResponseWriter, r *http.Request, d *pageData, c *session.Client, id string, status int) {
	if c != nil {
		res, err := s.d.SignIn.Get(r.Context(), s.signInRequest(r, c), id)
		if err == nil && res.Attempt.Verification != nil && res.Attempt.Status != signin.StatusComplete {
			s.showSignInCode(d, res)
			s.render(w, r, status, "sign_in", d)
			return
		}
		if err != nil && !isNotFound(err) {
			s.failPage(w, r, err)
			return
		}
	}
	d.Step = stepPassword
	d.Fields = map[string]string{}
	d.Error = "This sign-in has expired. Please start again."
	s.render(w, r, http.StatusBadRequest, "sign_in", d)
}

func (s *Server) signInCode(w http.ResponseWriter, r *http.Request, d *pageData, back string) {
	ctx := r.Context()
	id := r.PostForm.Get("sign_in_id")
	strategy := r.PostForm.Get("strategy")
	if strategy != signin.StrategyEmailCode && strategy != signin.StrategyPhoneCode {
		s.messagePage(w, r, http.StatusBadRequest, "Form not readable", "The form you sent could not be read. Please try again.", d.SignInURL)
		return
	}
	c, err := s.loadClient(ctx, r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	code := normalizeCode(r.PostForm.Get("code"))
	if code == "" {
		d.Fields["code"] = "Enter the code we sent you."
		s.reloadSignInCode(w, r, d, c, id, http.StatusUnprocessableEntity)
		return
	}
	if c == nil {
		s.reloadSignInCode(w, r, d, nil, id, http.StatusBadRequest)
		return
	}
	res, err := s.d.SignIn.AttemptFirstFactor(ctx, s.signInRequest(r, c), id, signin.AttemptParams{Strategy: strategy, Code: code})
	if err != nil {
		if isNotFound(err) {
			s.reloadSignInCode(w, r, d, nil, id, http.StatusBadRequest)
			return
		}
		if status := s.showErr(w, r, d, err, "code"); status != 0 {
			s.reloadSignInCode(w, r, d, c, id, status)
		}
		return
	}
	s.finishSignIn(w, r, res, back)
}

// --- forgot password ---

func isResetStrategy(v string) bool {
	return v == signin.StrategyResetPasswordEmail || v == signin.StrategyResetPasswordPhone
}

func (s *Server) forgotPasswordPage(w http.ResponseWriter, r *http.Request) {
	back := redirectParam(r)
	d := s.newPage(r, "Reset your password", back)
	d.Lead = "Enter the email address or phone number of your account and we will send you a code."
	d.Step = stepIdentify
	if r.Method != http.MethodPost {
		s.render(w, r, http.StatusOK, "forgot_password", d)
		return
	}
	switch r.PostForm.Get("op") {
	case "", "start":
		s.forgotStart(w, r, d)
	case "reset":
		s.forgotReset(w, r, d, back)
	case "set_password":
		s.forgotSetPassword(w, r, d, back)
	case "resend":
		s.forgotResend(w, r, d)
	default:
		s.messagePage(w, r, http.StatusBadRequest, "Form not readable", "The form you sent could not be read. Please try again.", d.ForgotURL)
	}
}

func (s *Server) forgotStart(w http.ResponseWriter, r *http.Request, d *pageData) {
	ident := strings.TrimSpace(r.PostForm.Get("identifier"))
	d.Identifier = ident
	bad := func(msg string) {
		d.Fields["identifier"] = msg
		s.render(w, r, http.StatusUnprocessableEntity, "forgot_password", d)
	}
	if ident == "" {
		bad("Enter your email address or phone number.")
		return
	}
	kind, _, err := users.Classify(ident)
	if err != nil {
		bad("Enter a valid email address, or a phone number starting with + and the country code.")
		return
	}
	strategy := signin.StrategyResetPasswordEmail
	switch kind {
	case users.KindEmail:
	case users.KindPhone:
		strategy = signin.StrategyResetPasswordPhone
	default:
		bad("Enter an email address, or a phone number starting with + and the country code.")
		return
	}
	c, err := s.ensureClient(w, r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	res, err := s.d.SignIn.Create(r.Context(), s.signInRequest(r, c), signin.CreateParams{Strategy: strategy, Identifier: ident})
	if err != nil {
		if status := s.showErr(w, r, d, err, "identifier"); status != 0 {
			s.render(w, r, status, "forgot_password", d)
		}
		return
	}
	s.showForgotCode(d, res)
	s.render(w, r, http.StatusOK, "forgot_password", d)
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

// reloadForgot shows the current step of attempt id again (after an
// error), or the first step when the attempt is gone.
func (s *Server) reloadForgot(w http.ResponseWriter, r *http.Request, d *pageData, c *session.Client, id string, status int) {
	if c != nil {
		res, err := s.d.SignIn.Get(r.Context(), s.signInRequest(r, c), id)
		if err == nil && res.Attempt.Verification != nil && isResetStrategy(res.Attempt.Verification.Strategy) &&
			res.Attempt.Status != signin.StatusComplete {
			s.showForgotCode(d, res)
			s.render(w, r, status, "forgot_password", d)
			return
		}
		if err != nil && !isNotFound(err) {
			s.failPage(w, r, err)
			return
		}
	}
	d.Step = stepIdentify
	d.Fields = map[string]string{}
	d.Error = "This password reset has expired. Please start again."
	s.render(w, r, http.StatusBadRequest, "forgot_password", d)
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

func (s *Server) forgotReset(w http.ResponseWriter, r *http.Request, d *pageData, back string) {
	ctx := r.Context()
	id := r.PostForm.Get("sign_in_id")
	strategy := r.PostForm.Get("strategy")
	if !isResetStrategy(strategy) {
		s.messagePage(w, r, http.StatusBadRequest, "Form not readable", "The form you sent could not be read. Please try again.", d.ForgotURL)
		return
	}
	c, err := s.loadClient(ctx, r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	code := normalizeCode(r.PostForm.Get("code"))
	if code == "" {
		d.Fields["code"] = "Enter the code we sent you."
	}
	pw, ok := readNewPassword(r, d)
	if !ok || code == "" || c == nil {
		s.reloadForgot(w, r, d, c, id, http.StatusUnprocessableEntity)
		return
	}
	rq := s.signInRequest(r, c)
	var res *signin.Result
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
		if isNotFound(err) {
			s.reloadForgot(w, r, d, nil, id, http.StatusBadRequest)
			return
		}
		if status := s.showErr(w, r, d, err, "code", "password"); status != 0 {
			s.reloadForgot(w, r, d, c, id, status)
		}
		return
	}
	s.finishSignIn(w, r, res, back)
}

// forgotSetPassword sets the password of an attempt whose code was
// verified (the code step went through but the password was refused).
func (s *Server) forgotSetPassword(w http.ResponseWriter, r *http.Request, d *pageData, back string) {
	ctx := r.Context()
	id := r.PostForm.Get("sign_in_id")
	c, err := s.loadClient(ctx, r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	pw, ok := readNewPassword(r, d)
	if !ok || c == nil {
		s.reloadForgot(w, r, d, c, id, http.StatusUnprocessableEntity)
		return
	}
	res, err := s.d.SignIn.ResetPassword(ctx, s.signInRequest(r, c), id, pw, d.SignOutAll)
	if err != nil {
		if isNotFound(err) {
			s.reloadForgot(w, r, d, nil, id, http.StatusBadRequest)
			return
		}
		if status := s.showErr(w, r, d, err, "password"); status != 0 {
			s.reloadForgot(w, r, d, c, id, status)
		}
		return
	}
	s.finishSignIn(w, r, res, back)
}

// --- reset-password task / change password ---

func accountLabel(u *users.User) string {
	switch {
	case u.PrimaryEmail() != "":
		return u.PrimaryEmail()
	case u.PrimaryPhone() != "":
		return u.PrimaryPhone()
	}
	return u.Username
}

func (s *Server) resetPasswordPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	back := redirectParam(r)
	_, sess, u, err := s.currentSession(w, r)
	if err != nil {
		var e *apierr.Error
		if errors.As(err, &e) && (e.Code == apierr.AuthenticationInvalid.Code || e.Code == apierr.SignedOut.Code) {
			seeOther(w, r, s.signInURL(withBack(r.URL.Path, back)))
			return
		}
		s.failPage(w, r, err)
		return
	}
	isTask := tasks.Has(sess.Tasks, tasks.ResetPassword)
	d := s.newPage(r, "Change your password", back)
	d.IsTask = isTask
	d.NeedCurrent = !isTask && u.PasswordDigest != ""
	d.Account = accountLabel(u)
	d.SignOutURL = s.cfg.Prefix + pathSignOut
	if isTask {
		d.Title = "Set a new password"
		d.Lead = "You need to set a new password before you continue."
	}
	if r.Method != http.MethodPost {
		s.render(w, r, http.StatusOK, "reset_password", d)
		return
	}
	pw, ok := readNewPassword(r, d)
	current := r.PostForm.Get("current_password")
	if d.NeedCurrent && current == "" {
		d.Fields["current_password"] = "Enter your current password."
		ok = false
	}
	if isTask {
		d.SignOutAll = true // a forced reset always ends the other sessions
	}
	if !ok {
		s.render(w, r, http.StatusUnprocessableEntity, "reset_password", d)
		return
	}
	if err := s.d.SignIn.AllowIP(ctx, "change_password", clientIP(r)); err != nil {
		if status := s.showErr(w, r, d, err); status != 0 {
			s.render(w, r, status, "reset_password", d)
		}
		return
	}
	_, nsess, err := s.d.SignIn.ChangePassword(ctx, u, sess, signin.ChangeParams{
		NewPassword: pw, CurrentPassword: current, SignOutOthers: d.SignOutAll,
	})
	if err != nil {
		if status := s.showErr(w, r, d, err, "password", "current_password"); status != 0 {
			s.render(w, r, status, "reset_password", d)
		}
		return
	}
	s.forget(sess.ID)
	jwt, err := s.mint(ctx, r, nsess)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	s.setSessionCookie(w, r, jwt)
	if nsess.Status == session.StatusPending {
		seeOther(w, r, s.taskURL(nsess.Tasks, back))
		return
	}
	seeOther(w, r, s.afterSignIn(back))
}

// --- sign-out ---

func (s *Server) signOutPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		d := s.newPage(r, "Sign out", "")
		d.Lead = "Sign out of " + s.cfg.AppName + " on this device?"
		if id, err := s.identify(w, r); err == nil && id != nil {
			d.Account = id.Email
			if d.Account == "" {
				d.Account = id.Phone
			}
			if d.Account == "" {
				d.Account = id.Username
			}
		}
		s.render(w, r, http.StatusOK, "sign_out", d)
		return
	}
	c, err := s.loadClient(ctx, r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	if c != nil {
		if err := s.signOutClient(r, c); err != nil {
			s.failPage(w, r, err)
			return
		}
	}
	s.clearSessionCookie(w, r)
	s.newCSRFCookie(w, r)
	w.Header().Set("Clear-Site-Data", `"cache"`)
	seeOther(w, r, s.signInURL(""))
}

// codeStep is one page's code step: which strategies it sends, and how
// it shows the code form again.
type codeStep struct {
	valid    func(strategy string) bool
	back     func(d *pageData) string
	show     func(d *pageData, res *signin.Result)
	reload   func(w http.ResponseWriter, r *http.Request, d *pageData, c *session.Client, id string, status int)
	template string
}

// resend sends a new code for the sign-in attempt of a code step
// ("Resend code" on the sign-in and forgot-password pages).
func (s *Server) resend(w http.ResponseWriter, r *http.Request, d *pageData, step codeStep) {
	ctx := r.Context()
	id := r.PostForm.Get("sign_in_id")
	strategy := r.PostForm.Get("strategy")
	if !step.valid(strategy) {
		s.messagePage(w, r, http.StatusBadRequest, "Form not readable", "The form you sent could not be read. Please try again.", step.back(d))
		return
	}
	c, err := s.loadClient(ctx, r)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	if c == nil {
		step.reload(w, r, d, nil, id, http.StatusBadRequest)
		return
	}
	res, err := s.d.SignIn.Prepare(ctx, s.signInRequest(r, c), id, signin.PrepareParams{Strategy: strategy})
	if err != nil {
		if isNotFound(err) {
			step.reload(w, r, d, nil, id, http.StatusBadRequest)
			return
		}
		if status := s.showErr(w, r, d, err); status != 0 {
			step.reload(w, r, d, c, id, status)
		}
		return
	}
	step.show(d, res)
	d.Notice = "We sent a new code."
	s.render(w, r, http.StatusOK, step.template, d)
}

func (s *Server) signInResend(w http.ResponseWriter, r *http.Request, d *pageData) {
	s.resend(w, r, d, codeStep{
		valid: func(v string) bool { return v == signin.StrategyEmailCode || v == signin.StrategyPhoneCode },
		back:  func(d *pageData) string { return d.SignInURL },
		show:  s.showSignInCode, reload: s.reloadSignInCode, template: "sign_in",
	})
}

func (s *Server) forgotResend(w http.ResponseWriter, r *http.Request, d *pageData) {
	s.resend(w, r, d, codeStep{
		valid: isResetStrategy,
		back:  func(d *pageData) string { return d.ForgotURL },
		show:  s.showForgotCode, reload: s.reloadForgot, template: "forgot_password",
	})
}
