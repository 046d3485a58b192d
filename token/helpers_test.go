package token

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/store/bolt"
	"github.com/lestrrat-go/jwx/v2/jwa"
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
