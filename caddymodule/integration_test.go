package caddymodule

// Whole-server tests: a real Caddy (loaded in-process from a Caddyfile
// through the caddyfile adapter, as `caddy run` does) with authgate in
// front of an httptest upstream, its admin API on a free loopback port, and
// both storage backends (a bbolt file and a real redis-server).
//
// Caddy's running config is process-global, so these tests never run in
// parallel. They do not use caddytest: its in-process server cannot be
// stopped and started again, which the persistence tests need.

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/testenv"
)

// TestIntegrationUserPersistsAcrossRestart: a user created through the
// admin API is found after Caddy is stopped and started again.
func TestIntegrationUserPersistsAcrossRestart(t *testing.T) {
	forEachServer(t, func(t *testing.T, s *server) {
		u := createUser(t, "persist@example.com")
		if found := findUsers(t, "persist@example.com"); len(found) != 1 || found[0].ID != u.ID {
			t.Fatalf("before restart: want [%s], got %+v", u.ID, found)
		}

		s.restart()

		found := findUsers(t, "Persist@Example.com")
		if len(found) != 1 || found[0].ID != u.ID {
			t.Fatalf("after restart: want [%s], got %+v", u.ID, found)
		}
		if !found[0].PasswordEnabled || len(found[0].EmailAddresses) != 1 ||
			found[0].EmailAddresses[0].EmailAddress != "persist@example.com" || found[0].CreatedAt != u.CreatedAt {
			t.Fatalf("after restart the user changed: before %+v, after %+v", u, found[0])
		}
		// The password survived too: the user can sign in.
		newBrowser(t).signIn(t, s.base, "persist@example.com")
	})
}

// TestIntegrationCreateUserErrors: duplicate identifiers (after
// normalization), bad emails and short passwords are 422s with Clerk's
// codes.
func TestIntegrationCreateUserErrors(t *testing.T) {
	forEachServer(t, func(t *testing.T, _ *server) {
		createUser(t, "alice@example.com")

		for _, tc := range []struct {
			name  string
			body  map[string]any
			code  string
			param string
		}{
			{"duplicate", map[string]any{"email_address": []string{" Alice@Example.COM "}, "password": testPassword},
				"form_identifier_exists", "email_address"},
			{"bad email", map[string]any{"email_address": []string{"not-an-email"}, "password": testPassword},
				"form_param_format_invalid", "email_address"},
			{"short password", map[string]any{"email_address": []string{"bob@example.com"}, "password": "x7!"},
				"form_password_length_too_short", "password"},
		} {
			r := adminJSON(t, http.MethodPost, "/users", tc.body)
			if r.status != http.StatusUnprocessableEntity || r.errCode() != tc.code {
				t.Errorf("%s: want 422 %s, got %d %s", tc.name, tc.code, r.status, r.body)
				continue
			}
			var env struct {
				Errors []struct {
					Meta struct {
						ParamName string `json:"param_name"`
					} `json:"meta"`
				} `json:"errors"`
			}
			r.decode(t, &env)
			if got := env.Errors[0].Meta.ParamName; got != tc.param {
				t.Errorf("%s: want meta.param_name %q, got %q", tc.name, tc.param, got)
			}
		}
		if found := findUsers(t, "alice@example.com"); len(found) != 1 {
			t.Fatalf("want exactly one alice, got %+v", found)
		}
		if found := findUsers(t, "bob@example.com"); len(found) != 0 {
			t.Fatalf("a refused create stored a user: %+v", found)
		}
	})
}

// TestIntegrationConcurrentCreate: 20 concurrent creates of one email
// make exactly one user.
func TestIntegrationConcurrentCreate(t *testing.T) {
	forEachServer(t, func(t *testing.T, _ *server) {
		const n = 20
		results := createUsersAtOnce(plainClient, n, func(int) string { return "race@example.com" })

		var created []userJSON
		exists := 0
		for i, r := range results {
			switch {
			case r.status == http.StatusOK:
				var u userJSON
				r.decode(t, &u)
				created = append(created, u)
			case r.status == http.StatusUnprocessableEntity && r.errCode() == "form_identifier_exists":
				exists++
			default:
				t.Errorf("request %d: want 200 or 422 form_identifier_exists, got %d %s", i, r.status, r.body)
			}
		}
		if len(created) != 1 || exists != n-1 {
			t.Fatalf("want exactly one 200 and %d × 422, got %d × 200 and %d × 422", n-1, len(created), exists)
		}
		if found := findUsers(t, "race@example.com"); len(found) != 1 || found[0].ID != created[0].ID {
			t.Fatalf("want the one created user %s, found %+v", created[0].ID, found)
		}
	})
}

