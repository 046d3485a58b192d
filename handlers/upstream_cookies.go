package handlers

import (
	"net/http"
	"strconv"
)

// The sign-in cookies of a gated request on its way upstream.
//
// Clerk's backend SDKs (@clerk/backend's authenticateRequest, which
// clerkMiddleware in @clerk/express and @clerk/nextjs runs) decide from
// the pair __session and __client_uat: both missing is signed out; one
// without the other, or a token issued before __client_uat, is an
// "unknown" state they settle with a handshake redirect to Clerk's
// Frontend API, which authgate does not serve. So the upstream gets the
// pair the gate decided on, never one it would have to settle: a caller
// the gate signed in (or a pending one on its task page) arrives with
// the token the gate verified or just minted and a __client_uat that
// goes with it; a caller the gate found signed out arrives with
// __client_uat=0 and no token. On the common request (a browser whose
// cookies already agree) nothing is rewritten.

// forwardSignInCookies strips the private cookies from the request about
// to go upstream and makes its sign-in cookies say what the gate
// decided for id (nil: signed out). The browser's own __client_uat is
// corrected on the response when it cannot go with its token (absent,
// as for a browser signed in before authgate set it).
func (s *Server) forwardSignInCookies(w http.ResponseWriter, r *http.Request, id *Identity) {
	h := r.Header
	if id == nil {
		if rawCookieValue(r, CookieSession) == "" {
			if v := rawCookieValue(r, CookieClientUAT); v == "" || v == "0" {
				stripPrivateCookies(h) // nothing says signed in
				return
			}
		}
		stripCookies(h, dropSession|dropUAT)
		appendCookie(h, CookieClientUAT+"=0")
		return
	}
	// Only whether the token came from a Bearer header: the cookie line
	// is not scanned again for it on every request.
	if _, bearer := bearerToken(r); id.minted == "" && bearer {
		// A Bearer token: the SDKs read the Authorization header, not
		// the cookies.
		stripPrivateCookies(h)
		return
	}
	if id.minted != "" {
		// renewedAt has set the browser's cookies; the upstream gets the
		// token the browser sends from now on.
		uat := browserUAT(r)
		if !uatFits(uat, id.iat) {
			uat = id.iat
		}
		stripCookies(h, dropSession|dropUAT)
		appendCookie(h, CookieSession+"="+id.minted+"; "+CookieClientUAT+"="+strconv.FormatInt(uat, 10))
		return
	}
	// The common request: the private cookies go, and the browser's
	// __client_uat, read on that same pass, goes with its token.
	if uatFits(parseUAT(stripCookies(h, 0)), id.iat) {
		return
	}
	s.setClientUAT(w, r, id.iat)
	stripCookies(h, dropUAT) // __session stays where it was
	appendCookie(h, CookieClientUAT+"="+strconv.FormatInt(id.iat, 10))
}

// signedOutSeen clears the browser's sign-in cookies when the gate
// finds its client signed out but the cookies still say otherwise (a
// session revoked or ended elsewhere, the client gone): __client_uat
// turns "0", as after a sign-out here.
func (s *Server) signedOutSeen(w http.ResponseWriter, r *http.Request) {
	if rawCookieValue(r, CookieSession) == "" {
		if v := rawCookieValue(r, CookieClientUAT); v == "" || v == "0" {
			return
		}
	}
	s.clearSessionCookie(w, r)
}

// appendCookie adds the pairs (already "name=value; name=value") to the
// last Cookie line of h, or as the only one: one Cookie line, as
// browsers send it.
func appendCookie(h http.Header, pairs string) {
	lines := h["Cookie"]
	if len(lines) == 0 {
		h["Cookie"] = []string{pairs}
		return
	}
	last := len(lines) - 1
	if trimBlanks(lines[last]) == "" {
		lines[last] = pairs
		return
	}
	lines[last] += "; " + pairs
}
