package token

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"go.uber.org/zap"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/bolt/bolttest"
)

var allAlgs = []string{AlgRS256, AlgEdDSA, AlgES256}

func TestMintVerifyRoundTrip(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			clk := testenv.NewClock(testStart)
			clk.Set(clk.Now().Add(700 * time.Millisecond)) // iat must be truncated to seconds
			k := newLoaded(t, bolttest.Open(t), Config{Alg: alg, Lifetime: 90 * time.Second}, clk)
			tok, minted := mint(t, k, baseClaims())

			parts := segments(t, tok)
			hdrJSON, err := base64.RawURLEncoding.DecodeString(parts[0])
			if err != nil {
				t.Fatal(err)
			}
			var hdr map[string]any
			if err := json.Unmarshal(hdrJSON, &hdr); err != nil {
				t.Fatal(err)
			}
			wantHdr := map[string]any{"alg": alg, "kid": activeKid(k), "typ": "JWT"}
			if len(hdr) != len(wantHdr) {
				t.Errorf("header members %v, want exactly %v", hdr, wantHdr)
			}
			for name, v := range wantHdr {
				if hdr[name] != v {
					t.Errorf("header %s = %v, want %v", name, hdr[name], v)
				}
			}
			if !strings.HasPrefix(activeKid(k), "ins_") {
				t.Errorf("kid %q lacks ins_ prefix", activeKid(k))
			}

			payloadJSON, err := base64.RawURLEncoding.DecodeString(parts[1])
			if err != nil {
				t.Fatal(err)
			}
			var p map[string]any
			dec := json.NewDecoder(strings.NewReader(string(payloadJSON)))
			dec.UseNumber()
			if err := dec.Decode(&p); err != nil {
				t.Fatal(err)
			}
			iat := clk.Now().Unix()
			want := map[string]string{
				"iss": testIssuer, "sub": "user_123", "sid": "sess_456", "sts": "active", "v": "2",
				"iat": itoa(iat), "nbf": itoa(iat - 10), "exp": itoa(iat + 90), "azp": "https://app.example.com",
				"jti": minted.ID,
			}
			for name, v := range want {
				if got := toString(p[name]); got != v {
					t.Errorf("claim %s = %q, want %q", name, got, v)
				}
			}
			if len(p) != len(want) {
				t.Errorf("payload has %d claims, want %d: %s", len(p), len(want), payloadJSON)
			}
			if len(minted.ID) < 20 {
				t.Errorf("jti %q too short", minted.ID)
			}

			got, err := k.Verify(context.Background(), tok, testIssuer)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got != minted {
				t.Errorf("Verify claims %+v, want %+v", got, minted)
			}
			if !minted.IssuedAt.Equal(time.Unix(iat, 0)) || !minted.NotBefore.Equal(time.Unix(iat-10, 0)) ||
				!minted.Expiry.Equal(time.Unix(iat+90, 0)) {
				t.Errorf("minted times %v %v %v", minted.IssuedAt, minted.NotBefore, minted.Expiry)
			}

			// Two mints differ in jti.
			tok2, minted2 := mint(t, k, baseClaims())
			if tok2 == tok || minted2.ID == minted.ID {
				t.Error("two mints produced the same token or jti")
			}
		})
	}
}

func itoa(n int64) string { return big.NewInt(n).String() }

func toString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	default:
		return ""
	}
}

func TestPendingStatusVerifies(t *testing.T) {
	k := newLoaded(t, bolttest.Open(t), Config{Alg: AlgEdDSA}, testenv.NewClock(testStart))
	c := baseClaims()
	c.Status = StatusPending
	tok, _ := mint(t, k, c)
	got, err := k.Verify(context.Background(), tok, testIssuer)
	if err != nil || got.Status != StatusPending {
		t.Fatalf("Verify = %+v, %v; want pending", got, err)
	}
}