// TestIntegrationGate: the gate inside Caddy in front of reverse_proxy.
func TestIntegrationGate(t *testing.T) {
	s := startServer(t, siteOpts{storage: "file " + filepath.Join(t.TempDir(), "authgate.db")})
	u := createUser(t, "gate@example.com")
	anon := newBrowser(t)

	t.Run("anonymous navigation redirects to sign-in", func(t *testing.T) {
		before := s.upstream.hits.Load()
		r := get(t, anon.c, s.base+"/dashboard/reports?x=1&y=two", "Accept", "text/html,application/xhtml+xml")
		if r.status != http.StatusSeeOther {
			t.Fatalf("want 303, got %d %s", r.status, r.body)
		}
		loc, err := url.Parse(r.header.Get("Location"))
		if err != nil {
			t.Fatalf("bad Location %q: %v", r.header.Get("Location"), err)
		}
		if loc.Host != "" || loc.Path != "/__authgate/sign-in" {
			t.Fatalf("want Location on /__authgate/sign-in, got %q", r.header.Get("Location"))
		}
		if got := loc.Query().Get("redirect_url"); got != "/dashboard/reports?x=1&y=two" {
			t.Fatalf("want redirect_url=/dashboard/reports?x=1&y=two, got %q", got)
		}
		if s.upstream.hits.Load() != before {
			t.Fatal("an anonymous navigation reached the upstream")
		}
	})

	t.Run("anonymous XHR gets 401 envelope", func(t *testing.T) {
		before := s.upstream.hits.Load()
		r := get(t, anon.c, s.base+"/api/items", "Accept", "application/json")
		if r.status != http.StatusUnauthorized || r.errCode() != "authentication_invalid" {
			t.Fatalf("want 401 authentication_invalid, got %d %s", r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("want a JSON envelope, got Content-Type %q", ct)
		}
		// A POST is never a navigation, whatever it accepts.
		req := newRequest(t, http.MethodPost, s.base+"/", strings.NewReader("a=1"))
		req.Header.Set("Accept", "text/html")
		if r := do(t, anon.c, req); r.status != http.StatusUnauthorized {
			t.Fatalf("anonymous POST: want 401, got %d", r.status)
		}
		if s.upstream.hits.Load() != before {
			t.Fatal("an anonymous request reached the upstream")
		}
	})

	t.Run("public path passes without identity", func(t *testing.T) {
		r := get(t, anon.c, s.base+"/healthz", "X-Authgate-User-Id", "evil", "X-Authgate-Email", "evil@example.com")
		if r.status != http.StatusOK || string(r.body) != "upstream ok /healthz" {
			t.Fatalf("want the upstream's 200, got %d %s", r.status, r.body)
		}
		h := s.upstream.last(t, "/healthz")
		if v := h.Values("X-Authgate-User-Id"); len(v) != 0 {
			t.Fatalf("spoofed X-Authgate-User-Id reached the upstream on a public path: %q", v)
		}
		if v := h.Values("X-Authgate-Email"); len(v) != 0 {
			t.Fatalf("spoofed X-Authgate-Email reached the upstream on a public path: %q", v)
		}
		if v := h.Get("X-Who"); v != "" {
			t.Fatalf("anonymous request had {http.auth.user.id} = %q", v)
		}
	})

	t.Run("signed-in request carries the identity", func(t *testing.T) {
		b := newBrowser(t)
		sid := b.signIn(t, s.base, "gate@example.com")
		r := get(t, b.c, s.base+"/app/page", "Accept", "text/html",
			"X-Authgate-User-Id", "evil", "X-Authgate-Session-Id", "evil", "x-authgate-email", "evil@example.com")
		if r.status != http.StatusOK || string(r.body) != "upstream ok /app/page" {
			t.Fatalf("want the upstream's 200, got %d %s", r.status, r.body)
		}
		h := s.upstream.last(t, "/app/page")
		for name, want := range map[string]string{
			"X-Authgate-User-Id":    u.ID,
			"X-Authgate-Session-Id": sid,
			"X-Authgate-Email":      "gate@example.com",
			"X-Who":                 u.ID,
			"X-Who-Email":           "gate@example.com",
		} {
			if got := h.Values(name); len(got) != 1 || got[0] != want {
				t.Errorf("upstream got %s = %q, want exactly [%q]", name, got, want)
			}
		}

		// The same session as a bearer token, without cookies.
		tok := b.cookie(t, s.base, "__session")
		r = get(t, plainClient, s.base+"/api/bearer", "Authorization", "Bearer "+tok, "X-Authgate-User-Id", "evil")
		if r.status != http.StatusOK {
			t.Fatalf("bearer token: want 200, got %d %s", r.status, r.body)
		}
		if got := s.upstream.last(t, "/api/bearer").Values("X-Authgate-User-Id"); len(got) != 1 || got[0] != u.ID {
			t.Fatalf("bearer token: upstream got X-Authgate-User-Id %q, want [%q]", got, u.ID)
		}

		// A forged token is anonymous.
		r = get(t, plainClient, s.base+"/api/bearer", "Authorization", "Bearer "+tok[:len(tok)-4]+"AAAA", "Accept", "application/json")
		if r.status != http.StatusUnauthorized || r.errCode() != "authentication_invalid" {
			t.Fatalf("forged token: want 401, got %d %s", r.status, r.body)
		}

		// Only __client (token expired or dropped): refreshed inline.
		r = get(t, plainClient, s.base+"/app/refresh", "Cookie", "__client="+b.cookie(t, s.base, "__client"))
		if r.status != http.StatusOK {
			t.Fatalf("__client only: want 200 after an inline refresh, got %d %s", r.status, r.body)
		}
		if !strings.Contains(strings.Join(r.header.Values("Set-Cookie"), "\n"), "__session=") {
			t.Fatal("__client only: no new __session cookie set")
		}
		if got := s.upstream.last(t, "/app/refresh").Get("X-Authgate-User-Id"); got != u.ID {
			t.Fatalf("__client only: upstream got X-Authgate-User-Id %q, want %q", got, u.ID)
		}
	})

	t.Run("JSON API needs a matching Origin", func(t *testing.T) {
		r := do(t, newBrowser(t).c, signInRequest(t, s.base, "gate@example.com", "http://evil.example"))
		if r.status != http.StatusBadRequest || r.errCode() != "origin_invalid" {
			t.Fatalf("want 400 origin_invalid, got %d %s", r.status, r.body)
		}
	})
}

// TestIntegrationFailClosed: with redis storage, a request that needs the
// store while redis is down gets 503 with Retry-After and never reaches
// the upstream; once redis is back, the gate works again.
func TestIntegrationFailClosed(t *testing.T) {
	s, rs, b := onRedis(t, siteOpts{}, "down@example.com")
	sessionTok := b.cookie(t, s.base, "__session")
	clientTok := b.cookie(t, s.base, "__client")

	rs.Stop()
	before := s.upstream.hits.Load()

	assert503 := func(name string, r apiResult) {
		t.Helper()
		if r.status != http.StatusServiceUnavailable {
			t.Errorf("%s with redis down: want 503, got %d %s", name, r.status, r.body)
			return
		}
		if ra := r.header.Get("Retry-After"); ra == "" {
			t.Errorf("%s with redis down: 503 without Retry-After", name)
		} else if n, err := strconv.Atoi(ra); err != nil || n <= 0 {
			t.Errorf("%s with redis down: bad Retry-After %q", name, ra)
		}
	}
	// A fresh (never verified, so uncached) session token: its user must
	// be read from the store.
	assert503("new __session", get(t, plainClient, s.base+"/app", "Cookie", "__session="+sessionTok, "Accept", "application/json"))
	// __client only: the session must be refreshed from the store.
	assert503("__client only", get(t, plainClient, s.base+"/app", "Cookie", "__client="+clientTok, "Accept", "text/html"))
	// Both, as a browser sends them.
	assert503("browser cookies", get(t, b.c, s.base+"/app", "Accept", "text/html"))
	// The JSON API needs the store too.
	assert503("sign-in API", signInAttempt(t, s.base, "down@example.com"))
	// Anonymous requests need no store: they are refused as usual (never
	// passed through).
	if r := get(t, plainClient, s.base+"/app", "Accept", "application/json"); r.status != http.StatusUnauthorized && r.status != http.StatusServiceUnavailable {
		t.Errorf("anonymous with redis down: want 401 or 503, got %d %s", r.status, r.body)
	}
	if got := s.upstream.hits.Load(); got != before {
		t.Fatalf("%d request(s) reached the upstream while redis was down", got-before)
	}

	// The redis restart lost every key (no persistence): the old session
	// is gone, and a new user can sign in and get through.
	rs.Start()
	s.awaitUnauthorized("after redis came back, a lost session", "/app", "Cookie", "__client="+clientTok, "Accept", "application/json")
	s.assertNewUserGetsThrough("after redis came back", "back@example.com", "/app/again")
}

// TestIntegrationStartWithRedisDown: Caddy starts while redis is down;
// every gated request (anonymous ones too: no signing keys yet) gets 503
// with Retry-After until redis is up.
func TestIntegrationStartWithRedisDown(t *testing.T) {
	rs := testenv.Redis(t)
	rs.Stop()
	s := startServer(t, siteOpts{storage: "redis " + rs.URL()})
	before := s.upstream.hits.Load()
	r := get(t, plainClient, s.base+"/app", "Accept", "application/json")
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("redis down at start: want 503 with Retry-After, got %d (Retry-After %q) %s",
			r.status, r.header.Get("Retry-After"), r.body)
	}
	r = get(t, plainClient, s.base+"/app", "Accept", "text/html", "X-Authgate-User-Id", "evil")
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("redis down at start: navigation: want 503, got %d %s", r.status, r.body)
	}
	if got := s.upstream.hits.Load(); got != before {
		t.Fatalf("%d request(s) reached the upstream while redis was down", got-before)
	}

	rs.Start()
	s.awaitUnauthorized("after redis came up", "/app", "Accept", "application/json")
	s.assertNewUserGetsThrough("after redis came up", "late@example.com", "/app/late")
}

