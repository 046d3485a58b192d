package caddymodule

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/authgate/authgate/handlers"
	"github.com/authgate/authgate/tasks"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler is the authgate gate: it puts authentication in front of the
// next handler and serves the built-in JSON API and pages under Prefix.
//
// For a signed-in (active) request it sets the placeholders
// {http.auth.user.id}, {http.auth.user.email}, {http.auth.user.phone},
// {http.auth.user.username} and {http.auth.session.id}, and the request
// headers X-Authgate-User-Id, X-Authgate-Session-Id and X-Authgate-Email
// (those that IdentityHeaders names, and never one with an empty
// value). Every X-Authgate-* header a client sent is removed first.
type Handler struct {
	// Prefix of the built-in API and pages. Default: /__authgate
	Prefix string `json:"prefix,omitempty"`
	// SignInURL is where anonymous navigations are sent. Default: {prefix}/sign-in
	SignInURL string `json:"sign_in_url,omitempty"`
	// AfterSignInURL is where a user lands after sign-in when no valid
	// redirect_url was given. Default: /
	AfterSignInURL string `json:"after_sign_in_url,omitempty"`
	// TaskURLs maps a session task key to the URL that completes it.
	// Default: reset-password -> {prefix}/tasks/reset-password
	TaskURLs map[string]string `json:"task_urls,omitempty"`
	// Public lists path patterns that need no session (a trailing * matches a prefix).
	Public []string `json:"public,omitempty"`
	// IdentityHeaders names the identity headers sent upstream for a
	// signed-in request: user_id (X-Authgate-User-Id), session_id
	// (X-Authgate-Session-Id), email (X-Authgate-Email), each at most
	// once. Absent (null): all three. An empty list: none (the
	// placeholders are set all the same).
	IdentityHeaders []string `json:"identity_headers,omitzero"`

	app *App
	srv *handlers.Server
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.authgate",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision applies defaults and builds the site's server over the
// shared authgate app.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.applyDefaults()
	appIface, err := ctx.App("authgate")
	if err != nil {
		return fmt.Errorf("loading the authgate app: %w", err)
	}
	h.app = appIface.(*App)
	e := h.app.svc
	h.srv = handlers.New(handlers.Config{
		Prefix:          h.Prefix,
		SignInURL:       h.SignInURL,
		AfterSignInURL:  h.AfterSignInURL,
		Public:          h.Public,
		Tasks:           tasks.NewRouter(h.Prefix, h.TaskURLs),
		Issuer:          h.app.Issuer,
		AppName:         h.app.AppName,
		IdentityHeaders: h.IdentityHeaders,
	}, handlers.Deps{
		Users: e.Users, Sessions: e.Sessions, SignIn: e.SignIn, SignUp: e.SignUp, Tokens: e.Tokens,
		CSRFKey: e.CSRFKey,
		Events:  e.Events, Logger: ctx.Logger(), PasswordMinLength: e.Passwords.MinLength(),
	})
	return nil
}

// Validate checks the site configuration without side effects. Each
// check is in validate.go; the Caddyfile parser runs them too.
func (h *Handler) Validate() error {
	return firstError(h.checkURLs, h.checkPublic, h.checkIdentityHeaders)
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if err := h.app.ensureLoaded(); err != nil {
		handlers.StripIdentity(r)
		unavailableResponse(w)
		return nil
	}
	if h.srv.InPrefix(r) {
		// The API's rate limits key on the client IP as Caddy resolved it
		// (trusted_proxies included); the gate itself does not need it.
		if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok {
			r = handlers.WithClientIP(r, ip)
		}
		h.srv.ServeBuiltin(w, r)
		return nil
	}
	v := h.srv.Gate(w, r)
	if !v.Pass {
		return nil
	}
	// Public and task-page requests go on without identity: the
	// placeholders are set empty so they never expand to their own names.
	// The values are boxed once per cached token (Placeholders), so
	// setting them allocates nothing per request.
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		ph := v.Identity.Placeholders()
		repl.Set("http.auth.user.id", ph.UserID)
		repl.Set("http.auth.user.email", ph.Email)
		repl.Set("http.auth.user.phone", ph.Phone)
		repl.Set("http.auth.user.username", ph.Username)
		repl.Set("http.auth.session.id", ph.SessionID)
	}
	return next.ServeHTTP(w, r)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
