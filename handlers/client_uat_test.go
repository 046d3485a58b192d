package handlers_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/authgate/authgate/handlers"
)

// __client_uat (issue 12): Clerk's backend SDKs read a __session
// without it as signed out, so it is set wherever the client's sign-in
// state changes, and says 0 once signed out.

// setCookie is the Set-Cookie of name in r, or nil.
func setCookie(r reply, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// wantUAT checks that r sets __client_uat to want, with Clerk's
// attributes (readable by scripts, SameSite=Strict, the whole site; not
// Secure over http).
func wantUAT(t *testing.T, when string, r reply, want int64) {
	t.Helper()
	c := setCookie(r, handlers.CookieClientUAT)
	switch {
	case c == nil:
		t.Fatalf("%s: no __client_uat set (Set-Cookie %q)", when, r.header.Values("Set-Cookie"))
	case c.Value != strconv.FormatInt(want, 10):
		t.Fatalf("%s: __client_uat=%s, want %d", when, c.Value, want)
	case c.HttpOnly || c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge <= 0:
		t.Fatalf("%s: __client_uat attributes %q", when, c.String())
	}
}

// sessionIAT is the iat of the __session r sets.
func sessionIAT(t *testing.T, when string, r reply) int64 {
	t.Helper()
	c := setCookie(r, handlers.CookieSession)
	if c == nil || c.Value == "" {
		t.Fatalf("%s: no __session set", when)
	}
	return jwtIssuedAt(t, c.Value)
}

func TestClientUATFollowsTheSignInState(t *testing.T) {
	e, _ := aliceEnv(t)
	b := e.browser()
	r := b.signIn("alice@example.com", alicePW)
	iat := sessionIAT(t, "sign-in", r)
	wantUAT(t, "sign-in", r, iat)
	sid := r.str("created_session_id")

	// clerk-js's token refresh changes nothing of the sign-in: the
	// browser's __client_uat fits the new token and is not set again.
	e.clock.Advance(30 * time.Second)
	r = b.post("/v1/client/sessions/"+sid+"/tokens", nil)
	expect(t, r, 200, "")
	if c := setCookie(r, handlers.CookieClientUAT); c != nil {
		t.Fatalf("token refresh set %s", c)
	}

	// Making the session active is a change of the client.
	e.clock.Advance(5 * time.Second)
	r = b.post("/v1/client/sessions/"+sid+"/touch", nil)
	expect(t, r, 200, "")
	wantUAT(t, "touch", r, sessionIAT(t, "touch", r))

	// The gate's own refresh from __client: a new token, the browser's
	// __client_uat kept, and the upstream gets the new pair.
	e.clock.Advance(2 * time.Minute)
	r = b.get("/app", navigation)
	if r.status != http.StatusOK {
		t.Fatalf("after the token expired: %d", r.status)
	}
	if c := setCookie(r, handlers.CookieClientUAT); c != nil {
		t.Fatalf("gate refresh set %s over a __client_uat that fits", c)
	}
	refreshed := setCookie(r, handlers.CookieSession)
	if refreshed == nil {
		t.Fatal("gate refresh set no __session")
	}
	up := e.upstreamHeaders()["Cookie"]
	want := handlers.CookieSession + "=" + refreshed.Value + "; " + handlers.CookieClientUAT + "=" + b.jarCookie(handlers.CookieClientUAT)
	if len(up) != 1 || up[0] != want {
		t.Fatalf("upstream Cookie after a refresh:\n got %q\nwant %q", up, want)
	}

	// Sign-out: __session goes, __client_uat says 0.
	r = b.do(http.MethodDelete, "/__authgate/v1/client/sessions", nil, nil)
	expect(t, r, 200, "")
	wantUAT(t, "sign-out", r, 0)
	if c := setCookie(r, handlers.CookieSession); c == nil || c.MaxAge >= 0 {
		t.Fatalf("sign-out did not clear __session: %v", c)
	}
}

// Ending the last session (clerk-js signing out one of its sessions)
// and the sign-out page say 0 as well.
func TestClientUATSaysSignedOutAfterEveryKindOfSignOut(t *testing.T) {
	e, _ := aliceEnv(t)
	for _, how := range []string{"end", "remove"} {
		b := e.browser()
		sid := b.signIn("alice@example.com", alicePW).str("created_session_id")
		r := b.post("/v1/client/sessions/"+sid+"/"+how, nil)
		expect(t, r, 200, "")
		wantUAT(t, how, r, 0)
	}
	// The pages: a sign-in sets it with the token, the sign-out page
	// says 0.
	p := e.pageBrowser()
	r := p.signIn("alice@example.com", alicePW, "")
	iat := jwtIssuedAt(t, r.cookie(handlers.CookieSession).Value)
	wantUAT(t, "sign-in page", reply{status: r.status, header: r.header}, iat)
	pageStatus(t, p.get(pagePrefix+"/sign-out"), http.StatusOK)
	r = p.submit(pagePrefix+"/sign-out", nil)
	pageLocation(t, r, pagePrefix+"/sign-in")
	wantUAT(t, "sign-out page", reply{status: r.status, header: r.header}, 0)
}

// A revocation the gate finds at its refresh signs the browser out
// there: __client_uat turns 0 and __session goes.
func TestClientUATClearedWhenTheGateFindsTheSessionRevoked(t *testing.T) {
	e, u := aliceEnv(t)
	b, _ := e.aliceBrowser()
	if _, err := e.eng.Sessions.RevokeUser(context.Background(), u.ID, ""); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute) // past the token lifetime
	r := b.get("/app", navigation)
	if r.status != http.StatusSeeOther {
		t.Fatalf("revoked session: %d, want 303 to sign in", r.status)
	}
	wantUAT(t, "revoked", r, 0)
	if b.jarCookie(handlers.CookieSession) != "" {
		t.Fatal("__session kept after the revocation")
	}
	// Once the cookies say signed out, nothing more is set.
	r = b.get("/app", navigation)
	if c := setCookie(r, handlers.CookieClientUAT); c != nil {
		t.Fatalf("signed-out browser got %s again", c)
	}
}

