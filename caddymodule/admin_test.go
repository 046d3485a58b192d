package caddymodule

// Admin API and CLI tests against a real Caddy (see integration_test.go
// for the server harness).

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestAdminCompromisedPassword: set_compromised / unset_compromised flip
// the flag the user JSON shows, and the sign-in honours it.
func TestAdminCompromisedPassword(t *testing.T) {
	s := startServer(t, siteOpts{storage: "file " + filepath.Join(t.TempDir(), "authgate.db")})
	u := createUser(t, "carol@example.com")
	if u.PasswordCompromised {
		t.Fatal("a new user's password is marked compromised")
	}
	b := newBrowser(t)
	sid := b.signIn(t, s.base, "carol@example.com")

	r := adminJSON(t, http.MethodPost, "/users/"+u.ID+"/password/set_compromised", map[string]any{"revoke_all_sessions": false})
	if r.status != http.StatusOK {
		t.Fatalf("set_compromised: %d %s", r.status, r.body)
	}
	var got userJSON
	r.decode(t, &got)
	if got.ID != u.ID || !got.PasswordCompromised {
		t.Fatalf("set_compromised: want user %s with password_compromised true, got %s", u.ID, r.body)
	}
	r = adminJSON(t, http.MethodGet, "/users/"+u.ID, nil)
	r.decode(t, &got)
	if r.status != http.StatusOK || !got.PasswordCompromised {
		t.Fatalf("GET user after set_compromised: want password_compromised true, got %d %s", r.status, r.body)
	}
	// revoke_all_sessions false keeps the session, but only for the
	// reset-password task: it is pending now.
	if ss := listSessions(t, u.ID); len(ss) != 1 || ss[0].ID != sid || ss[0].Status != "pending" {
		t.Fatalf("revoke_all_sessions false: want session %s pending, got %+v", sid, ss)
	}
	if r := signInAttempt(t, s.base, "carol@example.com"); r.status != http.StatusUnprocessableEntity || r.errCode() != "form_password_compromised" {
		t.Fatalf("sign-in with a compromised password: want 422 form_password_compromised, got %d %s", r.status, r.body)
	}

	r = adminJSON(t, http.MethodPost, "/users/"+u.ID+"/password/unset_compromised", nil)
	if r.status != http.StatusOK {
		t.Fatalf("unset_compromised: %d %s", r.status, r.body)
	}
	got = userJSON{}
	r.decode(t, &got)
	if got.ID != u.ID || got.PasswordCompromised {
		t.Fatalf("unset_compromised: want password_compromised false, got %s", r.body)
	}
	newBrowser(t).signIn(t, s.base, "carol@example.com")

	// revoke_all_sessions true ends every session of the user.
	r = adminJSON(t, http.MethodPost, "/users/"+u.ID+"/password/set_compromised", map[string]any{"revoke_all_sessions": true})
	if r.status != http.StatusOK {
		t.Fatalf("set_compromised with revoke_all_sessions: %d %s", r.status, r.body)
	}
	ss := listSessions(t, u.ID)
	if len(ss) != 2 {
		t.Fatalf("want the user's 2 sessions listed, got %+v", ss)
	}
	for _, x := range ss {
		if x.Status != "revoked" {
			t.Errorf("session %s after set_compromised with revoke_all_sessions: status %q, want revoked", x.ID, x.Status)
		}
	}

	if r := adminJSON(t, http.MethodPost, "/users/user_doesnotexist/password/set_compromised", nil); r.status != http.StatusNotFound || r.errCode() != "resource_not_found" {
		t.Fatalf("set_compromised of an unknown user: want 404 resource_not_found, got %d %s", r.status, r.body)
	}
}

// TestAdminSessions: a sign-in shows up in the session list, and a
// revoke ends it (the next refresh finds no session).
func TestAdminSessions(t *testing.T) {
	s := startServer(t, siteOpts{storage: "file " + filepath.Join(t.TempDir(), "authgate.db")})
	u := createUser(t, "dave@example.com")
	if ss := listSessions(t, u.ID); len(ss) != 0 {
		t.Fatalf("a new user has sessions: %+v", ss)
	}
	b := newBrowser(t)
	sid := b.signIn(t, s.base, "dave@example.com")

	ss := listSessions(t, u.ID)
	if len(ss) != 1 || ss[0].ID != sid || ss[0].UserID != u.ID || ss[0].Status != "active" || ss[0].Object != "session" {
		t.Fatalf("want one active session %s of %s, got %+v", sid, u.ID, ss)
	}

	r := adminJSON(t, http.MethodPost, "/sessions/"+sid+"/revoke", nil)
	if r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	var rev sessionJSON
	r.decode(t, &rev)
	if rev.ID != sid || rev.Status != "revoked" {
		t.Fatalf("revoke: want session %s revoked, got %s", sid, r.body)
	}
	if ss := listSessions(t, u.ID); len(ss) != 1 || ss[0].Status != "revoked" {
		t.Fatalf("after revoke: want the session listed as revoked, got %+v", ss)
	}
	// The refresh path (no __session) sees the revocation at once.
	r = get(t, plainClient, s.base+"/app", "Cookie", "__client="+b.cookie(t, s.base, "__client"), "Accept", "application/json")
	if r.status != http.StatusUnauthorized || r.errCode() != "authentication_invalid" {
		t.Fatalf("refresh after revoke: want 401 authentication_invalid, got %d %s", r.status, r.body)
	}

	if r := adminJSON(t, http.MethodPost, "/sessions/sess_doesnotexist/revoke", nil); r.status != http.StatusNotFound {
		t.Fatalf("revoke of an unknown session: want 404, got %d %s", r.status, r.body)
	}
	if r := adminJSON(t, http.MethodGet, "/sessions", nil); r.status != http.StatusUnprocessableEntity || r.errCode() != "form_param_missing" {
		t.Fatalf("list sessions without user_id: want 422 form_param_missing, got %d %s", r.status, r.body)
	}
}

