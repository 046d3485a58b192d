package handlers

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/authgate/authgate/session"
)

// Cookie names.
const (
	CookieSession = "__session"
	CookieClient  = "__client"
)

func secure(r *http.Request) bool { return r.TLS != nil }

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, jwt string) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieSession, Value: jwt, Path: "/", HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) setClientCookie(w http.ResponseWriter, r *http.Request, tok string) {
	replaceCookie(w, &http.Cookie{
		Name: CookieClient, Value: tok, Path: "/", HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode,
		MaxAge: int(s.d.Sessions.Lifetime() / time.Second),
	})
}

// replaceCookie sets c, dropping a Set-Cookie of the same name set
// earlier in this response: a client created and then rotated in one
// request (a first sign-in) must leave the browser with the last value,
// not depend on the order browsers apply two of them in.
func replaceCookie(w http.ResponseWriter, c *http.Cookie) {
	h := w.Header()
	if old := h["Set-Cookie"]; len(old) > 0 {
		prefix := c.Name + "="
		h["Set-Cookie"] = slices.DeleteFunc(old, func(v string) bool { return strings.HasPrefix(v, prefix) })
	}
	http.SetCookie(w, c)
}

// sendRotated sets the cookies of a client rotated while serving this
// request (a sign-in, a completed task): its new __client, and a new CSRF
// cookie, so that the pages' CSRF binding follows the new handle and
// forms from before the sign-in (or a CSRF cookie planted with the old
// handle) are void. Every response that can follow a rotation goes
// through here: respond and writeClient for the API, signIn for the
// pages. Without a rotation it does nothing.
func (s *Server) sendRotated(w http.ResponseWriter, r *http.Request, c *session.Client) {
	if c == nil || c.RotatedToken() == "" {
		return
	}
	s.setClientCookie(w, r, c.RotatedToken())
	s.newCSRFCookie(w, r)
}

func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieSession, Value: "", Path: "/", HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode, MaxAge: -1,
	})
}

// sessionToken reads the JWT from the __session cookie or a Bearer header.
func sessionToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return cookieValue(r, CookieSession)
}

// cookieValue finds a cookie without parsing every cookie of the request
// (the gate runs it on every request). Values with characters outside
// the cookie-value set are ignored, as net/http does.
func cookieValue(r *http.Request, name string) string {
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, v, ok := strings.Cut(part, "=")
			if !ok || k != name {
				continue
			}
			v = strings.Trim(v, `"`)
			for i := 0; i < len(v); i++ {
				if c := v[i]; c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
					return ""
				}
			}
			return v
		}
	}
	return ""
}

// clientToken is the __client cookie, read as __session is (the gate
// reads both on every request).
func clientToken(r *http.Request) string { return cookieValue(r, CookieClient) }

// privateCookie reports whether name is a cookie that only authgate
// reads: the __client refresh credential and the CSRF cookie. The
// upstream has no use for them and must not be able to leak or replay
// them; __session stays, the upstream may verify it.
func privateCookie(name string) bool {
	switch strings.Trim(name, " \t") {
	case CookieClient, CookieCSRF, CookieCSRFSecure:
		return true
	}
	return false
}

// stripPrivateCookies removes the private cookies from the Cookie
// header lines of a request about to go upstream, leaving every other
// cookie, its order and the separators between the ones kept as they
// were; a line left empty goes, and so does the header. It runs on every
// gated request: a line without a private cookie is scanned in place
// and not copied.
func stripPrivateCookies(h http.Header) {
	lines, ok := h["Cookie"]
	if !ok {
		return
	}
	kept := lines[:0]
	for _, line := range lines {
		if i := firstPrivatePair(line); i >= 0 {
			line = withoutPrivatePairs(line, i)
		}
		if strings.Trim(line, " \t") != "" {
			kept = append(kept, line)
		}
	}
	if len(kept) == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = kept
}

// firstPrivatePair is the offset of the first "name=value" pair of line
// (pairs are separated by ';') whose name is private, or -1.
func firstPrivatePair(line string) int {
	for start := 0; start <= len(line); {
		end := strings.IndexByte(line[start:], ';')
		if end < 0 {
			end = len(line)
		} else {
			end += start
		}
		name, _, _ := strings.Cut(line[start:end], "=")
		if privateCookie(name) {
			return start
		}
		start = end + 1
	}
	return -1
}

// withoutPrivatePairs is line without its private pairs, the first of
// which starts at from. The pairs kept are joined by ';' with their own
// leading spaces, so "a=1; __client=x; b=2" becomes "a=1; b=2"; only
// the space left at the start of the line (the private pair was first)
// is trimmed.
func withoutPrivatePairs(line string, from int) string {
	var b strings.Builder
	b.Grow(len(line))
	// Everything before from is kept as is, with its trailing ';'.
	b.WriteString(strings.TrimSuffix(line[:from], ";"))
	for _, pair := range strings.Split(line[from:], ";") {
		name, _, _ := strings.Cut(pair, "=")
		if privateCookie(name) {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(pair)
	}
	return strings.TrimLeft(b.String(), " \t")
}
