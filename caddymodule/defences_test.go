package caddymodule

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestIntegrationRevocationAtTokenLifetime: a revoked session's token,
// already verified and cached by the gate, stops passing at its exp
// (token_lifetime), not token_lifetime plus a leeway later.
func TestIntegrationRevocationAtTokenLifetime(t *testing.T) {
	s := startServer(t, siteOpts{storage: "file " + t.TempDir() + "/authgate.db", tokenLifetime: "3s"})
	u, b, sid := s.newSignedIn("revoked@example.com")
	minted := time.Now()
	tok := b.cookie(t, s.base, "__session")
	onlyToken := func() apiResult {
		return get(t, plainClient, s.base+"/app", "Cookie", "__session="+tok, "Accept", "application/json")
	}
	if r := onlyToken(); r.status != http.StatusOK {
		t.Fatalf("fresh token: %d %s", r.status, r.body)
	}
	if r := adminJSON(t, http.MethodPost, "/sessions/"+sid+"/revoke", nil); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if len(listSessions(t, u.ID)) == 0 {
		t.Fatal("no session listed after revoke")
	}
	// The cached token passes until exp (the price of in-process
	// verification), then never again. Poll, bounded: exp is 3 s after
	// the mint, and the answer must have flipped 3.2 s after it.
	var flipped time.Time
	for i := 0; i < 100 && flipped.IsZero(); i++ {
		r := onlyToken()
		switch {
		case r.status == http.StatusUnauthorized:
			flipped = time.Now()
		case r.status != http.StatusOK:
			t.Fatalf("revoked token: %d %s", r.status, r.body)
		default:
			time.Sleep(50 * time.Millisecond) // polling a clock we cannot inject, not ordering events
		}
	}
	if flipped.IsZero() {
		t.Fatal("a revoked session's token still passed 5 s after its mint")
	}
	if d := flipped.Sub(minted); d > 3200*time.Millisecond {
		t.Fatalf("revoked token passed until %v after its mint; token_lifetime is 3s", d)
	}
	// And with __client the gate cannot refresh a revoked session either.
	if r := get(t, b.c, s.base+"/app", "Accept", "application/json"); r.status != http.StatusUnauthorized {
		t.Fatalf("revoked session with __client: %d %s", r.status, r.body)
	}
}

// TestIntegrationHungRedis: a SIGSTOPped redis (hung, not dead) makes
// requests that need the store answer 503 + Retry-After within 1 s, none
// reaches the upstream, and the site recovers after SIGCONT without a
// restart.
func TestIntegrationHungRedis(t *testing.T) {
	s, rs, b := onRedis(t, siteOpts{}, "hung@example.com")
	clientTok := b.cookie(t, s.base, "__client")

	rs.Pause(t)
	before := s.upstream.hits.Load()
	for i := 0; i < 10; i++ {
		start := time.Now()
		// __client only: the gate must refresh from the store.
		r := get(t, plainClient, s.base+"/app", "Cookie", "__client="+clientTok, "Accept", "application/json")
		if d := time.Since(start); d > time.Second {
			t.Errorf("request %d with redis hung took %v; want < 1 s", i, d)
		}
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Fatalf("request %d with redis hung: want 503 with Retry-After, got %d %s", i, r.status, r.body)
		}
	}
	if got := s.upstream.hits.Load(); got != before {
		t.Fatalf("%d request(s) reached the upstream while redis was hung", got-before)
	}
	rs.Resume(t)
	// The breaker lets a probe through within its 2 s cool-down cap; the
	// old session works again without restarting Caddy.
	resumed := time.Now()
	for {
		r := get(t, plainClient, s.base+"/app", "Cookie", "__client="+clientTok, "Accept", "application/json")
		if r.status == http.StatusOK {
			break
		}
		if r.status != http.StatusServiceUnavailable || time.Since(resumed) > 3*time.Second {
			t.Fatalf("after redis resumed: %d after %v %s", r.status, time.Since(resumed), r.body)
		}
		time.Sleep(50 * time.Millisecond) // polling for recovery, bounded by the deadline above
	}
	s.assertNewUserGetsThrough("after redis resumed", "resumed@example.com", "/app/resumed")
}

