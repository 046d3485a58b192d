// Package authgate is the Caddy plugin's entry point for xcaddy:
//
//	xcaddy build --with github.com/authgate/authgate
//
// Importing it registers the authgate app, the http.handlers.authgate
// handler, the admin.api.authgate admin routes and the `caddy authgate`
// command (all in package caddymodule).
package authgate

import (
	// Register the Caddy modules.
	_ "github.com/authgate/authgate/caddymodule"
)
