package signup

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/codes"
	"github.com/authgate/authgate/internal/secret"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/password"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/store/bolt"
	"github.com/authgate/authgate/users"
)

// The sign-up tests run over a real bbolt store in a temporary directory
// and a fake clock that the store shares (TTLs, rate limits and code
// expiry follow it); deliveries are recorded (an outbox) and the breach
// source is a fixed list.

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

var cheapParams = password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

type env struct {
	t        testing.TB
	ctx      context.Context
	clock    *testenv.Clock
	st       *bolt.Store
	users    *users.Service
	sessions *session.Manager
	pw       *password.Service
	pool     *signin.Pool
	out      *outbox
	breach   *breachList
	deps     Deps
	cfg      Config
	svc      *Service
	ips      int
}

// on is sign-up on with email and phone (US and GB) and small limits.
func on(c *Config) {
	c.Enabled = true
	c.Identifiers = []users.Kind{users.KindEmail, users.KindPhone}
	c.PhoneCountries = []string{"US", "GB"}
}

func newEnv(t testing.TB, opts ...func(*Config)) *env {
	t.Helper()
	clock := testenv.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	st, err := bolt.Open(filepath.Join(t.TempDir(), "authgate.db"), bolt.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := &env{t: t, ctx: context.Background(), clock: clock, st: st, out: &outbox{}, breach: &breachList{bad: map[string]bool{}}}
	e.pw = password.NewService(password.ServiceConfig{Params: cheapParams, MinLength: 8, Breach: e.breach})
	e.users = users.NewService(st, e.pw, clock.Now)
	e.sessions = session.NewManager(st, 24*time.Hour, clock.Now)
	e.pool = signin.NewPool(4, zap.NewNop())
	// Tests reach the request limits only on purpose.
	e.cfg.Limits.CreatesPerIP, e.cfg.Limits.AttemptsPerIP = 1000, 1000
	for _, o := range opts {
		o(&e.cfg)
	}
	e.deps = Deps{
		Store: st, Users: e.users, Sessions: e.sessions, Passwords: e.pw, CodeKey: secret.New(st, signin.CodeKeyName),
		Deliver: e.out, Now: clock.Now, Pool: e.pool,
	}
	e.svc = New(e.cfg, e.deps)
	t.Cleanup(e.pool.Wait)
	return e
}

// instance is another service over the same store, as a second authgate
// instance would be.
func (e *env) instance() *Service {
	d := e.deps
	d.CodeKey = secret.New(e.st, signin.CodeKeyName)
	d.Users = users.NewService(e.st, e.pw, e.clock.Now)
	return New(e.cfg, d)
}

// client is a new browser.
func (e *env) client() Request {
	e.t.Helper()
	c, _, err := e.sessions.NewClient(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	e.ips++
	return Request{Client: c, IP: fmt.Sprintf("192.0.2.%d", e.ips)}
}

func (e *env) user(nu users.NewUser) *users.User {
	e.t.Helper()
	u, err := e.users.Create(e.ctx, nu)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// start creates a sign-up with an email address and a password and
// sends its code.
func (e *env) start(rq Request, email string) *Result {
	e.t.Helper()
	res, err := e.svc.Create(e.ctx, rq, CreateParams{EmailAddress: email, Password: goodPass})
	if err != nil {
		e.t.Fatal(err)
	}
	res, err = e.svc.PrepareVerification(e.ctx, rq, res.Attempt.ID, PrepareParams{Strategy: StrategyEmailCode})
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

// outbox records deliveries.
type outbox struct {
	mu      sync.Mutex
	notices []notify.Notice
	fail    error
}

func (o *outbox) Deliver(_ context.Context, n notify.Notice) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return o.fail
	}
	o.notices = append(o.notices, n)
	return nil
}

func (o *outbox) all(p *signin.Pool) []notify.Notice {
	p.Wait()
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]notify.Notice(nil), o.notices...)
}

func (o *outbox) last(t testing.TB, p *signin.Pool) notify.Notice {
	t.Helper()
	all := o.all(p)
	if len(all) == 0 {
		t.Fatal("nothing was delivered")
	}
	return all[len(all)-1]
}

func (o *outbox) lastCode(t testing.TB, p *signin.Pool) string {
	t.Helper()
	n := o.last(t, p)
	if n.Kind != notify.KindSignUpCode || !codes.WellFormed(n.Code) {
		t.Fatalf("last notice %+v is no sign-up code", n)
	}
	return n.Code
}

// breachList is a breach source of fixed passwords.
type breachList struct {
	mu  sync.Mutex
	bad map[string]bool
}

func (b *breachList) Breached(_ context.Context, pw string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bad[pw], nil
}

func (b *breachList) add(pw string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bad[pw] = true
}
