package session_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/store/bolt"
)

func newManager(t *testing.T) (*session.Manager, *testenv.Clock) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "authgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	clock := testenv.NewClock(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	return session.NewManager(st, 24*time.Hour, clock.Now), clock
}

// newClient is a new client of m and the cookie token that finds it.
func newClient(t *testing.T, m *session.Manager) (*session.Client, string) {
	t.Helper()
	c, tok, err := m.NewClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c, tok
}

// signedInClient is a client with n sessions of user_1, the last active.
func signedInClient(t *testing.T, m *session.Manager, n int) (*session.Client, []*session.Session) {
	t.Helper()
	ctx := context.Background()
	c, _ := newClient(t, m)
	var list []*session.Session
	for range n {
		s, err := m.Create(ctx, c, session.NewSession{UserID: "user_1"})
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, s)
	}
	return c, list
}

// end ends session id with status, as a step of a test's setup.
func end(t *testing.T, m *session.Manager, id, status string) {
	t.Helper()
	if _, err := m.End(context.Background(), id, status); err != nil {
		t.Fatal(err)
	}
}

func TestSignOutClientEndsEverySessionAndClearsTheClient(t *testing.T) {
	ctx := context.Background()
	m, clock := newManager(t)
	c, list := signedInClient(t, m, 3)
	// A session that is already over is skipped, not an error.
	end(t, m, list[0].ID, session.StatusRevoked)
	ended, err := m.SignOutClient(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(ended) != 3 {
		t.Fatalf("ended %d sessions, want 3 (one of them was already over)", len(ended))
	}
	for _, s := range list {
		got, err := m.Get(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.SignedIn(clock.Now()) {
			t.Fatalf("session %s still %s", s.ID, got.Status)
		}
	}
	if got, _ := m.Get(ctx, list[0].ID); got.Status != session.StatusRevoked {
		t.Fatalf("a revoked session became %s", got.Status)
	}
	if len(c.SessionIDs) != 0 || c.LastActiveSessionID != "" || c.SignInID != "" {
		t.Fatalf("client not cleared: %+v", c)
	}
}

func TestSignOutOneSessionOfTheClient(t *testing.T) {
	ctx := context.Background()
	m, _ := newManager(t)
	c, list := signedInClient(t, m, 2)
	active := list[1]
	s, err := m.SignOut(ctx, c, active.ID, session.StatusEnded)
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != session.StatusEnded || c.LastActiveSessionID != "" || !slices.Contains(c.SessionIDs, active.ID) {
		t.Fatalf("after ending: session %s, client %+v", s.Status, c)
	}
	s, err = m.SignOut(ctx, c, list[0].ID, session.StatusRemoved)
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != session.StatusRemoved || slices.Contains(c.SessionIDs, list[0].ID) {
		t.Fatalf("after removing: session %s, client %+v", s.Status, c)
	}
	if _, err := m.SignOut(ctx, c, "sess_unknown", session.StatusEnded); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("unknown session: %v", err)
	}
}

func TestSetActiveMakesTheSessionTheClientsActiveOne(t *testing.T) {
	ctx := context.Background()
	m, clock := newManager(t)
	c, list := signedInClient(t, m, 2)
	clock.Advance(time.Minute)
	s, err := m.SetActive(ctx, c, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.LastActiveSessionID != list[0].ID || !s.LastActiveAt.After(list[0].LastActiveAt) {
		t.Fatalf("client %+v, last active %v", c, s.LastActiveAt)
	}
	end(t, m, list[1].ID, session.StatusEnded)
	if _, err := m.SetActive(ctx, c, list[1].ID); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("an ended session became active: %v", err)
	}
}

func TestRequireTaskCountsSignedInSessions(t *testing.T) {
	ctx := context.Background()
	m, _ := newManager(t)
	_, list := signedInClient(t, m, 3)
	end(t, m, list[2].ID, session.StatusEnded)
	for i, want := range []int{2, 2} { // the second call changes nothing but counts the same
		n, err := m.RequireTask(ctx, "user_1", "reset-password")
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Fatalf("call %d: %d, want %d", i+1, n, want)
		}
	}
	for _, s := range list[:2] {
		got, err := m.Get(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != session.StatusPending || !slices.Equal(got.Tasks, []string{"reset-password"}) {
			t.Fatalf("session %s: %s %v", s.ID, got.Status, got.Tasks)
		}
	}
}

// TestFactorTimes: a new session records its first factor (and its second
// when the sign-in proved one) as proved at creation; a reverification
// moves the first; an old record without the field falls back to
// CreatedAt.
func TestFactorTimes(t *testing.T) {
	ctx := context.Background()
	m, clock := newManager(t)
	c, _ := newClient(t, m)
	created := clock.Now()
	one, err := m.Create(ctx, c, session.NewSession{UserID: "user_1"})
	if err != nil {
		t.Fatal(err)
	}
	if !one.FirstFactorVerifiedAt().Equal(created) || !one.SecondFactorAt.IsZero() {
		t.Fatalf("password sign-in: first %v second %v", one.FirstFactorAt, one.SecondFactorAt)
	}
	two, err := m.Create(ctx, c, session.NewSession{UserID: "user_1", SecondFactor: true})
	if err != nil {
		t.Fatal(err)
	}
	if !two.SecondFactorAt.Equal(created) {
		t.Fatalf("second-factor sign-in: second factor at %v, want %v", two.SecondFactorAt, created)
	}
	clock.Advance(time.Hour)
	again, err := m.Reverified(ctx, one.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !again.FirstFactorVerifiedAt().Equal(clock.Now()) || !again.CreatedAt.Equal(created) {
		t.Fatalf("after reverifying: first factor at %v, want %v", again.FirstFactorVerifiedAt(), clock.Now())
	}
	old := session.Session{CreatedAt: created}
	if !old.FirstFactorVerifiedAt().Equal(created) {
		t.Fatal("an old record without first_factor_at does not fall back to created_at")
	}
	end(t, m, one.ID, session.StatusEnded)
	if _, err := m.Reverified(ctx, one.ID); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("reverifying an ended session: %v", err)
	}
}
