package signup

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/codes"
	"github.com/authgate/authgate/internal/secret"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/internal/testenv/flowenv"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/users"
)

// The sign-up tests run over flowenv's store, clock and services (the
// sign-in tests' too); deliveries are recorded (an outbox).

const (
	newEmail = "new@example.com"
	goodPass = "correct horse battery"
	// usMobile is a US number (FIXED_LINE_OR_MOBILE: US numbers cannot be
	// told apart); gbMobile a GB mobile, gbFixed a GB landline and
	// gbPremium a GB premium-rate number; frMobile a French mobile.
	usMobile  = "+12015550123"
	gbMobile  = "+447400123456"
	gbFixed   = "+441212345678"
	gbPremium = "+449098765432"
	frMobile  = "+33612345678"
)

type env struct {
	*flowenv.Base
	t    testing.TB
	ctx  context.Context
	pool *signin.Pool
	out  *outbox
	deps Deps
	cfg  Config
	svc  *Service
	ips  int
}

// on is sign-up on with email and phone (US and GB) and small limits.
func on(c *Config) {
	c.Enabled = true
	c.Identifiers = []users.Kind{users.KindEmail, users.KindPhone}
	c.PhoneCountries = []string{"US", "GB"}
}

func newEnv(t testing.TB, opts ...func(*Config)) *env {
	t.Helper()
	e := &env{Base: flowenv.New(t, nil), t: t, ctx: context.Background(), out: &outbox{}}
	e.pool = signin.NewPool(4, zap.NewNop())
	// Tests reach the request limits only on purpose.
	e.cfg.Limits.CreatesPerIP, e.cfg.Limits.AttemptsPerIP = 1000, 1000
	for _, o := range opts {
		o(&e.cfg)
	}
	e.deps = Deps{
		Store: e.Store, Users: e.Users, Sessions: e.Sessions, Passwords: e.Passwords,
		CodeKey: secret.New(e.Store, signin.CodeKeyName), Deliver: e.out, Now: e.Clock.Now, Pool: e.pool,
	}
	e.svc = New(e.cfg, e.deps)
	t.Cleanup(e.pool.Wait)
	return e
}

// instance is another service over the same store, as a second authgate
// instance would be.
func (e *env) instance() *Service { return e.instanceOn(e.Store) }

// instanceOn is another service whose every store user (sign-up, users,
// the code key) goes through st: a wrapper of the env's store.
func (e *env) instanceOn(st store.Store) *Service {
	d := e.deps
	d.Store = st
	d.CodeKey = secret.New(st, signin.CodeKeyName)
	d.Users = users.NewService(st, e.Passwords, e.Clock.Now)
	return New(e.cfg, d)
}

// client is a new browser.
func (e *env) client() Request {
	e.t.Helper()
	e.ips++
	return Request{Client: e.Client(e.t), IP: fmt.Sprintf("192.0.2.%d", e.ips)}
}

func (e *env) user(nu users.NewUser) *users.User {
	e.t.Helper()
	return e.User(e.t, nu)
}

// start creates a sign-up with an email address and a password and
// sends its code.
func (e *env) start(rq Request, email string) *Result {
	e.t.Helper()
	return e.startOn(e.svc, rq, email)
}

// startOn is start on svc (another instance, or one with other
// collaborators).
func (e *env) startOn(svc *Service, rq Request, email string) *Result {
	e.t.Helper()
	res, err := svc.Create(e.ctx, rq, CreateParams{EmailAddress: email, Password: goodPass})
	if err != nil {
		e.t.Fatal(err)
	}
	res, err = svc.PrepareVerification(e.ctx, rq, res.Attempt.ID, PrepareParams{Strategy: StrategyEmailCode})
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

// wantCode asserts err is the Clerk error code.
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != code {
		t.Fatalf("error = %v, want %s", err, code)
	}
}

// outbox is the shared recording deliverer; lastCode checks the notice
// is a sign-up code.
type outbox struct{ testenv.Outbox }

func (o *outbox) lastCode(t testing.TB, p *signin.Pool) string {
	t.Helper()
	n := o.Last(t, p)
	if n.Kind != notify.KindSignUpCode || !codes.WellFormed(n.Code) {
		t.Fatalf("last notice %+v is no sign-up code", n)
	}
	return n.Code
}
