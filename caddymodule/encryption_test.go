package caddymodule

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	goredis "github.com/redis/go-redis/v9"

	"github.com/authgate/authgate/internal/seal"
)

func randomKey(t *testing.T) string {
	t.Helper()
	k := make([]byte, seal.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

// redisDump returns every string key and value in the redis database.
func redisDump(t *testing.T, url string) map[string]string {
	t.Helper()
	opts, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opts)
	defer c.Close()
	ctx := context.Background()
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		if typ, _ := c.Type(ctx, k).Result(); typ != "string" {
			continue
		}
		v, err := c.Get(ctx, k).Result()
		if err != nil {
			t.Fatalf("GET %s: %v", k, err)
		}
		out[k] = v
	}
	return out
}

// TestIntegrationSecretsSealedAtRest: with encryption_key, a Redis dump
// holds no private key member and no secret in plaintext; a restart with
// another key fails with a clear error instead of minting a new key set.
func TestIntegrationSecretsSealedAtRest(t *testing.T) {
	key := randomKey(t)
	s, rs, b := onRedis(t, siteOpts{global: "encryption_key " + key}, "sealed@example.com")
	// A reset code request makes the code-HMAC key exist too.
	if r := do(t, b.c, resetRequest(t, s.base, "sealed@example.com")); r.status >= 500 {
		t.Fatalf("reset request: %d %s", r.status, r.body)
	}

	// A page with a form makes the CSRF key exist; an authenticator app
	// the backup-code key and a TOTP secret.
	if r := get(t, plainClient, s.base+"/__authgate/sign-in", "Accept", "text/html"); r.status != 200 {
		t.Fatalf("sign-in page: %d", r.status)
	}
	enrolTOTP(t, b, s.base)
	dump := redisDump(t, rs.URL())
	secrets, totp := 0, 0
	for k, v := range dump {
		if isSecretKey(k) && strings.Contains(k, "mfa:secret:totp:") {
			totp++
		}
		for _, member := range []string{`"d":`, `"p":`, `"q":`, `"dp":`} {
			if strings.Contains(v, member) {
				t.Errorf("%s holds a private key member %s in plaintext", k, member)
			}
		}
		if isSecretKey(k) {
			secrets++
			if !seal.IsSealed([]byte(v)) {
				t.Errorf("secret %s is not sealed: %.40q", k, v)
			}
		}
	}
	if secrets < 5 || totp != 1 {
		t.Fatalf("found %d secrets (%d TOTP) in the dump, want the signing keys, code-HMAC, CSRF and backup-code keys and one TOTP secret: %v",
			secrets, totp, keysOf(dump))
	}

	// The same store with another key: Caddy refuses to start.
	s.stop()
	cf := testCaddyfile(siteOpts{storage: "redis " + rs.URL(), global: "encryption_key " + randomKey(t)}, freeTCPPort(t), s.upstream.srv.Listener.Addr().String())
	cfgJSON, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = caddy.Load(cfgJSON, true)
	if err == nil || !strings.Contains(err.Error(), "cannot decrypt signing keys: encryption_key does not match") {
		t.Fatalf("start with the wrong key: %v, want a clear mismatch error", err)
	}
	// The old key with the new one in front (rotation) starts, and keys
	// rewrap re-seals everything with the new key.
	next := randomKey(t)
	cf = testCaddyfile(siteOpts{storage: "redis " + rs.URL(), global: "encryption_key " + next + " " + key}, freeTCPPort(t), s.upstream.srv.Listener.Addr().String())
	if cfgJSON, _, err = caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil); err != nil {
		t.Fatal(err)
	}
	if err := caddy.Load(cfgJSON, true); err != nil {
		t.Fatalf("start with a rotated key list: %v", err)
	}
	if r := adminJSON(t, "POST", "/keys/rewrap", nil); r.status != 200 {
		t.Fatalf("keys rewrap: %d %s", r.status, r.body)
	}
	ring, err := seal.NewKeyring(mustKey(t, next))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range redisDump(t, rs.URL()) {
		if !isSecretKey(k) {
			continue
		}
		name := strings.TrimPrefix(k, "authgate:")
		if _, current, err := ring.Open(name, []byte(v)); err != nil || !current {
			t.Errorf("after rewrap, %s does not open with the new key alone: %v", k, err)
		}
	}
}

// isSecretKey reports whether the Redis key k holds a secret: the fixed
// ones and the users' TOTP secrets (everything internal/app seals).
func isSecretKey(k string) bool {
	return strings.Contains(k, "secrets:") || strings.Contains(k, ":keys:") || strings.Contains(k, "mfa:secret:")
}

func mustKey(t *testing.T, s string) []byte {
	t.Helper()
	k, err := seal.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// resetRequest starts a password reset by email code through the JSON API.
func resetRequest(t *testing.T, base, email string) *http.Request {
	t.Helper()
	form := url.Values{"strategy": {"reset_password_email_code"}, "identifier": {email}}
	req := newRequest(t, http.MethodPost, base+"/__authgate/v1/client/sign_ins", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	return req
}

// TestIntegrationBoltKeyFile: without encryption_key the embedded store's
// secrets are sealed with a key file created beside the database, 0600.
func TestIntegrationBoltKeyFile(t *testing.T) {
	db := filepath.Join(t.TempDir(), "authgate.db")
	startServer(t, siteOpts{storage: "file " + db})
	fi, err := os.Stat(db + ".key")
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want it with mode 0600", fi, err)
	}
}
