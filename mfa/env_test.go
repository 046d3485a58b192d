package mfa

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/authgate/authgate/internal/secret"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/bolt"
	redisstore "github.com/authgate/authgate/store/redis"
)

// The tests run over real stores (bbolt, and Redis where races matter)
// and a fake clock, so time steps are chosen, not waited for.

type env struct {
	t     *testing.T
	ctx   context.Context
	clock *testenv.Clock
	st    store.Store
	svc   *Service
	cfg   Config
}

// allOn is every factor on, as a deployment with phone_code on has it.
var allOn = Config{TOTP: true, BackupCodes: true, PhoneCode: true, Issuer: "Acme Portal"}

// start is a time in the middle of a 30-second step, so that one step of
// skew either way is a whole step away.
var start = time.Date(2030, 1, 2, 3, 4, 15, 0, time.UTC)

func newEnv(t *testing.T, redis bool, cfg Config) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clock: testenv.NewClock(start), cfg: cfg}
	if redis {
		srv := testenv.Redis(t)
		opt, err := redisstore.ParseURL(srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		e.st = redisstore.New(goredis.NewUniversalClient(opt), "")
	} else {
		b, err := bolt.Open(filepath.Join(t.TempDir(), "mfa.db"), bolt.WithClock(e.clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		e.st = b
	}
	t.Cleanup(func() { _ = e.st.Close() })
	e.svc = e.service(cfg)
	return e
}

// service is another Service over the same store (another instance, or
// the same deployment with another configuration).
func (e *env) service(cfg Config) *Service {
	return New(cfg, Deps{Store: e.st, Key: secret.New(e.st, KeyName), Now: e.clock.Now})
}

// backends runs a test on bbolt and on Redis.
func backends(t *testing.T, test func(t *testing.T, redis bool)) {
	for _, b := range []struct {
		name  string
		redis bool
	}{{"bolt", false}, {"redis", true}} {
		t.Run(b.name, func(t *testing.T) { test(t, b.redis) })
	}
}

// noErr ends the test when err is not nil, so the helpers below return
// only what succeeded; a failure is reported at the test's line.
func (e *env) noErr(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// enrolled sets up an authenticator app for uid and returns its secret
// and the first backup codes; the clock is then one step later, so the
// next code is not the verification's.
func (e *env) enrolled(uid string) (string, []string) {
	e.t.Helper()
	en, err := e.svc.Enroll(e.ctx, uid, uid+"@example.com")
	e.noErr(err)
	v, err := e.svc.Verify(e.ctx, uid, e.code(en.Secret, 0))
	e.noErr(err)
	e.clock.Advance(period * time.Second)
	return en.Secret, v.BackupCodes
}

// code is the authenticator code `steps` steps from now.
func (e *env) code(secret string, steps int) string {
	e.t.Helper()
	c, err := CodeAt(secret, e.clock.Now().Add(time.Duration(steps)*period*time.Second))
	e.noErr(err)
	return c
}

func (e *env) status(uid string) Status {
	e.t.Helper()
	st, err := e.svc.Status(e.ctx, uid)
	e.noErr(err)
	return st
}

func (e *env) checkTOTP(uid, code string) bool {
	e.t.Helper()
	ok, err := e.svc.CheckTOTP(e.ctx, uid, code)
	e.noErr(err)
	return ok
}
