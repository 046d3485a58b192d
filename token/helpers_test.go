package token

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/store/bolt"
	"github.com/authgate/authgate/store/bolt/bolttest"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

const testIssuer = "https://app.example.com"

// testStart is where every test clock starts; a fixed instant makes the
// minted tokens, and so any failure, reproducible.
var testStart = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// newLoaded returns a loaded Keyring on st with cfg (clock defaulted to clk).
func newLoaded(tb testing.TB, st *bolt.Store, cfg Config, clk *testenv.Clock) *Keyring {
	tb.Helper()
	if cfg.Now == nil && clk != nil {
		cfg.Now = clk.Now
	}
	k, err := NewKeyring(st, cfg, zap.NewNop())
	if err != nil {
		tb.Fatalf("NewKeyring: %v", err)
	}
	if err := k.Load(context.Background()); err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return k
}

func baseClaims() Claims {
	return Claims{
		Issuer:          testIssuer,
		Subject:         "user_123",
		SessionID:       "sess_456",
		Status:          StatusActive,
		AuthorizedParty: "https://app.example.com",
	}
}

func mint(tb testing.TB, k *Keyring, c Claims) (string, Claims) {
	tb.Helper()
	tok, cl, err := k.Mint(context.Background(), c)
	if err != nil {
		tb.Fatalf("Mint: %v", err)
	}
	return tok, cl
}

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("marshal: %v", err)
	}
	return b
}

// activeKid returns the kid that signs now.
func activeKid(k *Keyring) string { return k.set.Load().signer(k.cfg.Now()).kid }

// signRaw builds a compact token from raw header and payload JSON, signed
// with k's active key and k's algorithm, so tests reach the checks that run
// after the signature.
func signRaw(tb testing.TB, k *Keyring, header, payload string) string {
	tb.Helper()
	return signCompact(tb, k.alg, header, payload, k.set.Load().signer(k.cfg.Now()).priv)
}

// signCompact builds a compact token from raw header and payload JSON,
// signed with alg and key whatever the header says, so tests can forge
// tokens a careless verifier would accept.
func signCompact(tb testing.TB, alg jwa.SignatureAlgorithm, header, payload string, key any) string {
	tb.Helper()
	s, err := jws.NewSigner(alg)
	if err != nil {
		tb.Fatalf("signer for %s: %v", alg, err)
	}
	input := enc([]byte(header)) + "." + enc([]byte(payload))
	sig, err := s.Sign([]byte(input), key)
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	return input + "." + enc(sig)
}

// stdHeader is the header Mint would write for k.
func stdHeader(k *Keyring) string {
	return `{"alg":"` + k.cfg.Alg + `","kid":"` + activeKid(k) + `","typ":"JWT"}`
}

// payloadAt returns a valid claims JSON issued at iat with k's lifetime,
// with overrides applied (a nil value deletes the claim).
func payloadAt(tb testing.TB, k *Keyring, iat time.Time, overrides map[string]any) string {
	tb.Helper()
	m := map[string]any{
		"iss": testIssuer, "sub": "user_123", "sid": "sess_456", "sts": "active", "v": 2,
		"iat": iat.Unix(), "nbf": iat.Unix() - 10, "exp": iat.Add(k.cfg.Lifetime).Unix(),
		"jti": "jti_1", "azp": "https://app.example.com",
	}
	for name, v := range overrides {
		if v == nil {
			delete(m, name)
		} else {
			m[name] = v
		}
	}
	return string(mustJSON(tb, m))
}

// segments splits a compact token.
func segments(tb testing.TB, tok string) []string {
	tb.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		tb.Fatalf("token has %d segments", len(parts))
	}
	return parts
}

// embeddedJWK signs payload with a fresh attacker key and embeds the
// key's public half in the jwk header: kid names the header's key id,
// jwkKid (when set) the embedded key's own.
func embeddedJWK(t *testing.T, payload, jwkKid, kid string) string {
	attacker, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := jwk.FromRaw(&attacker.PublicKey)
	if jwkKid != "" {
		_ = pub.Set(jwk.KeyIDKey, jwkKid)
	}
	hdr := jws.NewHeaders()
	_ = hdr.Set(jws.JWKKey, pub)
	_ = hdr.Set(jws.KeyIDKey, kid)
	_ = hdr.Set(jws.TypeKey, "JWT")
	b, err := jws.Sign([]byte(payload), jws.WithKey(jwa.RS256, attacker, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fixture holds keyrings for the three algorithms on one store, a valid
// RS256 token and the fake clock.
type fixture struct {
	clk        *testenv.Clock
	rs, ed, es *Keyring
	good       string // valid RS256 token minted now
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := bolttest.Open(t)
	clk := testenv.NewClock(testStart)
	f := &fixture{clk: clk}
	// Cache disabled so every case runs the full verification path.
	f.rs = newLoaded(t, st, Config{Alg: AlgRS256, Leeway: 5 * time.Second, CacheSize: -1}, clk)
	f.ed = newLoaded(t, st, Config{Alg: AlgEdDSA, CacheSize: -1}, clk)
	f.es = newLoaded(t, st, Config{Alg: AlgES256, CacheSize: -1}, clk)
	f.good, _ = mint(t, f.rs, baseClaims())
	return f
}

// hs256 signs header.payload with HMAC-SHA256 under secret.
func hs256(header, payload string, secret []byte) string {
	input := enc([]byte(header)) + "." + enc([]byte(payload))
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + enc(m.Sum(nil))
}

// withHeader signs a token with k's active key and the given header.
func withHeader(t *testing.T, k *Keyring, header string) string {
	return signRaw(t, k, header, payloadAt(t, k, k.cfg.Now(), nil))
}

// withClaims signs a token with k's active key, standard header, and the
// payload modified by overrides.
func withClaims(t *testing.T, k *Keyring, overrides map[string]any) string {
	return signRaw(t, k, stdHeader(k), payloadAt(t, k, k.cfg.Now(), overrides))
}

// nested returns n levels of nested arrays.
func nested(n int) any {
	var v any = "x"
	for range n {
		v = []any{v}
	}
	return v
}
