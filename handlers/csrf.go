package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CSRF protection of the HTML forms (checklist O-13, C-42).
//
// Every browser gets a random, HttpOnly cookie (__authgate_csrf) scoped to
// the prefix. A form's token is
//
//	<unix seconds> "." base64url(HMAC-SHA256(key, label | cookie | action | seconds))
//
// where key is a server secret shared by every instance through the store,
// and action is the path the form posts to. A POST is accepted only with
// a token for its own path, made for the cookie the browser sends, younger
// than csrfMaxAge. On top of that, requests the browser marks as coming
// from another site (Sec-Fetch-Site) or with a foreign Origin are refused
// before the token is looked at. A token is useless without the cookie
// and the cookie without a token, and neither can be made without the
// key. The cookie is drawn anew whenever the __client handle rotates (a
// sign-in, a completed task: sendRotated), so the binding follows the
// handle and a value known from before the sign-in is worthless after.

// CookieCSRF is the per-browser cookie CSRF tokens are bound to.
const CookieCSRF = "__authgate_csrf"

// CookieCSRFSecure is its name on https: the __Host- prefix makes
// browsers refuse the cookie from a sibling subdomain or from plain http,
// so nobody can plant a value they know.
const CookieCSRFSecure = "__Host-authgate_csrf"

// csrfField is the form field that carries the token.
const csrfField = "csrf_token"

// csrfMaxAge bounds how long a rendered form stays valid.
const csrfMaxAge = 12 * time.Hour

// csrfFutureSkew tolerates clocks of instances that disagree a little.
const csrfFutureSkew = 5 * time.Minute

// csrfCookieBytes is the entropy of the per-browser cookie.
const csrfCookieBytes = 32

// csrfKeys holds the key that signs CSRF tokens (kept in the store, so
// every instance accepts the forms of every other).
type csrfKeys struct {
	Secret
}

// mac computes the signature part of a token.
func csrfMAC(key []byte, binding, action, ts string) []byte {
	m := hmac.New(sha256.New, key)
	for _, part := range []string{"authgate-csrf-v1", binding, action, ts} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// token makes a token for a form posting to action, for the browser
// whose CSRF cookie is binding.
func (k *csrfKeys) token(ctx context.Context, binding, action string, now time.Time) (string, error) {
	key, err := k.Get(ctx)
	if err != nil {
		return "", err
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	return ts + "." + base64.RawURLEncoding.EncodeToString(csrfMAC(key, binding, action, ts)), nil
}

// csrfError says why a token was refused (for logs and the 403 page; it
// never contains the token). One type, so that a new refusal is told
// from a store error (isCSRFError) without being listed twice.
type csrfError string

func (e csrfError) Error() string { return string(e) }

// The refusals.
const (
	errCSRFMissing   csrfError = "csrf token missing"
	errCSRFMalformed csrfError = "csrf token malformed"
	errCSRFExpired   csrfError = "csrf token expired"
	errCSRFMismatch  csrfError = "csrf token does not match"
	errCSRFNoCookie  csrfError = "csrf cookie missing"
	errCSRFSite      csrfError = "request came from another site"
	errCSRFOrigin    csrfError = "origin header does not match"
)

// verify checks tok for binding and action in constant time. Errors other
// than the errCSRF* ones mean the key could not be read.
func (k *csrfKeys) verify(ctx context.Context, tok, binding, action string, now time.Time) error {
	if binding == "" {
		return errCSRFNoCookie
	}
	if tok == "" {
		return errCSRFMissing
	}
	if len(tok) > 128 {
		return errCSRFMalformed
	}
	ts, sig, ok := strings.Cut(tok, ".")
	if !ok || ts == "" || len(ts) > 12 {
		return errCSRFMalformed
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || strconv.FormatInt(secs, 10) != ts {
		return errCSRFMalformed
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return errCSRFMalformed
	}
	key, err := k.Get(ctx)
	if err != nil {
		return err
	}
	if !hmac.Equal(got, csrfMAC(key, binding, action, ts)) {
		return errCSRFMismatch
	}
	issued := time.Unix(secs, 0)
	if now.Sub(issued) > csrfMaxAge || issued.Sub(now) > csrfFutureSkew {
		return errCSRFExpired
	}
	return nil
}

// validCSRFCookie reports whether v looks like a cookie we issued.
func validCSRFCookie(v string) bool {
	if len(v) != base64.RawURLEncoding.EncodedLen(csrfCookieBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(v)
	return err == nil
}

// csrfCookie returns the browser's CSRF cookie value, or "".
func csrfCookie(r *http.Request) string {
	name, _ := csrfCookieName(r, "")
	c, err := r.Cookie(name)
	if err != nil || !validCSRFCookie(c.Value) {
		return ""
	}
	return c.Value
}

// cookiePath is the path the CSRF cookie is scoped to.
func (s *Server) cookiePath() string {
	if s.cfg.Prefix == "" {
		return "/"
	}
	return s.cfg.Prefix
}

// csrfCookieName is the CSRF cookie's name and path for the request:
// __Host- (which requires Path=/) on https, the prefix-scoped name on http.
func csrfCookieName(r *http.Request, prefixPath string) (name, path string) {
	if secure(r) {
		return CookieCSRFSecure, "/"
	}
	return CookieCSRF, prefixPath
}

// newCSRFCookie draws a fresh per-browser value and sets it.
func (s *Server) newCSRFCookie(w http.ResponseWriter, r *http.Request) string {
	b := make([]byte, csrfCookieBytes)
	// crypto/rand.Read never fails on supported platforms (Go 1.24+).
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	name, path := csrfCookieName(r, s.cookiePath())
	replaceCookie(w, &http.Cookie{
		Name: name, Value: v, Path: path, HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode,
	})
	return v
}

// csrfBinding returns the browser's CSRF cookie, setting a new one when
// the request has none.
func (s *Server) csrfBinding(w http.ResponseWriter, r *http.Request) string {
	if v := csrfCookie(r); v != "" {
		return v
	}
	return s.newCSRFCookie(w, r)
}

// checkFetchSite refuses requests the browser says come from another
// origin: Sec-Fetch-Site cross-site or same-site (a sibling subdomain),
// or an Origin header naming another origin. Origin "null" carries no
// information: browsers send it for the pages' own forms because the
// pages use Referrer-Policy: no-referrer (and Sec-Fetch-Site, which they
// send as well, still tells a foreign form apart). Clients that send
// neither header (old browsers, scripts) still need a valid token.
func checkFetchSite(r *http.Request) error {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return errCSRFSite
	}
	if o, ok := r.Header["Origin"]; ok {
		if len(o) != 1 || (o[0] != "null" && o[0] != origin(r)) {
			return errCSRFOrigin
		}
	}
	return nil
}

// checkCSRF verifies a parsed POST form. It returns nil, an errCSRF*
// error, or an error of the store.
func (s *Server) checkCSRF(r *http.Request) error {
	if err := checkFetchSite(r); err != nil {
		return err
	}
	tok := ""
	if v := r.PostForm[csrfField]; len(v) == 1 {
		tok = v[0]
	} else if len(v) > 1 {
		return errCSRFMalformed
	}
	return s.csrf.verify(r.Context(), tok, csrfCookie(r), r.URL.Path, s.d.Now())
}

// isCSRFError reports whether err is a refusal (not a store error).
func isCSRFError(err error) bool {
	var refused csrfError
	return errors.As(err, &refused)
}