func TestConfigValidation(t *testing.T) {
	st := bolttest.Open(t)
	bad := []Config{
		{Alg: "HS256"}, {Alg: "none"}, {Alg: "rs256"}, {Alg: "PS256"},
		{Leeway: 61 * time.Second}, {Leeway: -time.Second},
		{Lifetime: 25 * time.Hour}, {Lifetime: -time.Second}, {Lifetime: time.Millisecond},
		{PublishDelay: -time.Second},
	}
	for _, cfg := range bad {
		if _, err := NewKeyring(st, cfg, nil); err == nil {
			t.Errorf("NewKeyring(%+v) accepted", cfg)
		}
	}
	if _, err := NewKeyring(nil, Config{}, nil); err == nil {
		t.Error("NewKeyring(nil store) accepted")
	}
	k, err := NewKeyring(st, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if k.Alg() != AlgRS256 || k.Lifetime() != DefaultLifetime || k.cfg.Leeway != DefaultLeeway ||
		k.cfg.PublishDelay != DefaultPublishDelay {
		t.Errorf("defaults: %+v", k.cfg)
	}
	if _, err := NewKeyring(st, Config{Leeway: MaxLeeway}, nil); err != nil {
		t.Errorf("leeway 60s rejected: %v", err)
	}
}

func TestMintValidation(t *testing.T) {
	k := newLoaded(t, bolttest.Open(t), Config{Alg: AlgEdDSA}, testenv.NewClock(testStart))
	for name, mut := range map[string]func(*Claims){
		"no issuer":  func(c *Claims) { c.Issuer = "" },
		"no subject": func(c *Claims) { c.Subject = "" },
		"no session": func(c *Claims) { c.SessionID = "" },
		"bad status": func(c *Claims) { c.Status = "revoked" },
		"no status":  func(c *Claims) { c.Status = "" },
		"too big":    func(c *Claims) { c.Subject = strings.Repeat("x", MaxTokenSize) },
	} {
		c := baseClaims()
		mut(&c)
		if _, _, err := k.Mint(context.Background(), c); err == nil {
			t.Errorf("%s: Mint accepted", name)
		}
	}
}

func TestNotLoaded(t *testing.T) {
	st := bolttest.Open(t)
	k, err := NewKeyring(st, Config{Alg: AlgEdDSA}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := k.Mint(context.Background(), baseClaims()); err == nil {
		t.Error("Mint before Load succeeded")
	}
	other := newLoaded(t, st, Config{Alg: AlgEdDSA}, nil)
	tok, _ := mint(t, other, baseClaims())
	if _, err := k.Verify(context.Background(), tok, testIssuer); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify before Load: %v", err)
	}
	if string(k.JWKS()) != `{"keys":[]}` {
		t.Errorf("JWKS before Load = %s", k.JWKS())
	}
	if err := k.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Verify(context.Background(), tok, testIssuer); err != nil {
		t.Errorf("Verify after Load: %v", err)
	}
}

// TestJWKS covers C-38: only public members, RSA >= 2048 bits, and the set
// verifies minted tokens with a stock jwx verifier (what an upstream does).
func TestJWKS(t *testing.T) {
	private := []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"}
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			k := newLoaded(t, bolttest.Open(t), Config{Alg: alg}, testenv.NewClock(testStart))
			body := k.JWKS()
			var doc struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatalf("JWKS not JSON: %v: %s", err, body)
			}
			if len(doc.Keys) != 1 {
				t.Fatalf("JWKS has %d keys, want 1", len(doc.Keys))
			}
			key := doc.Keys[0]
			for _, m := range private {
				if _, ok := key[m]; ok {
					t.Errorf("JWKS key has private member %q", m)
				}
			}
			wantMembers := map[string][]string{
				AlgRS256: {"alg", "e", "kid", "kty", "n", "use"},
				AlgEdDSA: {"alg", "crv", "kid", "kty", "use", "x"},
				AlgES256: {"alg", "crv", "kid", "kty", "use", "x", "y"},
			}[alg]
			var members []string
			for m := range key {
				members = append(members, m)
			}
			slices.Sort(members)
			if !slices.Equal(members, wantMembers) {
				t.Errorf("JWKS members %v, want %v", members, wantMembers)
			}
			if key["kid"] != activeKid(k) || key["alg"] != alg || key["use"] != "sig" {
				t.Errorf("JWKS key kid/alg/use = %v/%v/%v", key["kid"], key["alg"], key["use"])
			}
			switch alg {
			case AlgRS256:
				n, err := base64.RawURLEncoding.DecodeString(key["n"].(string))
				if err != nil {
					t.Fatal(err)
				}
				if bits := new(big.Int).SetBytes(n).BitLen(); bits < 2048 {
					t.Errorf("RSA modulus %d bits, want >= 2048", bits)
				}
				if key["kty"] != "RSA" {
					t.Errorf("kty %v", key["kty"])
				}
			case AlgEdDSA:
				if key["kty"] != "OKP" || key["crv"] != "Ed25519" {
					t.Errorf("kty/crv %v/%v", key["kty"], key["crv"])
				}
			case AlgES256:
				if key["kty"] != "EC" || key["crv"] != "P-256" {
					t.Errorf("kty/crv %v/%v", key["kty"], key["crv"])
				}
			}
			// Serving the private record's bytes by mistake would show here too.
			if strings.Contains(string(body), `"d"`) {
				t.Errorf("JWKS body contains a d member: %s", body)
			}

			set, err := jwk.Parse(body)
			if err != nil {
				t.Fatalf("jwk.Parse(JWKS): %v", err)
			}
			tok, _ := mint(t, k, baseClaims())
			if _, err := jws.Verify([]byte(tok), jws.WithKeySet(set)); err != nil {
				t.Errorf("stock jwx verify with JWKS: %v", err)
			}
			// Returned bytes are a copy.
			body[0] = 'X'
			if k.JWKS()[0] != '{' {
				t.Error("JWKS returned shared bytes")
			}
		})
	}
}

