// Package flowenv builds what the sign-in and sign-up state machine tests
// stand on: a real bbolt store in a temporary directory, a fake clock the
// store shares (so TTLs, rate limits, code expiry and lockouts all follow
// it), cheap password hashing over a fixed breach list, and the users and
// sessions services over that store. No mail server, no browser.
//
// It is a package of its own, not a file of internal/testenv, because the
// bbolt store's tests use testenv.
package flowenv

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/password"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/store/bolt"
	"github.com/authgate/authgate/users"
)

// CheapParams hash fast: the tests check the flows, not the cost.
var CheapParams = password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Start is the fake clock's first reading.
var Start = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// Base is the store, clock and services a flow test builds its service
// over.
type Base struct {
	Clock     *testenv.Clock
	Store     *bolt.Store
	Breach    *testenv.Breaches
	Passwords *password.Service
	Users     *users.Service
	Sessions  *session.Manager
}

// New opens the store (closed when t ends) and builds the services; log
// is the password service's logger (nil: none).
func New(t testing.TB, log *zap.Logger) *Base {
	t.Helper()
	clock := testenv.NewClock(Start)
	st, err := bolt.Open(filepath.Join(t.TempDir(), "authgate.db"), bolt.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	b := &Base{Clock: clock, Store: st, Breach: &testenv.Breaches{}}
	b.Passwords = password.NewService(password.ServiceConfig{Params: CheapParams, MinLength: 8, Breach: b.Breach, Logger: log})
	b.Users = users.NewService(st, b.Passwords, clock.Now)
	b.Sessions = session.NewManager(st, 24*time.Hour, clock.Now)
	return b
}

// User creates an account; t fails on an error.
func (b *Base) User(t testing.TB, nu users.NewUser) *users.User {
	t.Helper()
	u, err := b.Users.Create(context.Background(), nu)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Client is a new browser's client; t fails on an error.
func (b *Base) Client(t testing.TB) *session.Client {
	t.Helper()
	c, _, err := b.Sessions.NewClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}
