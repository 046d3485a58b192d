//go:build soak

package soak

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/testenv"
)

// keysRefreshWait bounds how long an instance takes to pick up a key
// rotated on another one: caddymodule refreshes the keys from the store
// every minute (keysRefreshEvery), plus some slack.
const keysRefreshWait = 75 * time.Second

// TestTwoInstances: two bin/caddy instances on one redis-server share
// everything that lives in the store. A reset code requested on A is
// accepted on B; a session made on A works on B, by token and by
// refresh; a revoke on A is honoured by B within token_lifetime; the
// JWKS are identical; a key rotated on A is published by B; and an
// instance with another encryption_key refuses to start.
func TestTwoInstances(t *testing.T) {
	rs := testenv.StartRedisNode(t, testenv.RedisNodeOptions{})
	up := newUpstream(t)
	cfg := site{storage: "redis " + rs.URL(), tokenLifetime: "3s", encryptionKey: newEncryptionKey(t)}
	a := startInstance(t, "A", up, cfg)
	b := startInstance(t, "B", up, cfg)
	bStarted := time.Now()

	// JWKS identical before any rotation.
	jwksA, jwksB := a.jwks(t), b.jwks(t)
	if string(jwksA) != string(jwksB) {
		t.Fatalf("JWKS differ:\nA %s\nB %s", jwksA, jwksB)
	}
	oldKids := kids(t, jwksA)
	if len(oldKids) != 1 {
		t.Fatalf("want one signing key at start, got %v", oldKids)
	}

	// Rotate on A with the CLI, first, so B's periodic key refresh (once
	// a minute) runs while the other checks do.
	out, err := a.Command(30*time.Second, "authgate", "keys", "rotate", "--address", a.AdminAddr)
	if err != nil {
		t.Fatalf("caddy authgate keys rotate: %v\n%s", err, out)
	}
	rotated := kids(t, a.jwks(t))
	newKid := ""
	for _, k := range rotated {
		if !slices.Contains(oldKids, k) {
			newKid = k
		}
	}
	if len(rotated) != 2 || newKid == "" {
		t.Fatalf("after the rotation A publishes %v, want the old key %v and a new one", rotated, oldKids)
	}

	t.Run("session made on A works on B", func(t *testing.T) {
		u := a.createUser(t, "shared@example.com", true)
		br := newBrowser(t)
		sid := br.signIn(t, a.site, "shared@example.com")
		if kid := tokenKid(t, br.cookie("__session")); kid != oldKids[0] {
			t.Fatalf("a token minted right after the rotation is signed by %s; the new key %s must not sign before its publish delay", kid, newKid)
		}
		// Behind a load balancer both instances see the same Host, so the
		// token's iss (by default the request's origin) matches on B.
		for _, c := range []*http.Cookie{
			{Name: "__session", Value: br.cookie("__session")},
			{Name: "__client", Value: br.cookie("__client")},
		} {
			req, _ := gateGET(b.site, "/app", c)()
			req.Host = strings.TrimPrefix(a.site, "http://")
			req.Header.Set(reqIDHeader, "shared-"+c.Name)
			if r := send(plainClient, req); r.err != nil || r.status != http.StatusOK {
				t.Fatalf("A's session on B with only %s: %s", c.Name, r)
			}
			if got, _ := up.seenAs("shared-" + c.Name); got != u.ID {
				t.Fatalf("B sent X-Authgate-User-Id %q for A's session (%s), want %s", got, c.Name, u.ID)
			}
		}
		// Reached through another hostname, the token's default issuer
		// does not match: B refreshes from __client instead, or, with the
		// token alone, answers 401 (set `issuer` to share tokens across
		// hostnames).
		req, _ := gateGET(b.site, "/app", &http.Cookie{Name: "__session", Value: br.cookie("__session")})()
		if r := send(plainClient, req); r.status != http.StatusUnauthorized {
			t.Fatalf("A's token on B under B's own hostname: %s, want 401 (iss is the origin by default)", r)
		}
		if got := b.sessions(t, u.ID); len(got) != 1 || got[0].ID != sid {
			t.Fatalf("B's admin API lists %+v, want A's session %s", got, sid)
		}
	})

	t.Run("reset code requested on A is accepted on B", func(t *testing.T) {
		const email = "reset@example.com"
		a.createUser(t, email, true)
		br := newBrowser(t)
		r := apiPost(t, br.c, a.site, "/v1/client/sign_ins", url.Values{"strategy": {"reset_password_email_code"}, "identifier": {email}})
		var si signInJSON
		if r.err != nil || r.status != http.StatusOK {
			t.Fatalf("reset request on A: %s", r)
		}
		r.decode(t, &si)
		if si.Response.Status != "needs_first_factor" {
			t.Fatalf("reset request on A: status %q", si.Response.Status)
		}
		code := waitCode(t, a, email)
		if strings.Contains(b.Log(), `"to":"`+email+`"`) {
			t.Fatal("B delivered a code it was never asked for")
		}
		const newPassword = "a-brand-new-Passphrase-77"
		r = apiPost(t, br.c, b.site, "/v1/client/sign_ins/"+si.Response.ID+"/attempt_first_factor",
			url.Values{"strategy": {"reset_password_email_code"}, "code": {code}, "password": {newPassword}})
		if r.err != nil || r.status != http.StatusOK {
			t.Fatalf("A's code on B: %s", r)
		}
		r.decode(t, &si)
		if si.Response.Status != "complete" || si.Response.CreatedSessionID == "" {
			t.Fatalf("A's code on B: status %q, session %q", si.Response.Status, si.Response.CreatedSessionID)
		}
		// The new password works on A, the old one no longer.
		if sid, r := newBrowser(t).trySignIn(a.site, email, newPassword); sid == "" {
			t.Fatalf("new password on A: %s", r)
		}
		if sid, r := newBrowser(t).trySignIn(a.site, email, testPassword); sid != "" || r.status != http.StatusUnprocessableEntity {
			t.Fatalf("old password on A after the reset on B: %s", r)
		}
	})

	t.Run("revoke on A is honoured by B within token_lifetime", func(t *testing.T) {
		a.createUser(t, "revoke@example.com", true)
		br := newBrowser(t)
		sid := br.signIn(t, b.site, "revoke@example.com")
		minted := time.Now()
		tok := &http.Cookie{Name: "__session", Value: br.cookie("__session")}
		client := &http.Cookie{Name: "__client", Value: br.cookie("__client")}
		onB := func(c *http.Cookie) reply {
			req, _ := gateGET(b.site, "/app", c)()
			return send(plainClient, req)
		}
		if r := onB(tok); r.status != http.StatusOK { // B verifies and caches the token
			t.Fatalf("fresh token on B: %s", r)
		}
		if r := a.adminDo(http.MethodPost, "/sessions/"+sid+"/revoke", nil); r.err != nil || r.status != http.StatusOK {
			t.Fatalf("revoke on A: %s", r)
		}
		// The refresh credential is dead on B at once: B reads the store.
		if r := onB(client); r.status != http.StatusUnauthorized {
			t.Fatalf("revoked session's __client on B: %s, want 401", r)
		}
		// The token B cached passes until its exp, then never again.
		var last reply
		took, ok := pollUntil(5*time.Second, func() bool {
			last = onB(tok)
			if last.status != http.StatusOK && last.status != http.StatusUnauthorized {
				t.Fatalf("revoked token on B: %s", last)
			}
			return last.status == http.StatusUnauthorized
		})
		if !ok {
			t.Fatalf("B still accepted a session revoked on A %v after its token was minted: %s", took, last)
		}
		if d := time.Since(minted); d > 3500*time.Millisecond {
			t.Fatalf("B accepted the revoked session until %v after the mint; token_lifetime is 3s", d)
		}
		t.Logf("B refused the revoked token %v after its mint (token_lifetime 3s)", time.Since(minted).Round(10*time.Millisecond))
	})

	t.Run("instance with another encryption_key refuses to start", func(t *testing.T) {
		bad := cfg
		bad.encryptionKey = newEncryptionKey(t)
		c := newInstance(t, "C", up, bad)
		c.Launch()
		err := c.WaitExit(30 * time.Second)
		if err == nil {
			t.Fatalf("an instance with a wrong encryption_key exited 0\n%s", c.LogTail(10))
		}
		if !strings.Contains(c.Log(), "encryption_key does not match") {
			t.Fatalf("the wrong-key start does not say why:\n%s", c.LogTail(10))
		}
	})

	t.Run("instance started after the rotation publishes the new key", func(t *testing.T) {
		c := startInstance(t, "C", up, cfg)
		if got := kids(t, c.jwks(t)); !slices.Equal(got, rotated) {
			t.Fatalf("C publishes %v, want %v", got, rotated)
		}
		c.Stop()
	})

	t.Run("key rotated on A is published by B", func(t *testing.T) {
		var got []string
		took, ok := pollUntil(keysRefreshWait-time.Since(bStarted), func() bool {
			got = kids(t, b.jwks(t))
			return slices.Equal(got, rotated)
		})
		if !ok {
			t.Fatalf("B publishes %v %v after its start, want %v (A rotated in %s)", got, time.Since(bStarted), rotated, newKid)
		}
		t.Logf("B published the key rotated on A after %v (%v after B's start)", took.Round(time.Second), time.Since(bStarted).Round(time.Second))
		if string(a.jwks(t)) != string(b.jwks(t)) {
			t.Fatalf("JWKS differ after the rotation:\nA %s\nB %s", a.jwks(t), b.jwks(t))
		}
	})
}

// tokenKid returns the kid of a JWT's header.
func tokenKid(t *testing.T, jwt string) string {
	t.Helper()
	head, _, ok := strings.Cut(jwt, ".")
	if !ok {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatalf("JWT header: %v", err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("JWT header %s: %v", raw, err)
	}
	return h.Kid
}

// waitCode polls the instance's log (the `email log` sender) for the
// newest code sent to email.
func waitCode(t *testing.T, in *instance, email string) string {
	t.Helper()
	var code string
	if _, ok := pollUntil(10*time.Second, func() bool {
		code = lastCode(in.Log(), email)
		return code != ""
	}); !ok {
		t.Fatalf("%s: no code for %s in the log after 10 s\n%s", in.name, email, in.LogTail(10))
	}
	return code
}

// lastCode finds the last dev-delivery log entry to email and returns its
// code.
func lastCode(log, email string) string {
	code := ""
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct {
			Msg  string `json:"msg"`
			To   string `json:"to"`
			Code string `json:"code"`
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		if strings.HasPrefix(e.Msg, "dev delivery") && strings.EqualFold(e.To, email) && e.Code != "" {
			code = e.Code
		}
	}
	return code
}
