package handlers_test

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/password/breach"
)

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
			e.createUser("alice@example.com", "", alicePW)
			b := e.browser()
			b.signIn("alice@example.com", alicePW)
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
