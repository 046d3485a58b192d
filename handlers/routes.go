package handlers

import (
	"net/http"
	"slices"
	"strings"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/tasks"
)

// Page paths under the prefix.
const (
	pathSignIn         = "/sign-in"
	pathForgotPassword = "/forgot-password"
	pathResetTask      = "/tasks/reset-password"
	pathSignOut        = "/sign-out"
	pathSetupMFATask   = "/tasks/setup-mfa"
	pathAccount        = "/account"
)

// routes registers the site's JSON API (api_*.go) and HTML pages
// (page_*.go) under the prefix. Whatever else reaches the prefix gets
// the Clerk envelope, not Go's plain text: a known path with another
// method 405 method_not_allowed (with Allow), anything else 404
// resource_not_found.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	p := s.cfg.Prefix
	// methods lists the methods of each registered path, for the 405s.
	methods := map[string][]string{}
	handle := func(method, path string, h http.Handler) {
		mux.Handle(method+" "+p+path, h)
		methods[path] = append(methods[path], method)
	}
	api := func(pattern string, h http.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		handle(method, path, s.apiMiddleware(h))
	}
	handle(http.MethodGet, "/.well-known/jwks.json", http.HandlerFunc(s.jwks))
	handle(http.MethodGet, "/v1/jwks", http.HandlerFunc(s.jwks))
	// Clerk's backend SDKs with proxyUrl at the prefix (api_handshake.go).
	handle(http.MethodGet, "/v1/client/handshake", http.HandlerFunc(s.handshake))
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
	api("POST /v1/client/sign_ins/{id}/prepare_second_factor", s.prepareSecondFactor)
	api("POST /v1/client/sign_ins/{id}/attempt_second_factor", s.attemptSecondFactor)
	api("POST /v1/client/sign_ups", s.createSignUp)
	api("GET /v1/client/sign_ups/{id}", s.getSignUp)
	api("PATCH /v1/client/sign_ups/{id}", s.updateSignUp)
	api("POST /v1/client/sign_ups/{id}/prepare_verification", s.prepareSignUpVerification)
	api("POST /v1/client/sign_ups/{id}/attempt_verification", s.attemptSignUpVerification)
	api("POST /v1/client/sessions/{id}/touch", s.touchSession)
	api("POST /v1/client/sessions/{id}/tokens", s.createSessionToken)
	api("POST /v1/client/sessions/{id}/end", s.endSession(session.StatusEnded))
	api("POST /v1/client/sessions/{id}/remove", s.endSession(session.StatusRemoved))
	api("POST /v1/client/sessions/{id}/verify", s.verifySession)
	api("POST /v1/client/sessions/{id}/verify/prepare_first_factor", s.prepareSessionFirstFactor)
	api("POST /v1/client/sessions/{id}/verify/attempt_first_factor", s.attemptSessionFirstFactor)
	api("POST /v1/me/change_password", s.changePassword)
	api("GET /v1/me", s.getMe)
	api("POST /v1/me/totp", s.createTOTP)
	api("DELETE /v1/me/totp", s.deleteTOTP)
	api("POST /v1/me/totp/attempt_verification", s.verifyTOTP)
	api("POST /v1/me/backup_codes", s.createBackupCodes)
	// clerk-js's user.createBackupCode() posts to the path with a slash.
	api("POST /v1/me/backup_codes/{$}", s.createBackupCodes)
	api("GET /v1/me/sessions/active", s.activeSessions)
	api("POST /v1/me/sessions/{id}/revoke", s.revokeSession)
	api("PATCH /v1/me/phone_numbers/{id}", s.updatePhone)
	api("POST /v1/me/phone_numbers", s.createMyPhone)
	api("POST /v1/me/phone_numbers/{$}", s.createMyPhone) // clerk-js's path
	api("POST /v1/me/phone_numbers/{id}/prepare_verification", s.prepareMyPhone)
	api("POST /v1/me/phone_numbers/{id}/attempt_verification", s.attemptMyPhone)
	api("DELETE /v1/me/phone_numbers/{id}", s.deleteMyPhone)
	// Every page answers GET (the form) and POST (the form sent back).
	for path, h := range map[string]http.HandlerFunc{
		pathSignIn:         s.signInPage,
		pathForgotPassword: s.forgotPasswordPage,
		pathResetTask:      s.sessionPage("", s.resetPasswordPage),
		pathSignOut:        s.signOutPage,
		pathSetupMFATask:   s.sessionPage(tasks.SetupMFA, s.setupMFAPage),
		pathAccount:        s.accountPage,
		pathSignUp:         s.signUpPage,
	} {
		handle(http.MethodGet, path, s.page(h))
		handle(http.MethodPost, path, s.page(h))
	}
	// A pattern without a method is less specific than the same path
	// with one, so these only see the methods the path does not serve.
	for path, list := range methods {
		mux.Handle(p+path, methodNotAllowed(list))
	}
	notFound := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeEnvelope(w, apierr.ResourceNotFound.WithLongMessage("No such endpoint: "+r.Method+" "+strings.TrimPrefix(r.URL.Path, p)))
	})
	mux.Handle(p+"/", notFound)
	if p != "" {
		mux.Handle(p, notFound)
	}
	return mux
}

// methodNotAllowed answers 405 method_not_allowed for a path served with
// other methods, named in Allow (GET implies HEAD, as the mux serves it).
func methodNotAllowed(list []string) http.Handler {
	allowed := slices.Clone(list)
	if slices.Contains(allowed, http.MethodGet) {
		allowed = append(allowed, http.MethodHead)
	}
	slices.Sort(allowed)
	allow := strings.Join(allowed, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeEnvelope(w, apierr.MethodNotAllowed.WithLongMessage(r.Method+" is not allowed here; use "+allow+"."))
	})
}

// writeEnvelope answers e outside any endpoint's middleware: the headers
// every JSON answer carries, then the envelope.
func writeEnvelope(w http.ResponseWriter, e *apierr.Error) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	apierr.Write(w, e)
}

// AdminPrefix is where the admin API is mounted on Caddy's admin endpoint.
const AdminPrefix = "/authgate/v1"

// routes registers the admin API (admin_*.go).
func (a *Admin) routes() *http.ServeMux {
	mux := http.NewServeMux()
	p := AdminPrefix
	mux.HandleFunc("POST "+p+"/users", a.createUser)
	mux.HandleFunc("GET "+p+"/users", a.findUsers)
	mux.HandleFunc("GET "+p+"/users/{id}", a.getUser)
	mux.HandleFunc("DELETE "+p+"/users/{id}", a.deleteUser)
	mux.HandleFunc("POST "+p+"/users/{id}/password/set_compromised", a.setCompromised(true))
	mux.HandleFunc("POST "+p+"/users/{id}/password/unset_compromised", a.setCompromised(false))
	mux.HandleFunc("POST "+p+"/users/{id}/password/require_reset", a.requireReset)
	mux.HandleFunc("DELETE "+p+"/users/{id}/mfa", a.disableMFA)
	mux.HandleFunc("GET "+p+"/sessions", a.listSessions)
	mux.HandleFunc("POST "+p+"/jwks/rotate", a.rotateKeys)
	mux.HandleFunc("POST "+p+"/sessions/{id}/revoke", a.revokeSession)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apierr.Write(w, apierr.ResourceNotFound.WithLongMessage("No such endpoint: "+r.Method+" "+r.URL.Path))
	})
	return mux
}
