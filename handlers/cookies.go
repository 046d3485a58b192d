package handlers

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authgate/authgate/session"
)

// Cookie names.
const (
	CookieSession = "__session"
	CookieClient  = "__client"
	// CookieClientUAT is Clerk's __client_uat: the Unix second of the
	// client's last sign-in change, "0" once signed out. Clerk's backend
	// SDKs (@clerk/backend's authenticateRequest, under clerkMiddleware)
	// read a __session without it as "signed out, handshake needed", and
	// one issued before it as stale; so it is set wherever the sign-in
	// state changes, and the gate hands the upstream a pair that agrees
	// (upstream_cookies.go).
	CookieClientUAT = "__client_uat"
)

// clientUATMaxAge is the lifetime of __client_uat: a year, as clerk-js
// gives it. It may outlive the session; the value is a time, and "0" or
// a stale one tells the SDKs nothing that the gate does not correct.
const clientUATMaxAge = 365 * 24 * 60 * 60

func secure(r *http.Request) bool { return r.TLS != nil }

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, jwt string) {
	replaceCookie(w, &http.Cookie{
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

// clearSessionCookie signs the browser out: __session goes and
// __client_uat says "0" (signed out), as Clerk's cookies do after a
// sign-out.
func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	replaceCookie(w, &http.Cookie{
		Name: CookieSession, Value: "", Path: "/", HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode, MaxAge: -1,
	})
	s.setClientUAT(w, r, 0)
}

// setClientUAT sets __client_uat to the Unix second uat (0: signed out).
// It is not HttpOnly: clerk-js writes and reads it from scripts, and it
// holds no secret. SameSite=Strict as clerk-js sets it: a cross-site
// navigation then arrives without it, which the gate corrects for the
// upstream.
func (s *Server) setClientUAT(w http.ResponseWriter, r *http.Request, uat int64) {
	replaceCookie(w, &http.Cookie{
		Name: CookieClientUAT, Value: strconv.FormatInt(uat, 10), Path: "/", Secure: secure(r), SameSite: http.SameSiteStrictMode,
		MaxAge: clientUATMaxAge,
	})
}

// signedInAt sets the cookies of a sign-in change that issued jwt at
// iat: a new sign-in, a session made active, a task completed. The
// client's last change is now, and the token goes with it.
func (s *Server) signedInAt(w http.ResponseWriter, r *http.Request, jwt string, iat int64) {
	s.setSessionCookie(w, r, jwt)
	s.setClientUAT(w, r, iat)
}

// renewedAt sets the cookies of a token renewed without a sign-in change
// (clerk-js's token refresh, the gate's refresh from __client): the new
// __session, and __client_uat only when the browser's value cannot go
// with a token issued at iat (absent, not a number, "0", or later than
// iat on an instance whose clock is behind); a browser that holds a good
// one gets no second Set-Cookie on every refresh.
func (s *Server) renewedAt(w http.ResponseWriter, r *http.Request, jwt string, iat int64) {
	s.setSessionCookie(w, r, jwt)
	if !uatFits(browserUAT(r), iat) {
		s.setClientUAT(w, r, iat)
	}
}

// browserUAT is the browser's __client_uat, or -1 when it sent none or
// one that is not a number.
func browserUAT(r *http.Request) int64 { return parseUAT(rawCookieValue(r, CookieClientUAT)) }

// parseUAT is a __client_uat cookie value as a number, -1 when it is
// missing or not one.
func parseUAT(v string) int64 {
	if v == "" {
		return -1
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// uatFits reports whether a __client_uat of uat goes with a session
// token issued at iat, as @clerk/backend checks it: signed in (not 0)
// and not after the token.
func uatFits(uat, iat int64) bool { return uat > 0 && uat <= iat }

// uncheckedSessionToken is the session JWT from a Bearer header or the
// __session cookie, without a check of the cookie's characters, and
// whether it came from the cookie (the
// gate looks a token up in its cache first: a cached token was verified,
// so its characters are valid, and a 1 KB JWT is not scanned on every
// request).
func uncheckedSessionToken(r *http.Request) (tok string, fromCookie bool) {
	if tok, ok := bearerToken(r); ok {
		return tok, false
	}
	return rawCookieValue(r, CookieSession), true
}

// bearerToken is the token of an "Authorization: Bearer" header, if the
// request has one (it then wins over the __session cookie).
func bearerToken(r *http.Request) (string, bool) {
	// The key is canonical: the map entry directly, as Header.Get would
	// find it, without canonicalising the key again.
	if v := r.Header["Authorization"]; len(v) > 0 {
		if h := v[0]; len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			return strings.TrimSpace(h[7:]), true
		}
	}
	return "", false
}

// cookieValue finds a cookie without parsing every cookie of the request
// (the gate runs it on every request). Values with characters outside
// the cookie-value set are ignored, as net/http does.
func cookieValue(r *http.Request, name string) string {
	if v := rawCookieValue(r, name); validCookieValue(v) {
		return v
	}
	return ""
}

// rawCookieValue is the value of the first cookie called name, without
// its quotes, its characters not checked.
func rawCookieValue(r *http.Request, name string) string {
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, v, ok := strings.Cut(part, "=")
			if !ok || k != name {
				continue
			}
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// validCookieValue reports whether v has only characters of the
// cookie-value set: not a control or non-ASCII byte, space, '"', ',',
// ';' or a backslash.
func validCookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if !cookieValueBytes[v[i]] {
			return false
		}
	}
	return true
}

// cookieValueBytes[c] says whether byte c may be in a cookie value.
var cookieValueBytes = func() (ok [256]bool) {
	for c := 0x21; c < 0x7f; c++ {
		ok[c] = c != '"' && c != ',' && c != ';' && c != '\\'
	}
	return ok
}()

// clientToken is the __client cookie, read as __session is (the gate
// reads both on every request).
func clientToken(r *http.Request) string { return cookieValue(r, CookieClient) }

// privateCookie reports whether name is a cookie that only authgate
// reads: the __client refresh credential and the CSRF cookie. The
// upstream has no use for them and must not be able to leak or replay
// them; __session and __client_uat stay, the upstream may verify them
// (Clerk's SDKs need both).
func privateCookie(name string) bool {
	switch trimBlanks(name) {
	case CookieClient, CookieCSRF, CookieCSRFSecure:
		return true
	}
	return false
}

// drop says which cookies leave a request on its way upstream besides
// the private ones, which always do: the gate replaces __client_uat
// (dropUAT), and __session too (dropSession), when what the browser sent
// is not what it decided.
type drop uint8

const (
	dropUAT drop = 1 << iota
	dropSession
)

// dropped reports whether the cookie name leaves the upstream request.
func (d drop) dropped(name string) bool {
	if privateCookie(name) {
		return true
	}
	if d == 0 {
		return false
	}
	switch trimBlanks(name) {
	case CookieClientUAT:
		return d&dropUAT != 0
	case CookieSession:
		return d&dropSession != 0
	}
	return false
}

// trimBlanks is strings.Trim(s, " \t") without building a cutset on
// every call (the gate trims every cookie name of every request).
func trimBlanks(s string) string {
	s = trimLeftBlanks(s)
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// trimLeftBlanks is strings.TrimLeft(s, " \t").
func trimLeftBlanks(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

// stripPrivateCookies removes the private cookies from the Cookie
// header lines of a request about to go upstream, leaving every other
// cookie, its order and the separators between the ones kept as they
// were; a line left empty goes, and so does the header. It runs on every
// gated request: a line without a private cookie is scanned in place
// and not copied.
func stripPrivateCookies(h http.Header) { stripCookies(h, 0) }

// stripCookies is stripPrivateCookies that removes the cookies d names
// as well. It returns the value of the first __client_uat it saw (kept
// or not): the gate's common request reads it on this pass instead of
// scanning the Cookie line, a 1 KB token in it, once more.
func stripCookies(h http.Header, d drop) (uat string) {
	lines, ok := h["Cookie"]
	if !ok {
		return ""
	}
	st := &strip{d: d}
	kept := lines[:0]
	for _, line := range lines {
		if i := firstPrivatePair(line, st); i >= 0 {
			line = withoutPrivatePairs(line, i, st)
		}
		if trimBlanks(line) != "" {
			kept = append(kept, line)
		}
	}
	if len(kept) == 0 {
		delete(h, "Cookie")
		return st.uat
	}
	h["Cookie"] = kept
	return st.uat
}

// strip is one pass of stripCookies: what it drops, and the first
// __client_uat value it saw.
type strip struct {
	d   drop
	uat string
	saw bool
}

// dropped reports whether the "name=value" pair leaves the request, and
// notes the value of the first __client_uat pair.
func (st *strip) dropped(pair string) bool {
	name, v, _ := strings.Cut(pair, "=")
	name = trimBlanks(name)
	if !st.saw && name == CookieClientUAT {
		st.uat, st.saw = strings.Trim(trimBlanks(v), `"`), true
	}
	return st.d.dropped(name)
}

// firstPrivatePair is the offset of the first "name=value" pair of line
// (pairs are separated by ';') whose name is dropped, or -1.
func firstPrivatePair(line string, st *strip) int {
	for start := 0; start <= len(line); {
		end := pairEnd(line, start)
		if st.dropped(line[start:end]) {
			return start
		}
		start = end + 1
	}
	return -1
}

// pairEnd is the end of the pair of line that starts at start: the
// offset of the next ';', or len(line).
func pairEnd(line string, start int) int {
	if i := strings.IndexByte(line[start:], ';'); i >= 0 {
		return start + i
	}
	return len(line)
}

// withoutPrivatePairs is line without its private pairs, the first of
// which starts at from. The pairs kept are joined by ';' with their own
// leading spaces, so "a=1; __client=x; b=2" becomes "a=1; b=2"; only
// the space left at the start of the line (the private pair was first)
// is trimmed. When what is kept is one stretch of line (the private
// pairs all at the end, as browsers order a cookie set after the
// others, or all at the start) the result is a substring, with no
// allocation.
func withoutPrivatePairs(line string, from int, st *strip) string {
	// Everything before from is kept as is, without its trailing ';'.
	head := strings.TrimSuffix(line[:from], ";")
	lo, hi := -1, -1           // the stretch of pairs kept after from
	gap, split := false, false // a private pair after the stretch began; a kept pair after that
	for start := from; start <= len(line); {
		end := pairEnd(line, start)
		switch pair := line[start:end]; {
		case st.dropped(pair):
			gap = lo >= 0
		case lo < 0 && head == "" && pair == "":
			// Written as nothing, and no ';' follows it: as if dropped.
		case lo < 0:
			lo, hi = start, end
		default:
			split = split || gap
			hi = end
		}
		start = end + 1
	}
	switch {
	case lo < 0:
		return trimLeftBlanks(head)
	case head == "" && !split:
		return trimLeftBlanks(line[lo:hi])
	}
	var b strings.Builder
	b.Grow(len(line))
	b.WriteString(head)
	for start := from; start <= len(line); {
		end := pairEnd(line, start)
		if !st.dropped(line[start:end]) {
			if b.Len() > 0 {
				b.WriteByte(';')
			}
			b.WriteString(line[start:end])
		}
		start = end + 1
	}
	return trimLeftBlanks(b.String())
}
