package caddymodule

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authgate/authgate/internal/testenv"
)

// Sign-up through Caddy: the sign_up line of the Caddyfile turns on the
// JSON API and the page; without it both answer 403 sign_up_disabled.

// signUpJSON is the part of a sign-up answer these tests read.
type signUpJSON struct {
	Response struct {
		ID               string   `json:"id"`
		Status           string   `json:"status"`
		UnverifiedFields []string `json:"unverified_fields"`
		CreatedUserID    string   `json:"created_user_id"`
		CreatedSessionID string   `json:"created_session_id"`
	} `json:"response"`
}

func decodeSignUp(t *testing.T, what string, r apiResult) signUpJSON {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("%s: %d %s", what, r.status, r.body)
	}
	var out signUpJSON
	r.decode(t, &out)
	return out
}

// TestIntegrationSignUpOff: with no sign_up line, every sign-up endpoint
// answers 403 sign_up_disabled, the page answers 403, and the sign-in page
// does not link to it.
func TestIntegrationSignUpOff(t *testing.T) {
	s := startServer(t, siteOpts{storage: "file " + filepath.Join(t.TempDir(), "authgate.db")})
	b := newBrowser(t)
	r := apiPost(t, b, s.base, "/client/sign_ups", url.Values{"email_address": {"off@example.com"}, "password": {testPassword}})
	if r.status != http.StatusForbidden || r.errCode() != "sign_up_disabled" {
		t.Fatalf("POST /v1/client/sign_ups with sign-up off: %d %s, want 403 sign_up_disabled", r.status, r.body)
	}
	for _, path := range []string{"/prepare_verification", "/attempt_verification"} {
		r := apiPost(t, b, s.base, "/client/sign_ups/sua_x"+path, url.Values{"strategy": {"email_code"}, "code": {"123456"}})
		if r.status != http.StatusForbidden || r.errCode() != "sign_up_disabled" {
			t.Errorf("POST %s with sign-up off: %d %s, want 403 sign_up_disabled", path, r.status, r.body)
		}
	}
	page := get(t, b.c, s.base+"/__authgate/sign-up", "Accept", "text/html")
	if page.status != http.StatusForbidden || !strings.Contains(string(page.body), "Sign-up is disabled") {
		t.Fatalf("sign-up page with sign-up off: %d %s", page.status, page.body)
	}
	signIn := get(t, b.c, s.base+"/__authgate/sign-in", "Accept", "text/html")
	if signIn.status != http.StatusOK || strings.Contains(string(signIn.body), "/sign-up") {
		t.Fatalf("sign-in page with sign-up off: %d, links to sign-up: %s", signIn.status, signIn.body)
	}
	if found := findUsers(t, "off@example.com"); len(found) != 0 {
		t.Fatalf("a disabled sign-up made a user: %+v", found)
	}
}

// TestIntegrationSignUpOn: with a bare `sign_up` line (and email through
// SMTP to mailpit), a new address signs up through Clerk's JSON API with
// the code it is mailed, the client is signed in and gets through the gate
// as the new user, whom the admin API finds; the page is served and the
// sign-in page links to it.
func TestIntegrationSignUpOn(t *testing.T) {
	mail := testenv.Mailpit(t)
	s := startServer(t, siteOpts{
		storage: "file " + filepath.Join(t.TempDir(), "authgate.db"),
		global:  "sign_up",
		email: "smtp {\n\t\t\taddress " + mail.SMTPAddr() +
			"\n\t\t\tfrom \"Authgate <no-reply@example.com>\"\n\t\t\ttls none\n\t\t}",
	})
	const email = "newcomer@example.com"
	b := newBrowser(t)
	created := decodeSignUp(t, "create", apiPost(t, b, s.base, "/client/sign_ups",
		url.Values{"email_address": {email}, "password": {testPassword}}))
	if created.Response.Status != "missing_requirements" || len(created.Response.UnverifiedFields) != 1 ||
		created.Response.UnverifiedFields[0] != "email_address" {
		t.Fatalf("created sign-up: %+v", created.Response)
	}
	id := created.Response.ID
	decodeSignUp(t, "prepare", apiPost(t, b, s.base, "/client/sign_ups/"+id+"/prepare_verification",
		url.Values{"strategy": {"email_code"}}))
	code := mail.LatestCode(t, email)
	done := decodeSignUp(t, "attempt", apiPost(t, b, s.base, "/client/sign_ups/"+id+"/attempt_verification",
		url.Values{"strategy": {"email_code"}, "code": {code}}))
	if done.Response.Status != "complete" || done.Response.CreatedUserID == "" || done.Response.CreatedSessionID == "" {
		t.Fatalf("verified sign-up: %+v", done.Response)
	}

	if r := get(t, b.c, s.base+"/private", "Accept", "text/html"); r.status != http.StatusOK {
		t.Fatalf("the new user at the gate: %d %s", r.status, r.body)
	}
	if got := s.upstream.last(t, "/private").Get("X-Authgate-User-Id"); got != done.Response.CreatedUserID {
		t.Fatalf("upstream got X-Authgate-User-Id %q, want the new user %s", got, done.Response.CreatedUserID)
	}
	if found := findUsers(t, email); len(found) != 1 || found[0].ID != done.Response.CreatedUserID {
		t.Fatalf("admin API: want the new user %s, found %+v", done.Response.CreatedUserID, found)
	}

	anon := newBrowser(t)
	page := get(t, anon.c, s.base+"/__authgate/sign-up", "Accept", "text/html")
	if page.status != http.StatusOK || !strings.Contains(string(page.body), "Create your account") {
		t.Fatalf("sign-up page: %d %s", page.status, page.body)
	}
	signIn := get(t, anon.c, s.base+"/__authgate/sign-in", "Accept", "text/html")
	if !strings.Contains(string(signIn.body), `href="/__authgate/sign-up"`) {
		t.Fatalf("the sign-in page does not link to sign-up: %s", signIn.body)
	}
}
