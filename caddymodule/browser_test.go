package caddymodule

// The test browser of the whole-server tests: a client with a cookie jar
// that signs in through the JSON API, and the setups built on it.

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/testenv"
)

// browser is a client with a cookie jar, like a browser tab.
type browser struct {
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("cookie jar: %v", err)
	}
	return &browser{c: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// cookie returns the value of a cookie the browser holds for base.
func (b *browser) cookie(t *testing.T, base, name string) string {
	t.Helper()
	u, _ := url.Parse(base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// signIn signs in through the JSON API with identifier and password and
// returns the created session id; the browser keeps the cookies.
func (b *browser) signIn(t *testing.T, base, email string) string {
	t.Helper()
	req := signInRequest(t, base, email, base)
	req.Header.Set("Accept", "application/json")
	r := do(t, b.c, req)
	if r.status != http.StatusOK {
		t.Fatalf("sign in %s: %d %s", email, r.status, r.body)
	}
	out := response[struct {
		Status           string `json:"status"`
		CreatedSessionID string `json:"created_session_id"`
	}](t, r)
	if out.Status != "complete" || out.CreatedSessionID == "" {
		t.Fatalf("sign in %s: want status complete with a session, got %s", email, r.body)
	}
	if b.cookie(t, base, "__session") == "" || b.cookie(t, base, "__client") == "" {
		t.Fatalf("sign in %s: __session and __client cookies not set", email)
	}
	return out.CreatedSessionID
}

// signInRequest is a password sign-in through the JSON API of base, from
// a page of origin.
func signInRequest(t *testing.T, base, email, origin string) *http.Request {
	t.Helper()
	form := url.Values{"strategy": {"password"}, "identifier": {email}, "password": {testPassword}}
	req := newRequest(t, http.MethodPost, base+"/__authgate/v1/client/sign_ins", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", origin)
	return req
}

// signInAttempt posts a password sign-in and returns the raw answer.
func signInAttempt(t *testing.T, base, email string) apiResult {
	t.Helper()
	return do(t, newBrowser(t).c, signInRequest(t, base, email, base))
}

// onRedis starts a site with o on its own redis, and signs a new user
// with email in in a browser: the start of the tests that take redis
// away under a signed-in user.
func onRedis(t *testing.T, o siteOpts, email string) (*server, *testenv.RedisServer, *browser) {
	t.Helper()
	rs := testenv.Redis(t)
	o.storage = "redis " + rs.URL()
	s := startServer(t, o)
	_, b, _ := s.newSignedIn(email)
	return s, rs, b
}

// newSignedIn creates a user with email and signs it in in a new
// browser; it returns the user, the browser and the session id.
func (s *server) newSignedIn(email string) (userJSON, *browser, string) {
	s.t.Helper()
	u := createUser(s.t, email)
	b := newBrowser(s.t)
	return u, b, b.signIn(s.t, s.base, email)
}

// assertNewUserGetsThrough creates a user, signs it in and checks that a
// navigation to path reaches the upstream with the user's id.
func (s *server) assertNewUserGetsThrough(when, email, path string) {
	s.t.Helper()
	u, b, _ := s.newSignedIn(email)
	if r := get(s.t, b.c, s.base+path, "Accept", "text/html"); r.status != http.StatusOK {
		s.t.Fatalf("%s: want 200, got %d %s", when, r.status, r.body)
	}
	if got := s.upstream.last(s.t, path).Get("X-Authgate-User-Id"); got != u.ID {
		s.t.Fatalf("%s: upstream got X-Authgate-User-Id %q, want %q", when, got, u.ID)
	}
}
