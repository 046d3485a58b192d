package handlers_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/authgate/authgate/handlers"
)

// Session fixation (issue 9 §2): every step into a signed-in state gives
// the browser a new __client handle and kills the old one at once, so a
// handle planted before (from a sibling subdomain, over plain http) is
// worth nothing after the victim signs in.

// jarCookie is the value of b's cookie name at the site's root, or "".
func (b *browser) jarCookie(name string) string {
	for _, c := range b.jar.Cookies(mustURL(b.e.t, b.e.http.URL+"/").URL) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// plantClient gets a client handle in an attacker's own browser and
// plants it in victim's; it returns the handle and its client's id.
func (e *env) plantClient(victim *browser) (handle, clientID string) {
	e.t.Helper()
	attacker := e.browser()
	r := attacker.post("/v1/client", nil)
	expect(e.t, r, 200, "")
	handle, clientID = attacker.jarCookie(handlers.CookieClient), r.str("id")
	if handle == "" || clientID == "" {
		e.t.Fatalf("no client handle to plant: %s", r.body)
	}
	victim.jar.SetCookies(mustURL(e.t, e.http.URL+"/").URL, []*http.Cookie{{Name: handlers.CookieClient, Value: handle, Path: "/"}})
	return handle, clientID
}

// withHandle is a request header that sends handle as the only cookie.
func withHandle(handle string) map[string]string {
	return map[string]string{"Cookie": handlers.CookieClient + "=" + handle}
}

// assertHandleDead checks that handle finds no client in the API and
// does not get through the gate.
func (e *env) assertHandleDead(handle, when string) {
	e.t.Helper()
	b := e.browser()
	r := b.get("/__authgate/v1/client", withHandle(handle))
	expect(e.t, r, 200, "")
	if r.json["response"] != nil || r.json["client"] != nil {
		e.t.Fatalf("%s: the old handle still finds the client: %s", when, r.body)
	}
	expect(e.t, b.get("/app", withHandle(handle)), 401, "authentication_invalid")
}

// assertHandleSignedIn checks that handle finds client clientID with a
// session of userID, and gets through the gate as that user.
func (e *env) assertHandleSignedIn(handle, clientID, userID, when string) {
	e.t.Helper()
	b := e.browser()
	r := b.get("/__authgate/v1/client", withHandle(handle))
	expect(e.t, r, 200, "")
	client, _ := r.json["client"].(map[string]any)
	if client == nil || client["id"] != clientID || client["last_active_session_id"] == nil {
		e.t.Fatalf("%s: the new handle's client (want id %s, signed in): %s", when, clientID, r.body)
	}
	if got := b.get("/app", withHandle(handle)); got.status != http.StatusOK {
		e.t.Fatalf("%s: the new handle at the gate: %d %s", when, got.status, got.body)
	}
	if got := e.upstreamHeaders().Get(handlers.HeaderUserID); got != userID {
		e.t.Fatalf("%s: the upstream sees %q, want %q", when, got, userID)
	}
}

func TestAPISignInGivesThePlantedClientANewHandle(t *testing.T) {
	const newPW = "a-fresh-passphrase-42"
	for _, tc := range []struct {
		name   string
		signIn func(t *testing.T, b *browser)
	}{
		{"password", func(_ *testing.T, b *browser) { b.signIn("alice@example.com", alicePW) }},
		{"email code", func(_ *testing.T, b *browser) { b.emailCodeSignIn("alice@example.com") }},
		{"reset password", func(t *testing.T, b *browser) {
			id, code := b.startReset("alice@example.com")
			expect(t, b.attemptReset(id, code), 200, "")
			r := b.post("/v1/client/sign_ins/"+id+"/reset_password", form("password", newPW))
			expect(t, r, 200, "")
			if r.str("status") != "complete" {
				t.Fatalf("reset status %q", r.str("status"))
			}
		}},
	} {
		for _, be := range storeBackends {
			t.Run(tc.name+"/"+be.name, func(t *testing.T) {
				e, u := aliceEnv(t, be.opts...)
				victim := e.browser()
				handle, clientID := e.plantClient(victim)
				// Before the sign-in the victim's browser does use the planted client.
				r := victim.get("/__authgate/v1/client", nil)
				if c, _ := r.json["client"].(map[string]any); c == nil || c["id"] != clientID {
					t.Fatalf("the planted handle is not in use: %s", r.body)
				}
				tc.signIn(t, victim)
				now := victim.jarCookie(handlers.CookieClient)
				if now == "" || now == handle {
					t.Fatalf("the browser kept the planted handle (now %q)", now)
				}
				e.assertHandleDead(handle, "after the sign-in")
				e.assertHandleSignedIn(now, clientID, u.ID, "after the sign-in")
			})
		}
	}
}

func TestCompletingTheResetTaskGivesTheClientANewHandle(t *testing.T) {
	e, u := aliceEnv(t)
	e.compromise(u, false)
	b := e.browser()
	r := b.emailCodeSignIn("alice@example.com")
	if s := sessionOf(t, r); s["status"] != "pending" {
		t.Fatalf("session %v", s)
	}
	clientID := r.json["client"].(map[string]any)["id"].(string)
	pending := b.jarCookie(handlers.CookieClient)
	expect(t, b.post("/v1/me/change_password", form("new_password", "fresh-passphrase-42")), 200, "")
	now := b.jarCookie(handlers.CookieClient)
	if now == pending {
		t.Fatal("completing the task kept the handle")
	}
	e.assertHandleDead(pending, "after the task")
	e.assertHandleSignedIn(now, clientID, u.ID, "after the task")
}

// signOutByForm signs p out with the sign-out page's form, which must
// pass the CSRF check with the cookies the sign-in left.
func signOutByForm(t *testing.T, p *pageBrowser) {
	t.Helper()
	pageStatus(t, p.get(pagePrefix+"/sign-out"), http.StatusOK)
	pageLocation(t, p.submit(pagePrefix+"/sign-out", nil), pagePrefix+"/sign-in")
	if got := p.appUser(); got != "" {
		t.Fatalf("still signed in as %q after signing out", got)
	}
}

func TestPageSignInGivesThePlantedClientANewHandle(t *testing.T) {
	const newPW = "a brand new secret"
	for _, tc := range []struct {
		name   string
		signIn func(t *testing.T, e *env, p *pageBrowser)
	}{
		{"password", func(t *testing.T, e *env, p *pageBrowser) {
			pageLocation(t, p.signIn("alice@example.com", alicePW, ""), "/")
		}},
		{"forgot password", func(t *testing.T, e *env, p *pageBrowser) {
			pageStatus(t, p.get(pagePrefix+"/forgot-password"), http.StatusOK)
			pageStatus(t, p.submit(pagePrefix+"/forgot-password", url.Values{"identifier": {"alice@example.com"}}), http.StatusOK)
			code := e.pageCode("alice@example.com")
			pageLocation(t, p.submit(pagePrefix+"/forgot-password", url.Values{
				"op": {"reset"}, "code": {code}, "password": {newPW}, "confirm_password": {newPW}, "sign_out_of_other_sessions": {"true"},
			}), "/")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, u := aliceEnv(t)
			p := e.pageBrowser()
			handle, clientID := e.plantClient(p.b)
			pageStatus(t, p.get(pagePrefix+"/sign-in"), http.StatusOK)
			csrfBefore := p.csrfCookie()
			if csrfBefore == nil {
				t.Fatal("no CSRF cookie before the sign-in")
			}
			tc.signIn(t, e, p)
			now := p.b.jarCookie(handlers.CookieClient)
			if now == "" || now == handle {
				t.Fatalf("the browser kept the planted handle (now %q)", now)
			}
			if c := p.csrfCookie(); c == nil || c.Value == csrfBefore.Value {
				t.Fatal("the CSRF cookie did not follow the new handle")
			}
			e.assertHandleDead(handle, "after the page sign-in")
			e.assertHandleSignedIn(now, clientID, u.ID, "after the page sign-in")
			signOutByForm(t, p)
		})
	}
}

func TestPageResetTaskGivesTheClientANewHandle(t *testing.T) {
	e, u, p, code := compromisedAtCodeStep(t)
	pageLocation(t, p.submit(pagePrefix+"/sign-in", url.Values{"op": {"code"}, "code": {code}}), pagePrefix+"/tasks/reset-password")
	pending := p.b.jarCookie(handlers.CookieClient)
	clientID := p.b.get("/__authgate/v1/client", nil).json["client"].(map[string]any)["id"].(string)

	pageStatus(t, p.get(pagePrefix+"/tasks/reset-password"), http.StatusOK)
	csrfBefore := p.csrfCookie().Value
	r := p.submit(pagePrefix+"/tasks/reset-password", url.Values{"password": {"a brand new secret"}, "confirm_password": {"a brand new secret"}})
	pageLocation(t, r, "/")
	now := p.b.jarCookie(handlers.CookieClient)
	if now == "" || now == pending {
		t.Fatalf("completing the task kept the handle (now %q)", now)
	}
	if c := p.csrfCookie(); c == nil || c.Value == csrfBefore {
		t.Fatal("the CSRF cookie did not follow the new handle")
	}
	e.assertHandleDead(pending, "after the task page")
	e.assertHandleSignedIn(now, clientID, u.ID, "after the task page")
	signOutByForm(t, p)
}
