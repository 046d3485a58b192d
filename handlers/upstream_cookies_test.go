package handlers_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/authgate/authgate/handlers"
)

// sendCookies sends a GET for path with exactly these Cookie header
// lines (no jar), and returns the status and the Cookie lines the
// upstream received (nil when the request did not reach it).
func (e *env) sendCookies(path string, lines ...string) (int, []string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.http.URL+path, nil)
	noErr(e.t, err)
	req.Header["Cookie"] = lines
	req.Header.Set("Accept", "text/html")
	res, err := http.DefaultClient.Do(req)
	noErr(e.t, err)
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

// The upstream gets every cookie as sent but __client and the CSRF
// cookie, on every kind of pass: active, public, and a pending session
// on its upstream-hosted task page. The sign-in cookies say what the
// gate decided: a signed-in (or pending) browser's __session stays where
// it was, with a __client_uat that goes with it (the one the browser
// sent when it does); an anonymous visitor's token the gate refused
// does not reach the upstream, and __client_uat says 0 (signed out).
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
		anon bool
	}{
		{"active", active, "/app", false},
		{"public", e.browser(), "/assets/app.css", true},
		{"pending on its task page", pending, "/account/reset", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The anonymous visitor of the public path sends a handle and
			// a token that find nothing.
			client := handlers.CookieClient + "=" + or(tc.b.jarCookie(handlers.CookieClient), "anonymous0handle0that0finds0no0client")
			tok := or(tc.b.jarCookie(handlers.CookieSession), "not.a.token")
			session := handlers.CookieSession + "=" + tok
			// uat is what the upstream's __client_uat says when the
			// browser sent none that fits: the token's iat, or 0.
			uat := "__client_uat=0"
			if !tc.anon {
				uat = "__client_uat=" + strconv.FormatInt(jwtIssuedAt(t, tok), 10)
			}
			for _, shape := range []struct{ in, signedIn, anonymous []string }{
				{[]string{"theme=dark; " + client + "; " + session}, []string{"theme=dark; " + session + "; " + uat}, []string{"theme=dark; " + uat}},
				{[]string{client + ";" + session + ";lang=en"}, []string{session + ";lang=en; " + uat}, []string{"lang=en; " + uat}},
				{[]string{session + ";  a=1; " + csrf + ";   b=\"q\"; " + client}, []string{session + ";  a=1;   b=\"q\"; " + uat}, []string{"a=1;   b=\"q\"; " + uat}},
				{[]string{csrfTLS + "; " + client, session, "x=1; " + csrf}, []string{session, "x=1; " + uat}, []string{"x=1; " + uat}},
				// A __client_uat that fits the token goes as sent.
				{[]string{session + "; __client_uat=1700000000"}, []string{session + "; __client_uat=1700000000"}, []string{uat}},
				// "0" with a token the gate accepted, or one later than
				// the token, would read as signed out or stale.
				{[]string{"__client_uat=0; " + session}, []string{session + "; " + uat}, []string{uat}},
				{[]string{session + "; __client_uat=99999999999"}, []string{session + "; " + uat}, []string{uat}},
			} {
				want := shape.signedIn
				if tc.anon {
					want = shape.anonymous
				}
				status, got := e.sendCookies(tc.path, shape.in...)
				if status != http.StatusOK {
					t.Fatalf("%q: status %d", shape.in, status)
				}
				if !slices.Equal(got, want) {
					t.Errorf("upstream Cookie for %q:\n got %q\nwant %q", shape.in, got, want)
				}
			}
		})
	}
	// A visitor whose cookies say nothing of a sign-in gets them as sent.
	if status, got := e.sendCookies("/assets/app.css", "theme=dark; __client_uat=0"); status != http.StatusOK || !slices.Equal(got, []string{"theme=dark; __client_uat=0"}) {
		t.Errorf("signed-out visitor: status %d, upstream Cookie %q", status, got)
	}
	if status, got := e.sendCookies("/assets/app.css", "theme=dark"); status != http.StatusOK || !slices.Equal(got, []string{"theme=dark"}) {
		t.Errorf("visitor without sign-in cookies: status %d, upstream Cookie %q", status, got)
	}
}

// jwtIssuedAt is the iat claim of a session token (not verified).
func jwtIssuedAt(t *testing.T, tok string) int64 {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	noErr(t, err)
	var cl struct {
		IAT int64 `json:"iat"`
	}
	if err := json.Unmarshal(raw, &cl); err != nil || cl.IAT == 0 {
		t.Fatalf("no iat in %s (%v)", raw, err)
	}
	return cl.IAT
}

// or is v, or def when v is empty.
func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
