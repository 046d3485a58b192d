package token

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/store/bolt/bolttest"
)

// fuzzSeeds returns a valid token of k and malformed variants of it.
func fuzzSeeds(t testing.TB, k *Keyring, good string) []string {
	p := strings.Split(good, ".")
	return []string{
		good,
		"",
		".",
		"..",
		"a.b.c",
		"garbage",
		p[0] + "." + p[1],
		p[0] + "." + p[1] + ".",
		good + ".",
		good + "\n",
		" " + good,
		p[0] + "=." + p[1] + "." + p[2],
		strings.ReplaceAll(good, "-", "+"),
		`{"payload":"` + p[1] + `","signatures":[{"protected":"` + p[0] + `","signature":"` + p[2] + `"}]}`,
		enc([]byte(`{"alg":"none","kid":"x","typ":"JWT"}`)) + "." + p[1] + ".",
		enc([]byte(`{"alg":"HS256","kid":"`+activeKid(k)+`","typ":"JWT"}`)) + "." + p[1] + "." + p[2],
		enc([]byte(`{"alg":"RS256","kid":"../../dev/null","typ":"JWT"}`)) + "." + p[1] + "." + p[2],
		p[0] + "." + enc([]byte(`{"sub":"admin","exp":99999999999}`)) + "." + p[2],
		p[0] + "." + p[1] + "." + strings.Repeat("A", len(p[2])),
	}
}

// fuzzKeyring returns a keyring of alg on a fixed clock and the token it
// minted, with the seeds of that token added to f. The verify cache is off
// so every input reaches the parser.
func fuzzKeyring(f *testing.F, alg string) (k *Keyring, good string, want Claims) {
	f.Helper()
	k = newLoaded(f, bolttest.Open(f), Config{Alg: alg, CacheSize: -1}, testenv.NewClock(testStart))
	good, want = mint(f, k, baseClaims())
	for _, s := range fuzzSeeds(f, k, good) {
		f.Add(s)
	}
	return k, good, want
}

// FuzzVerify (C-32, C-33): Verify never panics, every failure wraps
// ErrInvalidToken, and no input other than the minted token verifies
// (RS256 signatures and strict base64url are not malleable), so no
// mutation can yield different claims.
func FuzzVerify(f *testing.F) {
	k, good, want := fuzzKeyring(f, AlgRS256)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, tok string) {
		cl, err := k.Verify(ctx, tok, testIssuer)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error does not wrap ErrInvalidToken: %v", err)
			}
			if cl != (Claims{}) {
				t.Fatalf("claims returned with error: %+v", cl)
			}
			return
		}
		if cl != want {
			t.Fatalf("input verified with different claims: %+v, want %+v", cl, want)
		}
		if tok != good {
			t.Fatalf("a token other than the minted one verified: %q", tok)
		}
	})
}

// FuzzParseJWT (C-33) fuzzes the parsing layers below the signature check
// (framing, header, claims): no panic, and whatever they accept satisfies
// their invariants.
func FuzzParseJWT(f *testing.F) {
	k, _, _ := fuzzKeyring(f, AlgEdDSA)
	f.Add(`{"iss":"a","sub":"b","sid":"c","sts":"active","v":2,"iat":10,"nbf":0,"exp":20,"jti":"j"}`)
	f.Add(`{"sub":"a","sub":"b"}`)
	f.Add(`{"alg":"EdDSA","kid":"k","typ":"JWT"}`)
	f.Fuzz(func(t *testing.T, s string) {
		if h, p, sig, err := splitCompact(s); err == nil {
			if h == "" || p == "" || sig == "" || h+"."+p+"."+sig != s {
				t.Fatalf("bad split of %q", s)
			}
			for i := 0; i < len(s); i++ {
				c := s[i]
				if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
					t.Fatalf("accepted char %q", c)
				}
			}
			if raw, err := decodeSegment(p, "payload"); err == nil && b64.EncodeToString(raw) != p {
				t.Fatalf("non-canonical base64url accepted: %q", p)
			}
		} else if !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("split error does not wrap ErrInvalidToken: %v", err)
		}
		if kid, err := k.parseHeader([]byte(s)); err == nil && kid == "" {
			t.Fatalf("header accepted with empty kid: %q", s)
		}
		cl, err := parseClaims([]byte(s))
		if err != nil {
			return
		}
		switch {
		case cl.Issuer == "" || cl.Subject == "" || cl.SessionID == "" || cl.ID == "":
			t.Fatalf("claims accepted with an empty member: %+v", cl)
		case cl.Status != StatusActive && cl.Status != StatusPending:
			t.Fatalf("claims accepted with sts %q", cl.Status)
		case cl.NotBefore.After(cl.IssuedAt) || !cl.IssuedAt.Before(cl.Expiry):
			t.Fatalf("claims accepted with bad times: %+v", cl)
		case cl.Expiry.Sub(cl.IssuedAt) > MaxLifetime:
			t.Fatalf("claims accepted with lifetime %s", cl.Expiry.Sub(cl.IssuedAt))
		}
	})
}
