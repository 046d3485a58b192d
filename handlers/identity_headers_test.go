package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/authgate/authgate/handlers"
)

// The identity headers the gate sends upstream (issue 10 §4): the site
// chooses which; a header with an empty value is never sent; whatever
// the choice, every X-Authgate-* header a client sent is gone.

// gateSite is a second site over e's services with its own identity
// headers, and a request that carries alice's signed-in cookies.
type gateSite struct {
	srv    *handlers.Server
	host   string
	cookie string // "__session=...; __client=..."
}

func newGateSite(e *env, b *browser, identityHeaders []string) *gateSite {
	e.tb.Helper()
	site := &gateSite{
		srv: handlers.New(handlers.Config{
			Prefix: "/__authgate", SignInURL: "/__authgate/sign-in", AfterSignInURL: "/",
			IdentityHeaders: identityHeaders,
		}, e.deps()),
		host: strings.TrimPrefix(e.http.URL, "http://"),
	}
	root, err := url.Parse(e.http.URL + "/")
	noErr(e.tb, err)
	var session, client, uat string
	for _, c := range b.jar.Cookies(root) {
		switch c.Name {
		case handlers.CookieSession:
			session = c.Value
		case handlers.CookieClient:
			client = c.Value
		case handlers.CookieClientUAT:
			uat = c.Value
		}
	}
	if session == "" || client == "" || uat == "" {
		e.tb.Fatalf("the browser is not signed in (session %q, client %q, client_uat %q)", session, client, uat)
	}
	// As a browser sends them: __client_uat too (set with the token).
	site.cookie = handlers.CookieSession + "=" + session + "; " + handlers.CookieClientUAT + "=" + uat + "; " + handlers.CookieClient + "=" + client
	return site
}

// request is a signed-in request with the extra headers hdr.
func (g *gateSite) request(hdr map[string]string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/app", nil)
	r.Host = g.host
	r.Header["Cookie"] = []string{g.cookie}
	for k, v := range hdr {
		r.Header[k] = []string{v} // as sent, not canonicalised
	}
	return r
}

// gate runs the gate and fails unless the request passed signed in.
func (g *gateSite) gate(t testing.TB, r *http.Request) handlers.Verdict {
	t.Helper()
	w := httptest.NewRecorder()
	v := g.srv.Gate(w, r)
	if !v.Pass || v.Identity == nil {
		t.Fatalf("not passed signed in: %d %s", w.Code, w.Body)
	}
	return v
}

// identityHeaders are the request's X-Authgate-* headers (in any case,
// '_' read as '-').
func identityHeaders(h http.Header) map[string][]string {
	got := map[string][]string{}
	for k, v := range h {
		if strings.HasPrefix(strings.ReplaceAll(strings.ToLower(k), "_", "-"), "x-authgate-") {
			got[k] = v
		}
	}
	return got
}

func TestIdentityHeadersChosenBySite(t *testing.T) {
	e, u := aliceEnv(t)
	b, _ := e.aliceBrowser()
	forged := map[string]string{
		"X-Authgate-User-Id": "user_forged", "x-authgate-email": "mallory@example.com",
		"X-AUTHGATE-SESSION-ID": "sess_forged", "X-Authgate-Anything": "1",
		"X_Authgate_User_Id": "user_forged", "x-authgate_email": "mallory@example.com",
	}
	for _, tc := range []struct {
		name  string
		names []string
		want  []string // headers sent
	}{
		{"default", nil, []string{handlers.HeaderUserID, handlers.HeaderSessionID, handlers.HeaderEmail}},
		{"user id only", []string{"user_id"}, []string{handlers.HeaderUserID}},
		{"email and session id", []string{"email", "session_id"}, []string{handlers.HeaderSessionID, handlers.HeaderEmail}},
		{"none", []string{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site := newGateSite(e, b, tc.names)
			r := site.request(forged)
			v := site.gate(t, r)
			got := identityHeaders(r.Header)
			if len(got) != len(tc.want) {
				t.Fatalf("identity headers %v, want exactly %v", got, tc.want)
			}
			values := map[string]string{
				handlers.HeaderUserID: u.ID, handlers.HeaderSessionID: v.Identity.SessionID, handlers.HeaderEmail: "alice@example.com",
			}
			for _, h := range tc.want {
				if vals := got[h]; len(vals) != 1 || vals[0] != values[h] {
					t.Errorf("%s = %q, want [%q]", h, vals, values[h])
				}
			}
			if v.Identity.UserID != u.ID || v.Identity.SessionID == "" {
				t.Errorf("identity %+v, want alice's with a session", v.Identity)
			}
			// The placeholders do not depend on the headers chosen.
			if ph := v.Identity.Placeholders(); ph.UserID != u.ID || ph.Email != "alice@example.com" || ph.SessionID != v.Identity.SessionID {
				t.Errorf("placeholders %+v", ph)
			}
		})
	}
}