// TestIntegrationHashingPoolBusy: a burst of creates larger than the
// password hashing pool (workers + queue) is answered with 429
// too_many_requests for the excess (DESIGN.md §7), never with a 5xx.
func TestIntegrationHashingPoolBusy(t *testing.T) {
	startServer(t, siteOpts{storage: "file " + filepath.Join(t.TempDir(), "authgate.db")})
	const n = 200
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxConnsPerHost: n, MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()
	results := createUsersAtOnce(client, n, func(i int) string { return fmt.Sprintf("burst%d@example.com", i) })
	counts := map[int]int{}
	for i, r := range results {
		counts[r.status]++
		switch {
		case r.status == http.StatusOK:
		case r.status == http.StatusTooManyRequests && r.errCode() == "too_many_requests":
		default:
			if counts[r.status] == 1 {
				t.Errorf("request %d: want 200 or 429 too_many_requests, got %d %s", i, r.status, r.body)
			}
		}
	}
	t.Logf("answers by status: %v", counts)
	if counts[http.StatusOK] == 0 {
		t.Fatal("no create succeeded")
	}
}

// createUsersAtOnce sends n user creates through the admin API, released
// together, and returns the answers in order.
func createUsersAtOnce(client *http.Client, n int, emailOf func(i int) string) []apiResult {
	results := make([]apiResult, n)
	reqs := make([]*http.Request, n)
	for i := range n {
		body := map[string]any{"email_address": []string{emailOf(i)}, "password": testPassword}
		req, err := testenv.JSONRequest(http.MethodPost, testAdminURL+"/users", body)
		if err != nil {
			results[i] = apiResult{status: -1, body: []byte(err.Error())}
		}
		reqs[i] = req
	}
	testenv.Together(n, func(i int) {
		if reqs[i] == nil {
			return
		}
		resp, err := client.Do(reqs[i])
		if err != nil {
			results[i] = apiResult{status: -1, body: []byte(err.Error())}
			return
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		results[i] = apiResult{status: resp.StatusCode, header: resp.Header, body: body}
	})
	return results
}
