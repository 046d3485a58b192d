package signin

import (
	"errors"
	"testing"

	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/users"
)

func TestSetCompromisedPendsSessions(t *testing.T) {
	e := newEnv(t)
	u, res := e.adaSignedIn()
	nu, err := e.svc.SetCompromised(e.ctx, u.ID, true, false)
	if err != nil {
		t.Fatal(err)
	}
	if !nu.PasswordCompromised {
		t.Fatal("not marked compromised")
	}
	sess, err := e.sessions.Get(e.ctx, res.Session.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sess.Status != session.StatusPending || !tasks.Has(sess.Tasks, tasks.ResetPassword) {
		t.Fatalf("session = %+v", sess)
	}
	if ev := e.ev.one(t, "task_started"); ev.fields["sessions"] != int64(1) || ev.fields["task"] != tasks.ResetPassword {
		t.Fatalf("task_started = %+v", ev)
	}
	e.ev.one(t, "password_compromised_set")
	if n := e.out.last(t, e.pool); n.Kind != notify.KindPasswordCompromised || n.To != adaEmail || n.Code != "" {
		t.Fatalf("notice = %+v", n)
	}

	nu, err = e.svc.SetCompromised(e.ctx, u.ID, false, false)
	if err != nil {
		t.Fatal(err)
	}
	if nu.PasswordCompromised {
		t.Fatal("still compromised")
	}
	e.ev.one(t, "password_compromised_unset")
	if n := len(e.out.all(e.pool)); n != 1 {
		t.Fatalf("%d notices, want only the first", n)
	}
}

func TestSetCompromisedRevokesSessions(t *testing.T) {
	e := newEnv(t)
	u, res := e.adaSignedIn()
	if _, err := e.svc.SetCompromised(e.ctx, u.ID, true, true); err != nil {
		t.Fatal(err)
	}
	if got := e.sessionStatus(res.Session.ID); got != session.StatusRevoked {
		t.Fatalf("session is %s, want revoked", got)
	}
	if ev := e.ev.one(t, "sessions_revoked"); ev.fields["count"] != int64(1) {
		t.Fatalf("sessions_revoked = %+v", ev)
	}
	if len(e.ev.find("task_started")) != 0 {
		t.Fatal("revoked sessions were also pended")
	}
	e.ev.one(t, "password_compromised_set")
}

func TestRequireReset(t *testing.T) {
	e := newEnv(t)
	u, res := e.adaSignedIn()
	nu, err := e.svc.RequireReset(e.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !nu.ResetRequired || nu.PasswordCompromised {
		t.Fatalf("user = %+v", nu)
	}
	if got := e.sessionStatus(res.Session.ID); got != session.StatusPending {
		t.Fatalf("session is %s, want pending", got)
	}
	e.ev.one(t, "password_reset_required")
	if len(e.out.all(e.pool)) != 0 {
		t.Fatal("require reset sent a notice")
	}
	// The next sign-in is pending too.
	if res := e.signedIn(); res.Session.Status != session.StatusPending {
		t.Fatalf("next session is %s", res.Session.Status)
	}
}

func TestAccountStepsOnUnknownUser(t *testing.T) {
	e := newEnv(t)
	if _, err := e.svc.SetCompromised(e.ctx, "user_nobody", true, true); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("SetCompromised = %v", err)
	}
	if _, err := e.svc.RequireReset(e.ctx, "user_nobody"); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("RequireReset = %v", err)
	}
}
