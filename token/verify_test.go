package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// verifyCase is one row of the bad-token table: make builds the token from
// the fixture; ok says whether Verify must accept it.
type verifyCase struct {
	name string
	make func(t *testing.T, f *fixture) string
	ok   bool
	// issuer overrides testIssuer for this case.
	issuer string
}

func TestVerifyBadTokens(t *testing.T) {
	f := newFixture(t)
	rsKid := func() string { return activeKid(f.rs) }
	rsPub := f.rs.set.Load().signer(f.clk.Now()).pub.(*rsa.PublicKey)
	pkix, err := x509.MarshalPKIXPublicKey(rsPub)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := x509.MarshalPKCS1PublicKey(rsPub)
	pemPKIX := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	pemPKCS1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1})
	hsHeader := func() string { return `{"alg":"HS256","kid":"` + rsKid() + `","typ":"JWT"}` }
	payload := func() string { return payloadAt(t, f.rs, f.clk.Now(), nil) }
	goodSig := func() string { return segments(t, f.good)[2] }
	noneWith := func(alg string, sig string) string {
		h := `{"alg":` + alg + `,"kid":"` + rsKid() + `","typ":"JWT"}`
		if alg == "" {
			h = `{"kid":"` + rsKid() + `","typ":"JWT"}`
		}
		return enc([]byte(h)) + "." + enc([]byte(payload())) + "." + sig
	}

	cases := []verifyCase{
		{name: "valid token", ok: true, make: func(t *testing.T, f *fixture) string { return f.good }},

		// C-32: only the configured algorithm.
		{name: "alg none, empty sig", make: func(t *testing.T, f *fixture) string { return noneWith(`"none"`, "") }},
		{name: "alg none, real sig", make: func(t *testing.T, f *fixture) string { return noneWith(`"none"`, goodSig()) }},
		{name: "alg None", make: func(t *testing.T, f *fixture) string { return noneWith(`"None"`, goodSig()) }},
		{name: "alg NONE", make: func(t *testing.T, f *fixture) string { return noneWith(`"NONE"`, goodSig()) }},
		{name: "alg noNE", make: func(t *testing.T, f *fixture) string { return noneWith(`"noNE"`, goodSig()) }},
		{name: "alg empty string", make: func(t *testing.T, f *fixture) string { return noneWith(`""`, goodSig()) }},
		{name: "alg missing", make: func(t *testing.T, f *fixture) string { return noneWith(``, goodSig()) }},
		{name: "alg null", make: func(t *testing.T, f *fixture) string { return noneWith(`null`, goodSig()) }},
		{name: "alg rs256 lowercase", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"rs256","kid":"`+rsKid()+`","typ":"JWT"}`)
		}},
		{name: "alg none signed properly otherwise", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"none","kid":"`+rsKid()+`","typ":"JWT"}`)
		}},
		{name: "HS256 with PEM PKIX public key", make: func(t *testing.T, f *fixture) string { return hs256(hsHeader(), payload(), pemPKIX) }},
		{name: "HS256 with PEM PKCS1 public key", make: func(t *testing.T, f *fixture) string { return hs256(hsHeader(), payload(), pemPKCS1) }},
		{name: "HS256 with DER PKIX public key", make: func(t *testing.T, f *fixture) string { return hs256(hsHeader(), payload(), pkix) }},
		{name: "HS256 with DER PKCS1 public key", make: func(t *testing.T, f *fixture) string { return hs256(hsHeader(), payload(), pkcs1) }},
		{name: "HS256 header with RS256 alg claim swap", make: func(t *testing.T, f *fixture) string {
			// HMAC-signed but the header says RS256: the RSA verifier must fail.
			return hs256(`{"alg":"RS256","kid":"`+rsKid()+`","typ":"JWT"}`, payload(), pemPKIX)
		}},
		{name: "PS256 with the RSA key", make: func(t *testing.T, f *fixture) string {
			h := `{"alg":"PS256","kid":"` + rsKid() + `","typ":"JWT"}`
			return signCompact(t, jwa.PS256, h, payload(), f.rs.set.Load().signer(f.clk.Now()).priv)
		}},
		{name: "duplicate alg member", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"none","alg":"RS256","kid":"`+rsKid()+`","typ":"JWT"}`)
		}},

		// C-33: exact compact serialization.
		{name: "2 segments", make: func(t *testing.T, f *fixture) string {
			p := segments(t, f.good)
			return p[0] + "." + p[1]
		}},
		{name: "4 segments", make: func(t *testing.T, f *fixture) string { return f.good + ".AAAA" }},
		{name: "5 segments (JWE shape)", make: func(t *testing.T, f *fixture) string {
			p := segments(t, f.good)
			return p[0] + ".." + p[1] + "." + p[2] + ".AAAA"
		}},
		{name: "empty signature a.b.", make: func(t *testing.T, f *fixture) string {
			p := segments(t, f.good)
			return p[0] + "." + p[1] + "."
		}},
		{name: "empty payload", make: func(t *testing.T, f *fixture) string {
			p := segments(t, f.good)
			return p[0] + ".." + p[2]
		}},
		{name: "extra dot", make: func(t *testing.T, f *fixture) string { return strings.Replace(f.good, ".", "..", 1) }},
		{name: "leading space", make: func(t *testing.T, f *fixture) string { return " " + f.good }},
		{name: "trailing newline", make: func(t *testing.T, f *fixture) string { return f.good + "\n" }},
		{name: "trailing CRLF", make: func(t *testing.T, f *fixture) string { return f.good + "\r\n" }},
		{name: "Bearer prefix", make: func(t *testing.T, f *fixture) string { return "Bearer " + f.good }},
		{name: "= padding on signature", make: func(t *testing.T, f *fixture) string {
			p := segments(t, f.good)
			sig, _ := base64.RawURLEncoding.DecodeString(p[2])
			return p[0] + "." + p[1] + "." + base64.URLEncoding.EncodeToString(sig) + "=="
		}},
		{name: "= padding on header", make: func(t *testing.T, f *fixture) string {
			p := segments(t, f.good)
			h, _ := base64.RawURLEncoding.DecodeString(p[0])
			return base64.URLEncoding.EncodeToString(h) + "=." + p[1] + "." + p[2]
		}},
		{name: "standard base64 alphabet", make: func(t *testing.T, f *fixture) string {
			// Re-encode the signature with +/ (a valid signature in the wrong alphabet).
			for {
				tok, _ := mint(t, f.rs, baseClaims())
				p := segments(t, tok)
				sig, _ := base64.RawURLEncoding.DecodeString(p[2])
				std := base64.RawStdEncoding.EncodeToString(sig)
				if std != p[2] {
					return p[0] + "." + p[1] + "." + std
				}
			}
		}},
		{name: "non-canonical base64 trailing bits", make: func(t *testing.T, f *fixture) string {
			// The last char of a 256-byte signature carries 2 bits; flipping
			// a padding bit decodes to the same bytes with lax decoders.
			p := segments(t, f.good)
			last := p[2][len(p[2])-1]
			alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			idx := strings.IndexByte(alphabet, last)
			return p[0] + "." + p[1] + "." + p[2][:len(p[2])-1] + string(alphabet[idx|1])
		}},
		{name: "JSON serialization", make: func(t *testing.T, f *fixture) string {
			key := f.rs.set.Load().signer(f.clk.Now())
			hdr := jws.NewHeaders()
			_ = hdr.Set(jws.KeyIDKey, key.kid)
			_ = hdr.Set(jws.TypeKey, "JWT")
			b, err := jws.Sign([]byte(payload()), jws.WithJSON(), jws.WithKey(jwa.RS256, key.priv, jws.WithProtectedHeaders(hdr)))
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}},
		{name: "UTF-8 BOM prefix", make: func(t *testing.T, f *fixture) string { return "\ufeff" + f.good }},
		{name: "BOM inside header JSON", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, "\ufeff"+stdHeader(f.rs))
		}},
		{name: "1 MB token", make: func(t *testing.T, f *fixture) string {
			return f.good[:strings.LastIndexByte(f.good, '.')] + "." + strings.Repeat("A", 1<<20)
		}},
		{name: "8 KB + 1 token", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"pad": strings.Repeat("x", MaxTokenSize)})
		}},
		{name: "empty string", make: func(t *testing.T, f *fixture) string { return "" }},
		{name: "only dots", make: func(t *testing.T, f *fixture) string { return ".." }},
		{name: "NUL byte", make: func(t *testing.T, f *fixture) string { return f.good[:10] + "\x00" + f.good[10:] }},

		// C-36: kid is attacker input, resolved only in our key set.
		{name: "unknown kid", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"RS256","kid":"ins_UNKNOWN","typ":"JWT"}`)
		}},
		{name: "kid path traversal", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"RS256","kid":"../../dev/null","typ":"JWT"}`)
		}},
		{name: "kid SQL injection", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"RS256","kid":"' OR '1'='1","typ":"JWT"}`)
		}},
		{name: "kid with quote and NUL", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"RS256","kid":"a\"b\u0000c","typ":"JWT"}`)
		}},
		{name: "kid empty", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"RS256","kid":"","typ":"JWT"}`)
		}},
		{name: "kid missing", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"RS256","typ":"JWT"}`)
		}},
		{name: "kid not a string", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"RS256","kid":1,"typ":"JWT"}`)
		}},
		{name: "kid of our key plus suffix", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"RS256","kid":"`+rsKid()+` ","typ":"JWT"}`)
		}},

		// J-7: jwk/jku/x5u/x5c are never followed or trusted.
		{name: "embedded jwk with attacker key", make: func(t *testing.T, f *fixture) string {
			return embeddedJWK(t, payload(), "attacker", "attacker")
		}},
		{name: "embedded jwk with our kid, attacker signature", make: func(t *testing.T, f *fixture) string {
			return embeddedJWK(t, payload(), "", rsKid())
		}},
		{name: "attacker signature without extra headers", make: func(t *testing.T, f *fixture) string {
			attacker, _ := rsa.GenerateKey(rand.Reader, 2048)
			return signCompact(t, f.rs.alg, stdHeader(f.rs), payload(), attacker)
		}},
		{name: "jku header (signed by us)", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"RS256","jku":"http://127.0.0.1/jwks","kid":"`+rsKid()+`","typ":"JWT"}`)
		}},
		{name: "x5u header", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"RS256","x5u":"http://169.254.169.254/","kid":"`+rsKid()+`","typ":"JWT"}`)
		}},
		{name: "x5c header", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"RS256","x5c":["MIIB"],"kid":"`+rsKid()+`","typ":"JWT"}`)
		}},
		{name: "crit exp", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"RS256","crit":["exp"],"exp":1,"kid":"`+rsKid()+`","typ":"JWT"}`)
		}},
		{name: "zip DEF", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"RS256","zip":"DEF","kid":"`+rsKid()+`","typ":"JWT"}`)
		}},
		{name: "b64 false", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"RS256","b64":false,"crit":["b64"],"kid":"`+rsKid()+`","typ":"JWT"}`)
		}},
		{name: "cty JWT nested", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"RS256","cty":"JWT","kid":"`+rsKid()+`","typ":"JWT"}`)
		}},
		{name: "enc member (JWE)", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"RS256","enc":"A256GCM","kid":"`+rsKid()+`","typ":"JWT"}`)
		}},
		{name: "header not an object", make: func(t *testing.T, f *fixture) string {
			return signRaw(t, f.rs, `["RS256"]`, payload())
		}},
		{name: "header trailing data", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, stdHeader(f.rs)+`{}`)
		}},
		{name: "header trailing comma", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, strings.TrimSuffix(stdHeader(f.rs), "}")+`,}`)
		}},

		// C-35: typ.
		{name: "typ missing", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"RS256","kid":"`+rsKid()+`"}`)
		}},
		{name: "typ lowercase jwt", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"RS256","kid":"`+rsKid()+`","typ":"jwt"}`)
		}},
		{name: "typ of another token kind", make: func(t *testing.T, f *fixture) string {
			return withHeader(t, f.rs, `{"alg":"RS256","kid":"`+rsKid()+`","typ":"authgate-task+jwt"}`)
		}},

		// C-34: time claims (leeway 5 s, lifetime 60 s).
		{name: "exp missing", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"exp": nil})
		}},
		{name: "exp as string", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"exp": itoa(f.clk.Now().Unix() + 60)})
		}},
		{name: "exp as float", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"exp": float64(f.clk.Now().Unix()) + 60.5})
		}},
		{name: "exp null", make: func(t *testing.T, f *fixture) string {
			return signRaw(t, f.rs, stdHeader(f.rs), strings.Replace(payload(), `"exp":`, `"exp":null,"x":`, 1))
		}},
		{name: "exp negative", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"exp": -1})
		}},
		{name: "exp 1e300", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"exp": 1e300})
		}},
		{name: "exp year 9999", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"exp": int64(253402300000)})
		}},
		{name: "exp beyond max lifetime", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"exp": f.clk.Now().Add(MaxLifetime + time.Second).Unix()})
		}},
		{name: "EXP uppercase only", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"exp": nil, "EXP": f.clk.Now().Unix() + 60})
		}},
		{name: "exp in the past beyond leeway", make: func(t *testing.T, f *fixture) string {
			now := f.clk.Now()
			return signRaw(t, f.rs, stdHeader(f.rs), payloadAt(t, f.rs, now.Add(-66*time.Second), nil)) // exp = now-6s
		}},
		{name: "exp at exactly leeway", make: func(t *testing.T, f *fixture) string {
			now := f.clk.Now()
			return signRaw(t, f.rs, stdHeader(f.rs), payloadAt(t, f.rs, now.Add(-65*time.Second), nil)) // exp = now-5s
		}},
		{name: "exp passed by less than the leeway (no leeway on exp)", make: func(t *testing.T, f *fixture) string {
			now := f.clk.Now()
			return signRaw(t, f.rs, stdHeader(f.rs), payloadAt(t, f.rs, now.Add(-64*time.Second), nil)) // exp = now-4s
		}},
		{name: "nbf in the future", make: func(t *testing.T, f *fixture) string {
			now := f.clk.Now()
			return withClaims(t, f.rs, map[string]any{"nbf": now.Add(20 * time.Second).Unix(), "iat": now.Add(20 * time.Second).Unix()})
		}},
		{name: "nbf after iat", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"nbf": f.clk.Now().Unix() + 1})
		}},
		{name: "iat in the future", make: func(t *testing.T, f *fixture) string {
			now := f.clk.Now()
			return signRaw(t, f.rs, stdHeader(f.rs), payloadAt(t, f.rs, now.Add(30*time.Second), map[string]any{"nbf": now.Unix()}))
		}},
		{name: "iat within leeway in the future", ok: true, make: func(t *testing.T, f *fixture) string {
			now := f.clk.Now()
			return signRaw(t, f.rs, stdHeader(f.rs), payloadAt(t, f.rs, now.Add(4*time.Second), map[string]any{"nbf": now.Unix()}))
		}},
		{name: "iat missing", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"iat": nil})
		}},
		{name: "nbf missing", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"nbf": nil})
		}},

		// C-35: issuer, audience, and our own claims.
		{name: "wrong iss", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"iss": "https://evil.example.com"})
		}},
		{name: "iss trailing slash", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"iss": testIssuer + "/"})
		}},
		{name: "iss missing", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"iss": nil})
		}},
		{name: "valid token, other wanted issuer", issuer: "https://other.example.com",
			make: func(t *testing.T, f *fixture) string { return f.good }},
		{name: "valid token, empty wanted issuer", issuer: "-",
			make: func(t *testing.T, f *fixture) string { return f.good }},
		{name: "aud present", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"aud": "authgate-reset"})
		}},
		{name: "aud empty array", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"aud": []string{}})
		}},
		{name: "sts other", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"sts": "revoked"})
		}},
		{name: "sts Active", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"sts": "Active"})
		}},
		{name: "sts missing", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"sts": nil})
		}},
		{name: "sub empty", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"sub": ""})
		}},
		{name: "sub not a string", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"sub": 123})
		}},
		{name: "sub deeply nested", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"sub": nested(500)})
		}},
		{name: "sid missing", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"sid": nil})
		}},
		{name: "jti missing", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"jti": nil})
		}},
		{name: "v 1", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"v": 1})
		}},
		{name: "v as string", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"v": "2"})
		}},
		{name: "v missing", make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"v": nil})
		}},
		{name: "unknown claim ignored", ok: true, make: func(t *testing.T, f *fixture) string {
			return withClaims(t, f.rs, map[string]any{"fva": []int{1, -1}, "SUB": "admin"})
		}},
		{name: "duplicate sub", make: func(t *testing.T, f *fixture) string {
			return signRaw(t, f.rs, stdHeader(f.rs), strings.Replace(payload(), `"sub":"user_123"`, `"sub":"user_123","sub":"admin"`, 1))
		}},
		{name: "payload not an object", make: func(t *testing.T, f *fixture) string {
			return signRaw(t, f.rs, stdHeader(f.rs), `"hello"`)
		}},
		{name: "payload invalid UTF-8", make: func(t *testing.T, f *fixture) string {
			return signRaw(t, f.rs, stdHeader(f.rs), strings.Replace(payload(), "user_123", "user_\xff23", 1))
		}},
		{name: "tampered payload", make: func(t *testing.T, f *fixture) string {
			p := segments(t, f.good)
			forged := payloadAt(t, f.rs, f.clk.Now(), map[string]any{"sub": "admin"})
			return p[0] + "." + enc([]byte(forged)) + "." + p[2]
		}},
		{name: "tampered header", make: func(t *testing.T, f *fixture) string {
			p := segments(t, f.good)
			h := `{"typ":"JWT","alg":"RS256","kid":"` + rsKid() + `"}` // same members, other bytes
			return enc([]byte(h)) + "." + p[1] + "." + p[2]
		}},
		{name: "signature of another token", make: func(t *testing.T, f *fixture) string {
			other, _ := mint(t, f.rs, baseClaims())
			return f.good[:strings.LastIndexByte(f.good, '.')] + "." + segments(t, other)[2]
		}},
		{name: "truncated signature", make: func(t *testing.T, f *fixture) string { return f.good[:len(f.good)-4] }},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := tc.make(t, f)
			iss := testIssuer
			switch tc.issuer {
			case "":
			case "-":
				iss = ""
			default:
				iss = tc.issuer
			}
			cl, err := f.rs.Verify(context.Background(), tok, iss)
			if tc.ok {
				if err != nil {
					t.Fatalf("rejected a token that must verify: %v", err)
				}
				if cl.Subject != "user_123" || cl.SessionID != "sess_456" {
					t.Errorf("claims %+v", cl)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", cl)
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error does not wrap ErrInvalidToken: %v", err)
			}
			t.Log(err)
			if cl != (Claims{}) {
				t.Errorf("claims returned with error: %+v", cl)
			}
			if len(tok) > 40 && strings.Contains(err.Error(), tok[len(tok)-20:]) {
				t.Errorf("error text contains the token: %v", err)
			}
		})
	}
}

// TestVerifyOtherAlgorithms covers algorithm confusion for EdDSA and ES256
// keyrings: RS256 tokens are rejected when EdDSA is configured, and an
// ES256 all-zero signature (CVE-2022-21449) is rejected.
func TestVerifyOtherAlgorithms(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	edKid, esKid := activeKid(f.ed), activeKid(f.es)

	edTok, _ := mint(t, f.ed, baseClaims())
	if _, err := f.ed.Verify(ctx, edTok, testIssuer); err != nil {
		t.Fatalf("valid EdDSA token: %v", err)
	}
	esTok, _ := mint(t, f.es, baseClaims())
	if _, err := f.es.Verify(ctx, esTok, testIssuer); err != nil {
		t.Fatalf("valid ES256 token: %v", err)
	}

	rsaKey := f.rs.set.Load().signer(f.clk.Now()).priv
	signWith := func(alg jwa.SignatureAlgorithm, header string, key any) string {
		return signCompact(t, alg, header, payloadAt(t, f.ed, f.clk.Now(), nil), key)
	}
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, otherEd, _ := ed25519.GenerateKey(rand.Reader)
	edPub := f.ed.set.Load().signer(f.clk.Now()).pub.(ed25519.PublicKey)
	esPayload := enc([]byte(payloadAt(t, f.es, f.clk.Now(), nil)))

	cases := []struct {
		name string
		k    *Keyring
		tok  string
	}{
		{"RS256 token (RS256 keyring) to EdDSA keyring", f.ed, f.good},
		{"RS256 alg with EdDSA kid, RSA signature", f.ed, signWith(jwa.RS256, `{"alg":"RS256","kid":"`+edKid+`","typ":"JWT"}`, rsaKey)},
		{"EdDSA alg, RSA kid, to EdDSA keyring", f.ed, signWith(jwa.EdDSA, `{"alg":"EdDSA","kid":"`+activeKid(f.rs)+`","typ":"JWT"}`, otherEd)},
		{"EdDSA signed by attacker key", f.ed, signWith(jwa.EdDSA, `{"alg":"EdDSA","kid":"`+edKid+`","typ":"JWT"}`, otherEd)},
		{"HS256 with the Ed25519 public key bytes", f.ed, hs256(`{"alg":"HS256","kid":"`+edKid+`","typ":"JWT"}`, payloadAt(t, f.ed, f.clk.Now(), nil), edPub)},
		{"alg Ed25519 (not configured)", f.ed, signWith(jwa.EdDSA, `{"alg":"Ed25519","kid":"`+edKid+`","typ":"JWT"}`, f.ed.set.Load().signer(f.clk.Now()).priv)},
		{"ES256 token to EdDSA keyring", f.ed, esTok},
		{"EdDSA token to ES256 keyring", f.es, edTok},
		{"ES256 r=s=0", f.es, enc([]byte(`{"alg":"ES256","kid":"`+esKid+`","typ":"JWT"}`)) + "." + esPayload + "." + enc(make([]byte, 64))},
		{"ES256 r=s=n", f.es, enc([]byte(`{"alg":"ES256","kid":"`+esKid+`","typ":"JWT"}`)) + "." + esPayload + "." + enc(append(elliptic.P256().Params().N.FillBytes(make([]byte, 32)), elliptic.P256().Params().N.FillBytes(make([]byte, 32))...))},
		{"ES256 DER-encoded signature", f.es, func() string {
			p := segments(t, esTok)
			raw, _ := base64.RawURLEncoding.DecodeString(p[2])
			der := append([]byte{0x30, 0x44, 0x02, 0x20}, raw[:32]...)
			der = append(append(der, 0x02, 0x20), raw[32:]...)
			return p[0] + "." + p[1] + "." + enc(der)
		}()},
		{"ES256 signed by attacker key", f.es, signWith(jwa.ES256, `{"alg":"ES256","kid":"`+esKid+`","typ":"JWT"}`, otherEC)},
		{"ES384 alg with ES256 key", f.es, signWith(jwa.ES256, `{"alg":"ES384","kid":"`+esKid+`","typ":"JWT"}`, f.es.set.Load().signer(f.clk.Now()).priv)},
		{"RS256 token to ES256 keyring", f.es, f.good},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := tc.k.Verify(ctx, tc.tok, testIssuer)
			if err == nil {
				t.Fatalf("accepted: %+v", cl)
			}
			t.Log(err)
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error does not wrap ErrInvalidToken: %v", err)
			}
		})
	}
}
