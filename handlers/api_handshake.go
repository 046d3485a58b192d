package handlers

import (
	"net/http"
	"net/url"
	"strings"
)

// The handshake of Clerk's backend SDKs, for an upstream that uses one
// with proxyUrl set to the prefix (README "Upstreams that use Clerk's
// SDKs").
//
// @clerk/backend's authenticateRequest sends a browser to
// <frontend API>/v1/client/handshake?redirect_url=... when it cannot
// settle the sign-in state from the cookies; Clerk's Frontend API
// answers with the cookies to set and sends it back. Behind the gate the
// cookies are always settled (upstream_cookies.go) but in one case the
// SDK forces itself: a signed-in navigation that arrives from another
// site (a link on another page, "primary-domain-cross-origin-sync").
// authgate's cookies are right already, so the answer is the way back,
// with nothing to resolve; the SDK counts its redirects in a cookie
// (__clerk_redirect_count) and does not force another on the way back.

// handshake redirects to the request's redirect_url when it is a URL of
// this site (else to after_sign_in_url).
func (s *Server) handshake(w http.ResponseWriter, r *http.Request) {
	back := s.afterSignIn(sameOriginTarget(r, r.URL.Query().Get("redirect_url")))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, back, http.StatusTemporaryRedirect)
}

// sameOriginTarget is raw, an absolute URL, as a path of this site
// ("/path?query"); "" when raw is of another origin or not a safe
// redirect.
func sameOriginTarget(r *http.Request, raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || !strings.EqualFold(u.Scheme+"://"+u.Host, origin(r)) {
		return ""
	}
	rel := u.EscapedPath()
	if rel == "" {
		rel = "/"
	}
	if u.RawQuery != "" {
		rel += "?" + u.RawQuery
	}
	return SafeRedirect(rel, "")
}
