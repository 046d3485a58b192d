package handlers_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/password/breach"
	"github.com/authgate/authgate/users"
)

// Passwords: the breach check against a Pwned Passwords range API and its
// failure policy, and imported digests upgraded at sign-in.

// rangeAPI is a local Pwned Passwords range API: it knows the listed
// passwords, pads its answers with count-0 rows, and fails on demand.
func rangeAPI(t *testing.T, fail *bool, pwned ...string) *httptest.Server {
	t.Helper()
	suffixes := map[string][]string{}
	for _, p := range pwned {
		sum := sha1.Sum([]byte(p))
		h := strings.ToUpper(hex.EncodeToString(sum[:]))
		suffixes[h[:5]] = append(suffixes[h[:5]], h[5:])
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if *fail {
			http.Error(w, "upstream down", http.StatusInternalServerError)
			return
		}
		prefix := strings.TrimPrefix(r.URL.Path, "/range/")
		if len(prefix) != 5 || r.Header.Get("Add-Padding") != "true" {
			t.Errorf("bad range request %q padding=%q", r.URL.Path, r.Header.Get("Add-Padding"))
		}
		for _, s := range suffixes[prefix] {
			fmt.Fprintf(w, "%s:42\r\n", s)
		}
		for i := range 5 {
			fmt.Fprintf(w, "%035X:0\r\n", i)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestHIBPBreachSourceAndItsFailurePolicy(t *testing.T) {
	for _, tc := range []struct {
		policy   string
		downCode string
		downWant int
	}{
		{"refuse", "password_check_unavailable", 503},
		{"accept", "", 200},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			fail := false
			api := rangeAPI(t, &fail, "Tr0ub4dor&3-leaked")
			e := newEnv(t, func(o *envOpt) {
				o.engineCfg = func(c *app.Config) {
					c.Breach = breach.HIBP(api.URL, breach.WithCache(0, 0))
					c.BreachOnError = tc.policy
				}
			})
			e.alice()
			b, _ := e.aliceBrowser()
			change := func(pw string) reply {
				return b.post("/v1/me/change_password", form("new_password", pw, "current_password", alicePW))
			}
			expect(t, change("Tr0ub4dor&3-leaked"), 422, "form_password_pwned")
			fail = true
			r := change("a-fine-unlisted-passphrase")
			if r.status != tc.downWant || r.errCode() != tc.downCode {
				t.Fatalf("with the API down: %d %s", r.status, r.body)
			}
		})
	}
}

func TestImportedBcryptDigestIsUpgradedOnSignIn(t *testing.T) {
	e := newEnv(t)
	digest, err := bcrypt.GenerateFromPassword([]byte(alicePW), bcrypt.MinCost)
	noErr(t, err)
	u, err := e.eng.Users.Create(context.Background(), users.NewUser{
		Emails: []string{"old@example.com"}, PasswordDigest: string(digest), PasswordHasher: "bcrypt",
	})
	if err != nil {
		t.Fatal(err)
	}
	e.browser().signIn("old@example.com", alicePW)
	got, err := e.eng.Users.Get(context.Background(), u.ID)
	noErr(t, err)
	if !strings.HasPrefix(got.PasswordDigest, "$argon2id$") {
		t.Fatalf("digest not upgraded: %q", got.PasswordDigest[:10])
	}
	e.browser().signIn("old@example.com", alicePW)
}