// TestIntegrationPlantedClientDiesAtSignIn: a __client value planted
// before sign-in (session fixation) is dead after the victim signs in;
// the upstream never sees __client nor the CSRF cookie.
func TestIntegrationPlantedClientDiesAtSignIn(t *testing.T) {
	s := startServer(t, siteOpts{storage: "file " + t.TempDir() + "/authgate.db"})
	createUser(t, "victim@example.com")
	b := newBrowser(t)
	r := do(t, b.c, func() *http.Request {
		req := newRequest(t, http.MethodPost, s.base+"/__authgate/v1/client", nil)
		req.Header.Set("Origin", s.base)
		return req
	}())
	if r.status != http.StatusOK {
		t.Fatalf("create client: %d %s", r.status, r.body)
	}
	planted := b.cookie(t, s.base, "__client")
	if planted == "" {
		t.Fatal("no __client cookie after POST /v1/client")
	}
	b.signIn(t, s.base, "victim@example.com")
	if now := b.cookie(t, s.base, "__client"); now == planted {
		t.Fatal("the __client value did not change at sign-in")
	}
	if r := get(t, plainClient, s.base+"/app", "Cookie", "__client="+planted, "Accept", "application/json"); r.status != http.StatusUnauthorized {
		t.Fatalf("the planted __client after the victim's sign-in: %d %s, want 401", r.status, r.body)
	}
	// The victim's own browser gets through; the upstream sees __session
	// and the app's own cookies, never __client or the CSRF cookie.
	req := newRequest(t, http.MethodGet, s.base+"/app/cookies", nil)
	req.Header.Set("Accept", "application/json")
	req.AddCookie(&http.Cookie{Name: "app_pref", Value: "dark"})
	req.AddCookie(&http.Cookie{Name: "__authgate_csrf", Value: "x"})
	if r := do(t, b.c, req); r.status != http.StatusOK {
		t.Fatalf("signed-in request: %d %s", r.status, r.body)
	}
	cookie := strings.Join(s.upstream.last(t, "/app/cookies").Values("Cookie"), "; ")
	if strings.Contains(cookie, "__client=") || strings.Contains(cookie, "csrf") {
		t.Fatalf("upstream Cookie header holds a gateway credential: %q", cookie)
	}
	if !strings.Contains(cookie, "__session=") || !strings.Contains(cookie, "app_pref=dark") {
		t.Fatalf("upstream Cookie header lost __session or the app's cookie: %q", cookie)
	}
}

// TestIntegrationPrefixErrorsAndPublicTricks: inside the prefix, 404 and
// 405 answer with the Clerk envelope; `..;` and encoded dot segments never
// make a protected path public.
func TestIntegrationPrefixErrorsAndPublicTricks(t *testing.T) {
	s := startServer(t, siteOpts{storage: "file " + t.TempDir() + "/authgate.db", public: "/assets/*"})
	if r := get(t, plainClient, s.base+"/__authgate/v1/nope"); r.status != http.StatusNotFound || r.errCode() != "resource_not_found" {
		t.Fatalf("unknown API path: %d %s", r.status, r.body)
	}
	r := do(t, plainClient, newRequest(t, http.MethodPut, s.base+"/__authgate/v1/environment", nil))
	if r.status != http.StatusMethodNotAllowed || r.errCode() != "method_not_allowed" {
		t.Fatalf("wrong method: %d %s", r.status, r.body)
	}
	if r := get(t, plainClient, s.base+"/__authgate/v1/environment?_method=TRACE"); r.status == http.StatusOK {
		t.Fatalf("_method=TRACE answered 200: %s", r.body)
	}
	if r := get(t, plainClient, s.base+"/assets/app.css", "Accept", "application/json"); r.status != http.StatusOK {
		t.Fatalf("a public asset: %d %s", r.status, r.body)
	}
	before := s.upstream.hits.Load()
	for _, p := range []string{"/assets/..;/app", "/assets/%2e%2e/app", "/assets/.%2e/app", "/assets;/../app"} {
		req, err := http.NewRequest(http.MethodGet, s.base+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = p // sent as written, not cleaned by the client
		req.Header.Set("Accept", "application/json")
		if r := do(t, plainClient, req); r.status != http.StatusUnauthorized {
			t.Errorf("%s without a session: %d %s, want 401", p, r.status, r.body)
		}
	}
	if got := s.upstream.hits.Load(); got != before {
		t.Fatalf("%d path trick(s) reached the upstream without a session", got-before)
	}
}