// TestTwoInstancesShareKey: two Keyrings on one store, loading at the same
// time, end up with the same single key, and each verifies the other's tokens.
func TestTwoInstancesShareKey(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			st := bolttest.Open(t)
			clk := testenv.NewClock(testStart)
			var a, b *Keyring
			for _, p := range []**Keyring{&a, &b} {
				k, err := NewKeyring(st, Config{Alg: alg, Now: clk.Now}, zap.NewNop())
				if err != nil {
					t.Fatal(err)
				}
				*p = k
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, k := range []*Keyring{a, b} {
				wg.Go(func() { errs[i] = k.Load(context.Background()) })
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
			}
			if string(a.JWKS()) != string(b.JWKS()) {
				t.Errorf("instances publish different JWKS:\n%s\n%s", a.JWKS(), b.JWKS())
			}
			if activeKid(a) != activeKid(b) {
				t.Errorf("active kids differ: %s vs %s", activeKid(a), activeKid(b))
			}
			rec := storedRecord(t, st, alg)
			if len(rec.Keys) != 1 || rec.ActiveKID != activeKid(a) || rec.Keys[0].KID != rec.ActiveKID {
				t.Errorf("store record: %d keys, active %q", len(rec.Keys), rec.ActiveKID)
			}
			tokA, clA := mint(t, a, baseClaims())
			if got, err := b.Verify(context.Background(), tokA, testIssuer); err != nil || got != clA {
				t.Errorf("B verifying A's token: %+v %v", got, err)
			}
			tokB, clB := mint(t, b, baseClaims())
			if got, err := a.Verify(context.Background(), tokB, testIssuer); err != nil || got != clB {
				t.Errorf("A verifying B's token: %+v %v", got, err)
			}
		})
	}
}

// TestAlgorithmsAreSeparate: a key record per algorithm; an RS256 keyring
// and an EdDSA keyring on the same store do not accept each other's tokens.
func TestAlgorithmsAreSeparate(t *testing.T) {
	st := bolttest.Open(t)
	rs := newLoaded(t, st, Config{Alg: AlgRS256}, testenv.NewClock(testStart))
	ed := newLoaded(t, st, Config{Alg: AlgEdDSA}, testenv.NewClock(testStart))
	tok, _ := mint(t, rs, baseClaims())
	if _, err := ed.Verify(context.Background(), tok, testIssuer); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("EdDSA keyring accepted an RS256 token: %v", err)
	}
	tok, _ = mint(t, ed, baseClaims())
	if _, err := rs.Verify(context.Background(), tok, testIssuer); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("RS256 keyring accepted an EdDSA token: %v", err)
	}
}