// TestAdminCLI builds the caddy binary and runs `caddy authgate users
// ...` against the running test server's admin endpoint.
func TestAdminCLI(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the caddy binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "caddy")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, goBin, "build", "-o", bin, "github.com/authgate/authgate/cmd/caddy")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/caddy: %v\n%s", err, out)
	}

	s := startServer(t, siteOpts{storage: "file " + filepath.Join(t.TempDir(), "authgate.db")})

	run := func(stdin string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, append([]string{"authgate"}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		if err != nil {
			return out.String(), err
		}
		return out.String(), nil
	}

	out, err := run(testPassword+"\n", "users", "add", "--email", "x@example.com", "--password-stdin", "--address", testAdminAddr)
	if err != nil {
		t.Fatalf("caddy authgate users add: %v\n%s", err, out)
	}
	var created userJSON
	if err := json.Unmarshal([]byte(out), &created); err != nil || !strings.HasPrefix(created.ID, "user_") || !created.PasswordEnabled {
		t.Fatalf("users add printed %q (%v), want the user JSON with a password", out, err)
	}
	found := findUsers(t, "x@example.com")
	if len(found) != 1 || found[0].ID != created.ID {
		t.Fatalf("after users add: want user %s, found %+v", created.ID, found)
	}

	// The same email again fails with a non-zero exit.
	if out, err := run(testPassword+"\n", "users", "add", "--email", "X@example.com", "--password-stdin", "--address", testAdminAddr); err == nil {
		t.Fatalf("users add of a taken email succeeded: %s", out)
	}

	out, err = run("", "users", "list", "--email", "x@example.com", "--address", testAdminAddr)
	if err != nil || !strings.Contains(out, created.ID) {
		t.Fatalf("users list: want %s in the output, got %q (%v)", created.ID, out, err)
	}

	out, err = run("", "users", "compromise", "x@example.com", "--address", testAdminAddr)
	if err != nil {
		t.Fatalf("users compromise: %v\n%s", err, out)
	}
	if found := findUsers(t, "x@example.com"); len(found) != 1 || !found[0].PasswordCompromised {
		t.Fatalf("after users compromise: want password_compromised true, got %+v", found)
	}

	// disable-mfa: a user with an authenticator app has none afterwards.
	_, b, _ := s.newSignedIn("lost-phone@example.com")
	enrolTOTP(t, b, s.base)
	if found := findUsers(t, "lost-phone@example.com"); len(found) != 1 || !found[0].TwoFactorEnabled {
		t.Fatalf("after enrolling: %+v", found)
	}
	out, err = run("", "users", "disable-mfa", "lost-phone@example.com", "--address", testAdminAddr)
	if err != nil || !strings.Contains(out, `"two_factor_enabled": false`) {
		t.Fatalf("users disable-mfa: %q (%v)", out, err)
	}
	if found := findUsers(t, "lost-phone@example.com"); len(found) != 1 || found[0].TwoFactorEnabled || found[0].TOTPEnabled {
		t.Fatalf("after users disable-mfa: %+v", found)
	}

	// import: one good line with a bcrypt digest, one taken email, one bad line.
	digest, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "users.jsonl")
	lines := `{"email_address":["imported@example.com"],"password_digest":"` + string(digest) + `","password_hasher":"bcrypt"}` + "\n" +
		`{"email_address":["x@example.com"]}` + "\n" + "not json\n"
	if err := os.WriteFile(file, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run("", "users", "import", file, "--address", testAdminAddr)
	if err == nil || !strings.Contains(out, "imported 1 users, 2 failed") {
		t.Fatalf("users import: want 1 imported and 2 failed with an error, got %q (%v)", out, err)
	}
	if found := findUsers(t, "imported@example.com"); len(found) != 1 || !found[0].PasswordEnabled {
		t.Fatalf("after users import: %+v", found)
	}
}
