package users_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/password"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/bolt/bolttest"
	"github.com/authgate/authgate/users"
)

func TestNormalizeEmail(t *testing.T) {
	checkNormalize(t, "NormalizeEmail", users.NormalizeEmail, map[string]string{
		" Alice@Example.COM ":     "alice@example.com",
		"alice+x@example.com":     "alice+x@example.com",
		"a@xn--bcher-kva.example": "a@xn--bcher-kva.example",
	},
		"alice@example.com.", "alice@example.com\r\nBcc: evil@y.com", "a@x.com,evil@y.com", "Evil <evil@y.com>",
		"\"a b\"@example.com", "alice@localhost", "alice@exa_mple.com", "alice@@example.com", "",
		// Cyrillic а, fullwidth ａ, a zero-width space, a right-to-left override.
		"аlice@example.com", "ａlice@example.com", "alice\u200b@example.com", "alice\u202e@example.com",
		// A local part over 64 bytes, a domain over 253.
		strings.Repeat("a", 65)+"@example.com", "a@"+strings.Repeat("b", 250)+".com")
}

func TestNormalizePhone(t *testing.T) {
	checkNormalize(t, "NormalizePhone", users.NormalizePhone, map[string]string{
		"+4917667111638":     "+4917667111638",
		"+49 176 671 11 638": "+4917667111638",
		"+49-176-671-11-638": "+4917667111638",
		"+1 (415) 555-2671":  "+14155552671",
		"＋４９１７６６７１１１６３８":     "+4917667111638",
	},
		"004917667111638", "017667111638", "+1234567890123456789", "+49 176 671 11 638;ext=1", "+1-800-FLOWERS", "+", "")
}

// checkNormalize checks that normalize turns each key of accepted into its
// value and refuses each of refused with form_param_format_invalid.
func checkNormalize(t *testing.T, name string, normalize func(string) (string, error), accepted map[string]string, refused ...string) {
	t.Helper()
	for in, want := range accepted {
		if got, err := normalize(in); err != nil || got != want {
			t.Errorf("%s(%q) = %q, %v; want %q", name, in, got, err, want)
		}
	}
	for _, in := range refused {
		got, err := normalize(in)
		if err == nil {
			t.Errorf("%s(%q) = %q, want an error", name, in, got)
		} else if e := apierr.From(err); e.Code != "form_param_format_invalid" {
			t.Errorf("%s(%q): code %s", name, in, e.Code)
		}
	}
}

type pw struct{ h *password.Hasher }

func (p pw) Hash(ctx context.Context, s string) (string, error) { return p.h.Hash(ctx, s) }
func (p pw) Validate(_ context.Context, s string, _ []string) error {
	if len(s) < 8 {
		return apierr.FormPasswordLengthTooShort.WithParam("password")
	}
	return nil
}
func (p pw) CheckDigest(h, d string) error { return password.CheckDigest(h, d) }

func newService(st store.Store) *users.Service {
	cheap := password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	return users.NewService(st, pw{password.NewHasher(cheap, 2, 64)}, time.Now)
}

func TestCreateRejectsBadInput(t *testing.T) {
	svc := newService(bolttest.Open(t))
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		nu   users.NewUser
		code string
	}{
		{"no identifier", users.NewUser{Password: "long-enough-pw"}, "form_param_missing"},
		{"bad email", users.NewUser{Emails: []string{"not-an-email"}}, "form_param_format_invalid"},
		{"bad phone", users.NewUser{Phones: []string{"12345"}}, "form_param_format_invalid"},
		{"short password", users.NewUser{Emails: []string{"a@example.com"}, Password: "short"}, "form_password_length_too_short"},
		{"same email twice", users.NewUser{Emails: []string{"b@example.com", "B@example.com"}}, "form_identifier_exists"},
		{"bad digest", users.NewUser{Emails: []string{"c@example.com"}, PasswordDigest: "$2a$nope", PasswordHasher: "bcrypt"}, "form_param_format_invalid"},
	} {
		_, err := svc.Create(ctx, tc.nu)
		var e *apierr.Error
		if !errors.As(err, &e) || e.Code != tc.code {
			t.Errorf("%s: got %v, want %s", tc.name, err, tc.code)
		}
	}
}