// Completing the reset-password task is a sign-in change: the active
// token comes with a new __client_uat.
func TestClientUATMovesWhenATaskCompletes(t *testing.T) {
	e, u := aliceEnv(t)
	e.compromise(u, false)
	b := e.browser()
	r := b.emailCodeSignIn("alice@example.com")
	pendingIAT := sessionIAT(t, "pending sign-in", r)
	wantUAT(t, "pending sign-in", r, pendingIAT)

	e.clock.Advance(3 * time.Second)
	r = b.post("/v1/me/change_password", form("new_password", "fresh-passphrase-42"))
	expect(t, r, 200, "")
	iat := sessionIAT(t, "task done", r)
	if iat <= pendingIAT {
		t.Fatalf("task done: iat %d not after the pending token's %d", iat, pendingIAT)
	}
	wantUAT(t, "task done", r, iat)
}

// A browser signed in before authgate set __client_uat gets one at its
// next gated request, and the upstream gets it at once.
func TestClientUATGivenToABrowserWithoutOne(t *testing.T) {
	e, b := aliceSignedIn(t)
	tok := b.jarCookie(handlers.CookieSession)
	status, up := e.sendCookies("/app", handlers.CookieSession+"="+tok)
	iat := strconv.FormatInt(jwtIssuedAt(t, tok), 10)
	if status != http.StatusOK || len(up) != 1 || up[0] != handlers.CookieSession+"="+tok+"; "+handlers.CookieClientUAT+"="+iat {
		t.Fatalf("status %d, upstream Cookie %q", status, up)
	}
	req, err := http.NewRequest(http.MethodGet, e.http.URL+"/app", nil)
	noErr(t, err)
	req.AddCookie(&http.Cookie{Name: handlers.CookieSession, Value: tok})
	res, err := http.DefaultClient.Do(req)
	noErr(t, err)
	res.Body.Close()
	e.upstreamHeaders()
	wantUAT(t, "no __client_uat", reply{status: res.StatusCode, header: res.Header}, jwtIssuedAt(t, tok))
}
