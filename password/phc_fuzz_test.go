package password

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// canonicalPHC rewrites an argon2 PHC string the way it is meant to have
// one spelling, without the parser's code: parameters in the order m, t,
// p and base64 without padding.
func canonicalPHC(s string) string {
	parts := strings.Split(s, "$")
	if len(parts) != 6 {
		return ""
	}
	params := strings.Split(parts[3], ",")
	order := map[string]int{"m": 0, "t": 1, "p": 2}
	key := func(kv string) string { k, _, _ := strings.Cut(kv, "="); return k }
	slices.SortFunc(params, func(a, b string) int { return order[key(a)] - order[key(b)] })
	parts[3] = strings.Join(params, ",")
	parts[4] = strings.TrimRight(parts[4], "=")
	parts[5] = strings.TrimRight(parts[5], "=")
	return strings.Join(parts, "$")
}

// FuzzDigest feeds arbitrary stored or imported password digests to
// ParsePHC, CheckDigest and Verify. None panics and every refusal wraps
// ErrBadDigest. A PHC string that parses is within the package limits and
// has one spelling: re-encoding it gives the input up to parameter order
// and padding, and parses back to the same value. CheckDigest accepts a
// digest for one hasher at most, the one its format names, and only the
// three hasher names; what it accepts can be verified: Verify answers
// without error (for a digest cheap enough to compute here), and the
// seeds' own digests match their password.
func FuzzDigest(f *testing.F) {
	const pw = "correct horse battery staple"
	h := NewHasher(Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, 0)
	own, err := h.Hash(context.Background(), pw)
	if err != nil {
		f.Fatal(err)
	}
	b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		f.Fatal(err)
	}
	matching := map[string]bool{own: true, string(b): true}
	salt, key := "c29tZXNhbHRzYWx0", "R3BaM3NLL29IOXA3VklpVjU2Ry82NFpv"
	for _, s := range []string{
		own, string(b), "$2b$" + string(b)[4:], "$2y$" + string(b)[4:], "$2x$" + string(b)[4:],
		"$2a$15$" + string(b)[7:], "$2a$03$" + string(b)[7:], "$2a$4$" + string(b)[7:],
		"$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo",
		"$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
		"$argon2id$v=19$t=1,p=1,m=64$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "=$" + key + "==",
		"$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1,m=64$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1$" + salt + "$" + key,
		"$argon2id$v=19$m=4294967296,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=7,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=256$" + salt + "$" + key,
		"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "B",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key[:len(key)-1] + "p",
		"$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key,
		"", "$", "$$$$$", "plain", "$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA",
	} {
		f.Add(HasherArgon2id, s)
		f.Add(HasherBcrypt, s)
	}
	f.Add(HasherArgon2i, own)
	f.Add("md5", own)
	f.Add("", string(b))
	hashers := []string{HasherBcrypt, HasherArgon2id, HasherArgon2i}
	f.Fuzz(func(t *testing.T, hasher, digest string) {
		if p, err := ParsePHC(digest); err != nil {
			if !errors.Is(err, ErrBadDigest) {
				t.Fatalf("ParsePHC(%q): %v does not wrap ErrBadDigest", digest, err)
			}
		} else {
			if err := p.checkLimits(); err != nil || p.Version != 19 || (p.Algorithm != Argon2id && p.Algorithm != Argon2i) {
				t.Fatalf("ParsePHC(%q) = %+v, outside the limits (%v)", digest, p, err)
			}
			enc := p.String()
			if want := canonicalPHC(digest); enc != want {
				t.Fatalf("ParsePHC(%q) re-encodes as %q, want %q: the digest has another spelling", digest, enc, want)
			}
			if again, err := ParsePHC(enc); err != nil || !reflect.DeepEqual(again, p) {
				t.Fatalf("ParsePHC(%q) = %+v re-encodes as %q, which parses as %+v, %v", digest, p, enc, again, err)
			}
		}
		if err := CheckDigest(hasher, digest); err == nil && !slices.Contains(hashers, hasher) {
			t.Fatalf("CheckDigest accepted hasher %q", hasher)
		} else if err != nil && !errors.Is(err, ErrBadDigest) {
			t.Fatalf("CheckDigest(%q, %q): %v does not wrap ErrBadDigest", hasher, digest, err)
		}
		accepted := 0
		for _, name := range hashers {
			err := CheckDigest(name, digest)
			if err != nil {
				if !errors.Is(err, ErrBadDigest) {
					t.Fatalf("CheckDigest(%q, %q): %v does not wrap ErrBadDigest", name, digest, err)
				}
				continue
			}
			accepted++
			if name == HasherBcrypt {
				if _, err := bcrypt.Cost([]byte(digest)); err != nil || len(digest) != 60 {
					t.Fatalf("CheckDigest(bcrypt, %q) accepted what bcrypt refuses: %v", digest, err)
				}
			} else if p, err := ParsePHC(digest); err != nil || p.Algorithm != name {
				t.Fatalf("CheckDigest(%s, %q) accepted a digest that parses as %q, %v", name, digest, p.Algorithm, err)
			}
		}
		if accepted > 1 {
			t.Fatalf("CheckDigest accepted %q for %d hashers", digest, accepted)
		}
		if accepted == 1 && cheap(digest) {
			ok, _, err := h.Verify(context.Background(), pw, digest)
			if err != nil {
				t.Fatalf("Verify of accepted digest %q: %v", digest, err)
			}
			if matching[digest] && !ok {
				t.Fatalf("Verify(%q, %q) = false, want true", pw, digest)
			}
		}
	})
}

// cheap reports whether verifying digest costs at most a few
// milliseconds: bcrypt at cost 4 or 5, argon2 with t*m at most 1 MiB.
func cheap(digest string) bool {
	if strings.HasPrefix(digest, "$2") {
		c, err := bcrypt.Cost([]byte(digest))
		return err == nil && c <= 5
	}
	p, err := ParsePHC(digest)
	return err == nil && uint64(p.Time)*uint64(p.Memory) <= 1024
}
