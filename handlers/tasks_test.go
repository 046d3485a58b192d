package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/authgate/authgate/users"
)

// compromise marks the user's password compromised in the user service
// (what the admin API's set_compromised does, without the notice or the
// pending sessions), and revokes the user's sessions when revoke is set.
func (e *env) compromise(u *users.User, revoke bool) {
	e.t.Helper()
	_, err := e.eng.Users.Update(context.Background(), u.ID, func(u *users.User) error {
		u.PasswordCompromised = true
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if revoke {
		if _, err := e.eng.Sessions.RevokeUser(context.Background(), u.ID, ""); err != nil {
			e.t.Fatal(err)
		}
	}
}

// emailCodeSignIn signs in with an email code and returns the response.
func (b *browser) emailCodeSignIn(email string) reply {
	t := b.e.tb
	t.Helper()
	r := b.post("/v1/client/sign_ins", form("identifier", email))
	expect(t, r, 200, "")
	id := r.str("id")
	expect(t, b.post("/v1/client/sign_ins/"+id+"/prepare_first_factor", form("strategy", "email_code")), 200, "")
	code := b.e.mail.LatestCode(t, email)
	r = b.post("/v1/client/sign_ins/"+id+"/attempt_first_factor", form("strategy", "email_code", "code", code))
	expect(t, r, 200, "")
	return r
}

func sessionOf(t *testing.T, r reply) map[string]any {
	t.Helper()
	sid := r.str("created_session_id")
	client := r.json["client"].(map[string]any)
	for _, s := range client["sessions"].([]any) {
		if s := s.(map[string]any); s["id"] == sid {
			return s
		}
	}
	t.Fatalf("session %s not in client: %s", sid, r.body)
	return nil
}

func TestCompromisedPasswordLeadsToPendingSessionUntilReset(t *testing.T) {
	e, u := aliceEnv(t)
	old, _ := e.aliceBrowser()
	e.compromise(u, false)

	r := e.browser().post("/v1/client/sign_ins", form("identifier", "alice@example.com", "password", alicePW))
	expect(t, r, 422, "form_password_compromised")

	b := e.browser()
	r = b.emailCodeSignIn("alice@example.com")
	if r.str("status") != "complete" {
		t.Fatalf("status %q", r.str("status"))
	}
	sess := sessionOf(t, r)
	if sess["status"] != "pending" {
		t.Fatalf("session %v", sess)
	}
	if tasks := sess["tasks"].([]any); len(tasks) != 1 || tasks[0].(map[string]any)["key"] != "reset-password" {
		t.Fatalf("tasks %v", sess["tasks"])
	}

	// Every upstream URL sends a navigation to the task page; other
	// requests get 403 session_task_pending; nothing reaches the upstream.
	for _, p := range []string{"/", "/orders/7?x=1", "/admin"} {
		r = b.get(p, navigation)
		want := "/__authgate/tasks/reset-password?redirect_url=" + url.QueryEscape(p)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != want {
			t.Fatalf("%s: %d %q, want 303 %q", p, r.status, r.header.Get("Location"), want)
		}
	}
	r = b.get("/api/orders", nil)
	expect(t, r, 403, "session_task_pending")
	meta := r.json["errors"].([]any)[0].(map[string]any)["meta"].(map[string]any)
	if meta["redirect_url"] != "/__authgate/tasks/reset-password" || meta["tasks"].([]any)[0] != "reset-password" {
		t.Fatalf("meta %v", meta)
	}
	select {
	case h := <-e.upstream:
		t.Fatalf("pending session reached the upstream: %v", h)
	default:
	}

	// The task: a breached password is refused, then a good one completes it.
	expect(t, b.post("/v1/me/change_password", form("new_password", "password123")), 422, "form_password_pwned")
	r = b.post("/v1/me/change_password", form("new_password", "fresh-passphrase-42"))
	expect(t, r, 200, "")
	if r.resp()["password_compromised"] != false {
		t.Fatalf("user after reset: %s", r.body)
	}
	if got := b.get("/orders/7", navigation); got.status != 200 {
		t.Fatalf("after the task: %d %s", got.status, got.body)
	}
	if h := e.upstreamHeaders(); h.Get("X-Authgate-User-Id") != u.ID {
		t.Fatalf("upstream got %v", h)
	}
	expect(t, e.browser().post("/v1/client/sign_ins", form("identifier", "alice@example.com", "password", alicePW)), 422, "form_password_or_identifier_incorrect")
	e.browser().signIn("alice@example.com", "fresh-passphrase-42")
	// The session from before the compromise is gone at its next refresh.
	e.clock.Advance(2 * time.Minute)
	if got := old.get("/", navigation).status; got != http.StatusSeeOther {
		t.Fatalf("old session still works: %d", got)
	}
}

func TestUpstreamHostedTaskURLIsReachableWhilePending(t *testing.T) {
	e, u := aliceEnv(t, withTaskURL("reset-password", "/account/reset"))
	e.compromise(u, true)
	b := e.browser()
	b.emailCodeSignIn("alice@example.com")
	r := b.get("/account/reset", navigation)
	if r.status != 200 {
		t.Fatalf("task URL: %d", r.status)
	}
	if h := e.upstreamHeaders(); h.Get("X-Authgate-User-Id") != "" {
		t.Fatal("a pending user reached the upstream as signed in")
	}
	r = b.get("/account/settings", navigation)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/account/reset?redirect_url=%2Faccount%2Fsettings" {
		t.Fatalf("other path: %d %q", r.status, r.header.Get("Location"))
	}
}

func TestUserWithoutEmailOrPhoneSignsInStraightToPending(t *testing.T) {
	e := newEnv(t)
	u, err := e.eng.Users.Create(context.Background(), users.NewUser{Username: "legacy_bob", Password: alicePW})
	noErr(t, err)
	e.compromise(u, false)
	b := e.browser()
	r := b.signIn("legacy_bob", alicePW)
	if s := sessionOf(t, r); s["status"] != "pending" {
		t.Fatalf("session %v", s)
	}
	expect(t, b.get("/x", nil), 403, "session_task_pending")
	expect(t, b.post("/v1/me/change_password", form("new_password", "legacy-bob-new-passphrase")), 200, "")
	if b.get("/x", nil).status != 200 {
		t.Fatal("still pending after the task")
	}
}

func TestAdminForcedResetWithoutCompromise(t *testing.T) {
	e, u := aliceEnv(t)
	if _, err := e.eng.Users.Update(context.Background(), u.ID, func(u *users.User) error { u.ResetRequired = true; return nil }); err != nil {
		t.Fatal(err)
	}
	b, r := e.aliceBrowser()
	if s := sessionOf(t, r); s["status"] != "pending" {
		t.Fatalf("session %v", s)
	}
	expect(t, b.post("/v1/me/change_password", form("new_password", alicePW)), 422, "form_new_password_matches_current")
	expect(t, b.post("/v1/me/change_password", form("new_password", "forced-new-passphrase")), 200, "")
	if b.get("/x", nil).status != 200 {
		t.Fatal("still pending after the task")
	}
}

func TestBreachedPasswordAtSignInSendsUserToReset(t *testing.T) {
	e := newEnv(t, breachOnSignIn)
	// An imported digest lets an old breached password exist.
	digest, err := e.eng.Passwords.Hash(context.Background(), "iloveyou")
	noErr(t, err)
	if _, err := e.eng.Users.Create(context.Background(), users.NewUser{Emails: []string{"carol@example.com"}, PasswordDigest: digest, PasswordHasher: "argon2id"}); err != nil {
		t.Fatal(err)
	}
	r := e.browser().post("/v1/client/sign_ins", form("identifier", "carol@example.com", "password", "iloveyou"))
	expect(t, r, 422, "form_password_pwned")
}

func TestChangePasswordOfActiveSessionNeedsCurrentPassword(t *testing.T) {
	e, b := aliceSignedIn(t)
	expect(t, b.post("/v1/me/change_password", form("new_password", "another-passphrase")), 422, "form_param_missing")
	expect(t, b.post("/v1/me/change_password", form("new_password", "another-passphrase", "current_password", "wrong-one-here")), 422, "form_password_incorrect")
	expect(t, b.post("/v1/me/change_password", form("new_password", "another-passphrase", "current_password", alicePW)), 200, "")
	expect(t, e.browser().post("/v1/me/change_password", form("new_password", "x-another-passphrase")), 401, "authentication_invalid")
}

func TestCompromiseTurnsLiveSessionsPending(t *testing.T) {
	e, u := aliceEnv(t)
	b, _ := e.aliceBrowser()
	if b.get("/x", nil).status != 200 {
		t.Fatal("not signed in")
	}
	if _, err := e.eng.Sessions.RequireTask(context.Background(), u.ID, "reset-password"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute) // the active token expires; the refresh sees the task
	expect(t, b.get("/x", nil), 403, "session_task_pending")
}
