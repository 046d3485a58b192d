package caddymodule

import (
	"net/http"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/testenv"
)

// TestIntegrationRevocationAtTokenLifetime: a revoked session's token,
// already verified and cached by the gate, stops passing at its exp
// (token_lifetime), not token_lifetime plus a leeway later.
func TestIntegrationRevocationAtTokenLifetime(t *testing.T) {
	s := startServer(t, siteOpts{storage: "file " + t.TempDir() + "/authgate.db", tokenLifetime: "3s"})
	u := createUser(t, "revoked@example.com")
	b := newBrowser(t)
	sid := b.signIn(t, s.base, "revoked@example.com")
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
	rs := testenv.Redis(t)
	s := startServer(t, siteOpts{storage: "redis " + rs.URL()})
	createUser(t, "hung@example.com")
	b := newBrowser(t)
	b.signIn(t, s.base, "hung@example.com")
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
