package caddymodule

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/mfa"
)

// enrolTOTP sets up an authenticator app for b's user through the JSON
// API of base, with the code computed from the secret it answers, and
// returns the otpauth URI.
func enrolTOTP(t *testing.T, b *browser, base string) string {
	t.Helper()
	r := apiPost(t, b, base, "/me/totp", url.Values{})
	created := response[struct {
		Secret string `json:"secret"`
		URI    string `json:"uri"`
	}](t, r)
	if r.status != http.StatusOK || created.Secret == "" {
		t.Fatalf("POST /v1/me/totp: %d %s", r.status, r.body)
	}
	code, err := mfa.CodeAt(created.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r := apiPost(t, b, base, "/me/totp/attempt_verification", url.Values{"code": {code}}); r.status != http.StatusOK {
		t.Fatalf("attempt_verification: %d %s", r.status, r.body)
	}
	return created.URI
}

// TestIntegrationMFARequired: with `mfa { required on }` through Caddy, a
// user without a second factor is held at the setup-mfa task by the gate,
// enrolling lets them through, the authenticator app shows the issuer,
// and an administrator's DELETE /users/{id}/mfa removes every factor and
// pends the user's sessions again.
func TestIntegrationMFARequired(t *testing.T) {
	s := startServer(t, siteOpts{
		storage: "file " + t.TempDir() + "/authgate.db",
		global:  "mfa {\n\t\t\trequired on\n\t\t\tissuer \"Acme Portal\"\n\t\t}",
	})
	u, b, sid := s.newSignedIn("mfa@example.com")
	r := get(t, b.c, s.base+"/private", "Accept", "text/html")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/__authgate/tasks/setup-mfa?redirect_url=") {
		t.Fatalf("pending setup-mfa: %d %s", r.status, r.header.Get("Location"))
	}
	uri := enrolTOTP(t, b, s.base)
	if !strings.HasPrefix(uri, "otpauth://totp/Acme%20Portal:mfa@example.com?") || !strings.Contains(uri, "issuer=Acme") {
		t.Fatalf("otpauth URI %s does not name the issuer", uri)
	}
	if r := get(t, b.c, s.base+"/private", "Accept", "text/html"); r.status != http.StatusOK {
		t.Fatalf("after enrolling: %d %s", r.status, r.header.Get("Location"))
	}
	var got map[string]any
	adminJSON(t, http.MethodGet, "/users/"+u.ID, nil).decode(t, &got)
	if got["two_factor_enabled"] != true || got["totp_enabled"] != true || got["backup_code_enabled"] != true {
		t.Fatalf("admin user JSON: %v", got)
	}
	r = adminJSON(t, http.MethodDelete, "/users/"+u.ID+"/mfa", nil)
	r.decode(t, &got)
	if r.status != http.StatusOK || got["two_factor_enabled"] != false || got["totp_enabled"] != false {
		t.Fatalf("DELETE /users/%s/mfa: %d %s", u.ID, r.status, r.body)
	}
	for _, sess := range listSessions(t, u.ID) {
		if sess.ID == sid && sess.Status != "pending" {
			t.Fatalf("session after disable-mfa: %s, want pending (setup-mfa)", sess.Status)
		}
	}
	if r := adminJSON(t, http.MethodDelete, "/users/user_00000000000000000000000000/mfa", nil); r.status != http.StatusNotFound {
		t.Fatalf("disable-mfa of an unknown user: %d %s", r.status, r.body)
	}
}