// TestLoadRejectsBadRecords: a corrupt or weak key record fails Load
// instead of being used.
func TestLoadRejectsBadRecords(t *testing.T) {
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weakJWK, err := jwk.FromRaw(weak)
	if err != nil {
		t.Fatal(err)
	}
	_ = weakJWK.Set(jwk.KeyIDKey, "ins_weak")
	_ = weakJWK.Set(jwk.AlgorithmKey, jwa.RS256)
	pubOnly, err := jwk.FromRaw(&weak.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	_ = pubOnly.Set(jwk.KeyIDKey, "ins_pub")
	good, err := generate(jwa.RS256)
	if err != nil {
		t.Fatal(err)
	}
	ed, err := generate(jwa.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(keys ...storedKey) string {
		return string(mustJSON(t, keyRecord{ActiveKID: keys[0].KID, Keys: keys}))
	}
	cases := map[string]string{
		"garbage":       "not json",
		"no keys":       `{"active_kid":"x","keys":[]}`,
		"rsa 1024":      rec(storedKey{KID: "ins_weak", PrivateJWK: mustJSON(t, weakJWK)}),
		"public only":   rec(storedKey{KID: "ins_pub", PrivateJWK: mustJSON(t, pubOnly)}),
		"wrong alg key": rec(ed),
		"kid mismatch":  rec(storedKey{KID: "ins_other", PrivateJWK: good.PrivateJWK}),
		"duplicate kid": rec(good, good),
		"bad jwk":       rec(storedKey{KID: "ins_x", PrivateJWK: json.RawMessage(`{"kty":"RSA"}`)}),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			st := bolttest.Open(t)
			if err := st.Put(context.Background(), "keys:RS256", []byte(data), 0); err != nil {
				t.Fatal(err)
			}
			k, err := NewKeyring(st, Config{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := k.Load(context.Background()); err == nil {
				t.Error("Load accepted the record")
			}
			if _, _, err := k.Mint(context.Background(), baseClaims()); err == nil {
				t.Error("Mint works after a failed Load")
			}
		})
	}
}

// TestStoreUnavailable: Load and Refresh report a closed store with
// store.ErrUnavailable; keys already loaded keep verifying.
func TestStoreUnavailable(t *testing.T) {
	st := bolttest.Open(t)
	k := newLoaded(t, st, Config{Alg: AlgEdDSA}, testenv.NewClock(testStart))
	tok, _ := mint(t, k, baseClaims())
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := k.Refresh(context.Background()); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Refresh on closed store: %v", err)
	}
	if _, err := k.Verify(context.Background(), tok, testIssuer); err != nil {
		t.Errorf("Verify after failed Refresh: %v", err)
	}
	k2, err := NewKeyring(st, Config{Alg: AlgEdDSA}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := k2.Load(context.Background()); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Load on closed store: %v", err)
	}
	// Unknown kid with the store down: rejected, and the reason says so.
	other := newLoaded(t, bolttest.Open(t), Config{Alg: AlgEdDSA}, testenv.NewClock(testStart))
	tok2, _ := mint(t, other, baseClaims())
	_, err = k.Verify(context.Background(), tok2, testIssuer)
	if !errors.Is(err, ErrInvalidToken) || !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("unknown kid with store down: %v", err)
	}
}

// TestLeewayBoundary60 is C-34 with the maximum leeway: exp gets none
// (exp-1 s accepted, exp rejected, so revocation holds at token_lifetime);
// before issue (iat, the stricter of iat and nbf = iat-10 s) 59 s accepted,
// 61 s rejected.
func TestLeewayBoundary60(t *testing.T) {
	clk := testenv.NewClock(testStart)
	k := newLoaded(t, bolttest.Open(t), Config{Alg: AlgEdDSA, Leeway: 60 * time.Second, CacheSize: -1}, clk)
	start := clk.Now()
	tok, cl := mint(t, k, baseClaims())
	ctx := context.Background()
	for _, tc := range []struct {
		at time.Time
		ok bool
	}{
		{cl.Expiry.Add(-time.Second), true},
		{cl.Expiry, false},
		{cl.Expiry.Add(59 * time.Second), false},
		{cl.IssuedAt.Add(-59 * time.Second), true},
		{cl.IssuedAt.Add(-61 * time.Second), false},
	} {
		clk.Set(tc.at)
		_, err := k.Verify(ctx, tok, testIssuer)
		if (err == nil) != tc.ok {
			t.Errorf("at %s after mint: err=%v, want ok=%v", tc.at.Sub(start), err, tc.ok)
		}
	}
}
