package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler is the authgate gate: it puts authentication in front of the
// next handler and serves the built-in JSON API and pages under Prefix.
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
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.authgate",
		New: func() caddy.Module { return new(Handler) },
	}
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return next.ServeHTTP(w, r)
}

// Interface guards
var (
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