// A user without an email address gets no X-Authgate-Email, not an
// empty one, even when the site asks for it.
func TestIdentityHeaderNeverSentEmpty(t *testing.T) {
	e := newEnv(t)
	e.createUser("", "+15555550123", alicePW)
	b := e.browser()
	b.signIn("+15555550123", alicePW)
	site := newGateSite(e, b, []string{"email", "user_id"})
	r := site.request(map[string]string{handlers.HeaderEmail: "forged@example.com"})
	site.gate(t, r)
	if vals, ok := r.Header[handlers.HeaderEmail]; ok {
		t.Fatalf("X-Authgate-Email sent as %q for a user without email", vals)
	}
	if r.Header.Get(handlers.HeaderUserID) == "" {
		t.Fatal("no X-Authgate-User-Id")
	}
}

// The values share one allocation, each capped at one element: adding a
// value to one header never overwrites another's.
func TestIdentityHeaderValuesAreIndependent(t *testing.T) {
	e, b := aliceSignedIn(t)
	site := newGateSite(e, b, nil)
	r := site.request(nil)
	site.gate(t, r)
	sid, email := r.Header.Get(handlers.HeaderSessionID), r.Header.Get(handlers.HeaderEmail)
	r.Header.Add(handlers.HeaderUserID, "appended")
	r.Header[handlers.HeaderUserID][0] = "changed in place"
	if r.Header.Get(handlers.HeaderSessionID) != sid || r.Header.Get(handlers.HeaderEmail) != email {
		t.Fatalf("changing one identity header changed another: %v", identityHeaders(r.Header))
	}
	// Nor does it reach the next request with the same (cached) token.
	r2 := site.request(nil)
	site.gate(t, r2)
	if got := r2.Header.Get(handlers.HeaderUserID); got == "changed in place" || got == "" {
		t.Fatalf("next request's user id %q", got)
	}
}

func TestCheckIdentityHeaders(t *testing.T) {
	for _, tc := range []struct {
		names []string
		err   string
	}{
		{nil, ""},
		{[]string{}, ""},
		{[]string{"user_id", "session_id", "email"}, ""},
		{[]string{"email"}, ""},
		{[]string{"phone"}, `unknown header "phone" (want user_id, session_id or email)`},
		{[]string{"User_Id"}, `unknown header "User_Id"`},
		{[]string{"email", "user_id", "email"}, `header "email" given more than once`},
	} {
		err := handlers.CheckIdentityHeaders(tc.names)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.names, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want %q", tc.names, err, tc.err)
		}
	}
}

// The gate's hot path (a cached token, __client stripped from the end of
// the Cookie line) allocates once: the backing array of the identity
// header values.
func TestGateHotPathAllocations(t *testing.T) {
	e, b := aliceSignedIn(t)
	for _, tc := range []struct {
		names []string
		max   float64
	}{{nil, 1}, {[]string{}, 0}} {
		site := newGateSite(e, b, tc.names)
		r := site.request(nil)
		site.gate(t, r) // caches the token
		cookie := r.Header["Cookie"][:1:1]
		w := httptest.NewRecorder()
		n := testing.AllocsPerRun(200, func() {
			cookie[0] = site.cookie
			r.Header["Cookie"] = cookie
			if v := site.srv.Gate(w, r); v.Identity == nil {
				t.Fatal("lost the session")
			}
		})
		if n > tc.max {
			t.Errorf("identity headers %q: %v allocations per gated request, want at most %v", tc.names, n, tc.max)
		}
		if got := r.Header["Cookie"]; len(got) != 1 || strings.Contains(got[0], handlers.CookieClient+"=") {
			t.Errorf("Cookie sent upstream: %q", got)
		}
	}
}
