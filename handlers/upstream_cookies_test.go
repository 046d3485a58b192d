package handlers_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/authgate/authgate/handlers"
)

// sendCookies sends a GET for path with exactly these Cookie header
// lines (no jar), and returns the status and the Cookie lines the
// upstream received (nil when the request did not reach it).
func (e *env) sendCookies(path string, lines ...string) (int, []string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.http.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header["Cookie"] = lines
	req.Header.Set("Accept", "text/html")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, nil
	}
	h := e.upstreamHeaders()
	if h == nil {
		return res.StatusCode, nil
	}
	return res.StatusCode, h["Cookie"]
}

// The upstream gets __session and every other cookie as sent, but never
// __client nor the CSRF cookie, on every kind of pass: active, public,
// and a pending session on its upstream-hosted task page.
func TestUpstreamNeverSeesTheClientOrCSRFCookie(t *testing.T) {
	e, _ := aliceEnv(t, withTaskURL("reset-password", "/account/reset"), func(o *envOpt) { o.public = []string{"/assets/*"} })
	bob := e.createUser("bob@example.com", "", alicePW)
	e.compromise(bob, false)

	active, _ := e.aliceBrowser()
	pending := e.browser()
	pending.emailCodeSignIn("bob@example.com")
	const csrf = "__authgate_csrf=0123456789abcdefghijklmnopqrstuvwxyzABCDEFE"
	const csrfTLS = "__Host-authgate_csrf=0123456789abcdefghijklmnopqrstuvwxyzABCDEFE"

	for _, tc := range []struct {
		name string
		b    *browser
		path string
	}{
		{"active", active, "/app"},
		{"public", e.browser(), "/assets/app.css"},
		{"pending on its task page", pending, "/account/reset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The anonymous visitor of the public path sends a handle and
			// a token that find nothing.
			client := handlers.CookieClient + "=" + or(tc.b.jarCookie(handlers.CookieClient), "anonymous0handle0that0finds0no0client")
			session := handlers.CookieSession + "=" + or(tc.b.jarCookie(handlers.CookieSession), "not.a.token")
			for _, shape := range []struct{ in, want []string }{
				{[]string{"theme=dark; " + client + "; " + session}, []string{"theme=dark; " + session}},
				{[]string{client + ";" + session + ";lang=en"}, []string{session + ";lang=en"}},
				{[]string{session + ";  a=1; " + csrf + ";   b=\"q\"; " + client}, []string{session + ";  a=1;   b=\"q\""}},
				{[]string{csrfTLS + "; " + client, session, "x=1; " + csrf}, []string{session, "x=1"}},
				{[]string{session + "; __client_uat=1700000000"}, []string{session + "; __client_uat=1700000000"}},
			} {
				status, got := e.sendCookies(tc.path, shape.in...)
				if status != http.StatusOK {
					t.Fatalf("%q: status %d", shape.in, status)
				}
				if !slices.Equal(got, shape.want) {
					t.Errorf("upstream Cookie for %q:\n got %q\nwant %q", shape.in, got, shape.want)
				}
			}
		})
	}
}

// or is v, or def when v is empty.
func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
