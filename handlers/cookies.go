package handlers

import (
	"net/http"
	"strings"
	"time"
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
	http.SetCookie(w, &http.Cookie{
		Name: CookieClient, Value: tok, Path: "/", HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode,
		MaxAge: int(s.d.Sessions.Lifetime() / time.Second),
	})
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

func clientToken(r *http.Request) string {
	if c, err := r.Cookie(CookieClient); err == nil {
		return c.Value
	}
	return ""
}
