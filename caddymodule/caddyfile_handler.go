package caddymodule

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("authgate", parseHandlerDirective)
	// Ordered like forward_auth: after basic_auth, before forward_auth and
	// therefore before request_header, encode, the routing directives
	// (handle, route, ...) and every responder (respond, reverse_proxy,
	// file_server, ...). No `order` line is needed.
	httpcaddyfile.RegisterDirectiveOrder("authgate", httpcaddyfile.Before, "forward_auth")
}

// parseHandlerDirective parses the `authgate` site directive into the
// http.handlers.authgate handler.
func parseHandlerDirective(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	handler := new(Handler)
	if err := handler.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	return handler, nil
}

// UnmarshalCaddyfile sets up the handler from the `authgate` site
// directive. Syntax:
//
//	authgate [<matcher>] {
//		prefix <path>
//		sign_in_url <path or url>
//		after_sign_in_url <path or url>
//		task_url <task key> <path or url>
//		public <path pattern...>
//		identity_headers [user_id] [session_id] [email]
//	}
//
// A bare `authgate` line uses every default. The prefix starts with / and
// has no trailing slash. task_url may be given once per task key; public
// may be given many times and accumulates. A path pattern ending in *
// matches every path that starts with what comes before the *.
// identity_headers names the identity headers sent upstream (default: all
// three; each name at most once, in any order); with no name, none is
// sent. The checks
// are the handler's Validate, run at the end and reported at the line
// that set the value.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	at := positions{"": d.Token()}
	if err := noArgs(d); err != nil {
		return err
	}
	err := parseBlock(d, at, "", map[string]subParser{
		"prefix":            stringInto(&h.Prefix),
		"sign_in_url":       stringInto(&h.SignInURL),
		"after_sign_in_url": stringInto(&h.AfterSignInURL),
		"task_url":          func(d *caddyfile.Dispenser) error { return h.parseTaskURL(d, at) },
		"public":            func(d *caddyfile.Dispenser) error { return h.parsePublic(d, at) },
		"identity_headers":  h.parseIdentityHeaders,
	}, "task_url", "public")
	if err != nil {
		return err
	}
	return at.locate(h.Validate())
}

// parseTaskURL reads `task_url <task key> <path or url>`, once per key.
func (h *Handler) parseTaskURL(d *caddyfile.Dispenser, at positions) error {
	args, err := lineArgsN(d, "task_url", 2, 2)
	if err != nil {
		return err
	}
	key := args[0]
	if _, dup := h.TaskURLs[key]; dup {
		return d.Errf("task_url: task %q given more than once", key)
	}
	if h.TaskURLs == nil {
		h.TaskURLs = make(map[string]string)
	}
	h.TaskURLs[key] = args[1]
	at.note("task_urls."+key, d)
	return noBlock(d, "task_url")
}

// parsePublic reads `public <path pattern...>`; the patterns accumulate.
func (h *Handler) parsePublic(d *caddyfile.Dispenser, at positions) error {
	args, err := lineArgsN(d, "public", 1, -1)
	if err != nil {
		return err
	}
	for _, pattern := range args {
		at.note(publicField(len(h.Public)), d)
		h.Public = append(h.Public, pattern)
	}
	return noBlock(d, "public")
}

// parseIdentityHeaders reads `identity_headers [<name...>]`; no name
// means none is sent (an empty list, not the default). Which names are
// valid is checked by Validate.
func (h *Handler) parseIdentityHeaders(d *caddyfile.Dispenser) error {
	args, err := lineArgs(d, "identity_headers")
	if err != nil {
		return err
	}
	h.IdentityHeaders = append([]string{}, args...)
	return noBlock(d, "identity_headers")
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*Handler)(nil)
)
