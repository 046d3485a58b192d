package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/handlers"
)

func init() {
	caddy.RegisterModule(AdminAPI{})
}

// AdminAPI serves authgate's admin API on Caddy's admin endpoint under
// /authgate/v1/ (users, compromised passwords, sessions).
type AdminAPI struct{}

// CaddyModule returns the Caddy module information.
func (AdminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.authgate",
		New: func() caddy.Module { return new(AdminAPI) },
	}
}

// Routes returns the admin routes.
func (AdminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{
		Pattern: "/authgate/",
		Handler: caddy.AdminHandlerFunc(serveAdmin),
	}}
}

// serveAdmin hands the request to the running app's admin API.
func serveAdmin(w http.ResponseWriter, r *http.Request) error {
	a := current.Load()
	if a == nil {
		apierr.Write(w, apierr.ServiceUnavailable.WithLongMessage("The authgate app is not running: add an `authgate` global option or site directive."))
		return nil
	}
	if err := a.ensureLoaded(); err != nil {
		apierr.Write(w, apierr.ServiceUnavailable.WithRetryAfter(keysRetryAfter))
		return nil
	}
	if a.adminMaintenance(w, r) {
		return nil
	}
	a.admin().ServeHTTP(w, r)
	return nil
}

// admin returns the app's admin handler, built on first use.
func (a *App) admin() *handlers.Admin {
	a.rt.adminOnce.Do(func() {
		e := a.svc
		a.rt.adminHandler = handlers.NewAdmin(handlers.AdminDeps{
			Users: e.Users, Sessions: e.Sessions, SignIn: e.SignIn, Tokens: e.Tokens,
			Events: e.Events, Logger: a.logger.Named("admin"),
		})
	})
	return a.rt.adminHandler
}

// Interface guards
var (
	_ caddy.AdminRouter = (*AdminAPI)(nil)
)
