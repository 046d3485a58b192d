package users_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/users"
)

// The shapes normalised identifiers must have, written independently of
// the normalisers: an email is lower-case visible ASCII with one '@' and a
// dotted domain, a phone number is E.164, a username 3 to 64 of a-z, 0-9,
// '_', '-' and '.'.
var (
	normalizedEmail    = regexp.MustCompile(`^[!-?\[-~]{1,64}@[a-z0-9-]+(\.[a-z0-9-]+)+$`)
	normalizedPhone    = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	normalizedUsername = regexp.MustCompile(`^[a-z0-9_.-]{3,64}$`)
)

// normalizers are the three per-kind normalisers and the shape of their
// output.
var normalizers = []struct {
	kind  users.Kind
	norm  func(string) (string, error)
	shape *regexp.Regexp
}{
	{users.KindEmail, users.NormalizeEmail, normalizedEmail},
	{users.KindPhone, users.NormalizePhone, normalizedPhone},
	{users.KindUsername, users.NormalizeUsername, normalizedUsername},
}

// FuzzIdentifier feeds arbitrary identifiers to Classify and to each
// normaliser. None may panic; every refusal is a form_param error naming
// its parameter; what is accepted has its kind's shape, normalising it
// again gives it back (idempotent) and Classify puts it in the same kind
// with the same value, so the value a user signs in with finds the record
// their sign-up wrote. Classify agrees with the normaliser of the kind it
// picks, ignores surrounding white space and, for ASCII input, letter case.
func FuzzIdentifier(f *testing.F) {
	for _, s := range []string{
		"alice@example.com", " Alice@Example.COM ", "alice+tag@sub.example.co.uk",
		"a@xn--bcher-kva.example", "alice@example.com.", "alice@@example.com",
		"Evil <evil@y.com>", `"a b"@example.com`, "a@x.com,evil@y.com",
		"alice@example.com\r\nBcc: evil@y.com", "аlice@example.com", "ａlice@example.com",
		"alice\u200b@example.com", "a@[127.0.0.1]", "a@localhost", "(c)a@b.co", "a(c)@b.co",
		"+4917667111638", "+49 176 671 11 638", "+1 (415) 555-2671", "＋４９１７６６７１１１６３８",
		"+39 06 1234 5678", "+31 06 12345678", "+44 0 20 7946 0958", "+1-800-FLOWERS", "+49 176;ext=1",
		"+", "+0", "+999999999999999999", "004917667111638",
		"alice", "Alice_01", "a.b-c", "ab", strings.Repeat("a", 65),
		"al ice", "alİce", "\u212aelvin", "", " ", "\x00", "\xff\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		kind, v, err := users.Classify(raw)
		checkRefusal(t, "Classify", raw, err, "identifier")
		if err == nil {
			checkNormalized(t, "Classify", raw, kind, v)
			for _, n := range normalizers {
				if n.kind == kind {
					if nv, nerr := n.norm(raw); nerr != nil || nv != v {
						t.Fatalf("Classify(%q) = %s %q but the %s normaliser gives %q, %v", raw, kind, v, kind, nv, nerr)
					}
				}
			}
		}
		if k2, v2, err2 := users.Classify(" \t" + raw + "\n "); k2 != kind || v2 != v || (err2 == nil) != (err == nil) {
			t.Fatalf("Classify changes with surrounding white space: %q gives %s %q %v, padded %s %q %v", raw, kind, v, err, k2, v2, err2)
		}
		if isASCII(raw) {
			for _, c := range []string{strings.ToUpper(raw), strings.ToLower(raw)} {
				if k2, v2, err2 := users.Classify(c); k2 != kind || v2 != v || (err2 == nil) != (err == nil) {
					t.Fatalf("Classify depends on case: %q gives %s %q %v, %q gives %s %q %v", raw, kind, v, err, c, k2, v2, err2)
				}
			}
		}
		for _, n := range normalizers {
			nv, nerr := n.norm(raw)
			checkRefusal(t, string(n.kind), raw, nerr, string(n.kind))
			if nerr == nil {
				checkNormalized(t, string(n.kind), raw, n.kind, nv)
			}
		}
	})
}

// checkRefusal wants err, if any, to be a form_param error about param.
func checkRefusal(t *testing.T, fn, raw string, err error, param string) {
	t.Helper()
	if err == nil {
		return
	}
	e := apierr.From(err)
	if !strings.HasPrefix(e.Code, "form_param_") || e.Meta["param_name"] != param {
		t.Fatalf("%s(%q): error %v (code %s, param %v), want a form_param error about %s", fn, raw, err, e.Code, e.Meta["param_name"], param)
	}
}

// checkNormalized checks an accepted value v of kind: its shape, that it
// normalises to itself and that Classify gives it back unchanged.
func checkNormalized(t *testing.T, fn, raw string, kind users.Kind, v string) {
	t.Helper()
	for _, n := range normalizers {
		if n.kind != kind {
			continue
		}
		if !n.shape.MatchString(v) {
			t.Fatalf("%s(%q) = %q, which is not a normalised %s", fn, raw, v, kind)
		}
		again, err := n.norm(v)
		if err != nil || again != v {
			t.Fatalf("%s(%q) = %q, but normalising that again gives %q, %v", fn, raw, v, again, err)
		}
		if k2, v2, err := users.Classify(v); err != nil || k2 != kind || v2 != v {
			t.Fatalf("%s(%q) = %s %q, but Classify of that gives %s %q, %v", fn, raw, kind, v, k2, v2, err)
		}
		return
	}
	t.Fatalf("%s(%q): unknown kind %q", fn, raw, kind)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
