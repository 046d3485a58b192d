package signin

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/codes"
	"github.com/authgate/authgate/internal/secret"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/internal/testenv/flowenv"
	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/password"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/store/bolt"
	"github.com/authgate/authgate/users"
)

// The state machine tests run over flowenv's store, clock and services
// and recording collaborators: no mail server, no browser.

const (
	adaEmail = "ada@example.com"
	adaPhone = "+15555550100"
	adaPass  = "correct horse battery"
	newPass  = "a brand new passphrase"
)

var cheapParams = flowenv.CheapParams

type env struct {
	base     *flowenv.Base
	t        testing.TB
	ctx      context.Context
	clock    *testenv.Clock
	st       *bolt.Store
	users    *users.Service
	sessions *session.Manager
	hooks    *sessionHooks
	stHooks  *storeHooks
	hash     *hasherHooks
	pw       *password.Service
	svc      *Service
	deps     Deps
	pool     *Pool
	out      *outbox
	ev       *eventLog
	logs     *observer.ObservedLogs
	breach   *breachList
	cfg      Config
	mfa      *mfa.Service
}

// mfaOn is every second factor on (phone_code included), none required:
// users without one sign in as before.
var mfaOn = mfa.Config{TOTP: true, BackupCodes: true, PhoneCode: true, Issuer: "authgate"}

// secondFactors is an mfa service over the environment's store and clock.
func (e *env) secondFactors(cfg mfa.Config) *mfa.Service {
	return mfa.New(cfg, mfa.Deps{Store: e.st, Key: secret.New(e.st, mfa.KeyName), Now: e.clock.Now})
}

// newEnv builds a sign-in service. The default configuration keeps the
// package defaults but makes the limits small enough to reach in a test.
func newEnv(t testing.TB, opts ...func(*Config)) *env {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core)
	b := flowenv.New(t, log)
	e := &env{
		base: b, t: t, ctx: context.Background(), clock: b.Clock, st: b.Store, users: b.Users, sessions: b.Sessions,
		pw: b.Passwords, breach: &breachList{b.Breach}, out: &outbox{}, ev: &eventLog{}, logs: logs,
	}
	e.hooks = &sessionHooks{Manager: e.sessions}
	e.stHooks = &storeHooks{Store: e.st}
	e.hash = &hasherHooks{Service: e.pw}
	cfg := Config{LockoutAttempts: 3}
	for _, o := range opts {
		o(&cfg)
	}
	e.pool = NewPool(4, log)
	e.mfa = e.secondFactors(mfaOn)
	e.deps = Deps{
		Store: e.stHooks, Users: e.users, Sessions: e.hooks, CodeKey: secret.New(e.st, CodeKeyName),
		Hasher: e.hash, Rules: e.pw, Deliver: e.out, Events: e.ev, Logger: log, Now: e.clock.Now, Pool: e.pool,
		SecondFactors: e.mfa,
	}
	e.svc = New(cfg, e.deps)
	e.cfg = e.svc.Config()
	t.Cleanup(e.pool.Wait)
	return e
}

// instance is another service over the same store, clock and
// collaborators, as a second authgate instance would be; change adjusts
// its dependencies (nil: none).
func (e *env) instance(change func(*Deps)) *Service {
	d := e.deps
	d.CodeKey = secret.New(e.st, CodeKeyName) // its own cache, the same stored key
	if change != nil {
		change(&d)
	}
	return New(e.cfg, d)
}

func protected(c *Config) { c.EnumerationProtection = true }

// ada creates the usual user: one email address, one phone number and a
// password.
func (e *env) ada() *users.User {
	e.t.Helper()
	return e.user(users.NewUser{Emails: []string{adaEmail}, Phones: []string{adaPhone}, Password: adaPass})
}

func (e *env) user(nu users.NewUser) *users.User {
	e.t.Helper()
	return e.base.User(e.t, nu)
}

// request is a new client with no IP (so no per-IP limit applies).
func (e *env) request() Request {
	e.t.Helper()
	return Request{Client: e.base.Client(e.t)}
}

// create starts a sign-in and fails the test on an error.
func (e *env) create(rq Request, p CreateParams) *Result {
	e.t.Helper()
	res, err := e.svc.Create(e.ctx, rq, p)
	if err != nil {
		e.t.Fatalf("Create(%+v): %v", p, err)
	}
	return res
}

// adaStarted makes Ada's account and starts a sign-in of her email
// address on a new client.
func (e *env) adaStarted() (Request, *Attempt) {
	e.t.Helper()
	e.ada()
	return e.started(adaEmail)
}

// adaClient makes Ada's account and returns it with a new client to sign
// her in on.
func (e *env) adaClient() (*users.User, Request) {
	e.t.Helper()
	u := e.ada()
	return u, e.request()
}

// started is a new client's identifier-first sign-in.
func (e *env) started(identifier string) (Request, *Attempt) {
	e.t.Helper()
	rq := e.request()
	return rq, e.create(rq, CreateParams{Identifier: identifier}).Attempt
}

// codeSent starts a sign-in with a code strategy and returns it with the
// code that was delivered.
func (e *env) codeSent(rq Request, strategy, identifier string) (*Result, string) {
	e.t.Helper()
	res := e.create(rq, CreateParams{Strategy: strategy, Identifier: identifier})
	return res, e.out.lastCode(e.t, e.pool)
}

func (e *env) attempt(rq Request, id string, p AttemptParams) (*Result, error) {
	return e.svc.AttemptFirstFactor(e.ctx, rq, id, p)
}

// wrongCode is a well-formed code other than code.
func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// wantErr checks the API error code and, when param is not "", the
// parameter it names.
func wantErr(t *testing.T, err error, want *apierr.Error, param string) *apierr.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", want.Code)
	}
	var got *apierr.Error
	if !errors.As(err, &got) {
		t.Fatalf("got %v, want API error %s", err, want.Code)
	}
	if got.Code != want.Code {
		t.Fatalf("got %s, want %s", got, want.Code)
	}
	if param != "" && got.Meta["param_name"] != param {
		t.Fatalf("got param %v, want %s (%s)", got.Meta["param_name"], param, got)
	}
	return got
}

// get, prepare and attemptOK call the service and fail the test on an
// error.
func (e *env) get(rq Request, id string) *Result {
	e.t.Helper()
	return e.ok(e.svc.Get(e.ctx, rq, id))
}

func (e *env) prepare(rq Request, id string, p PrepareParams) *Result {
	e.t.Helper()
	return e.ok(e.svc.Prepare(e.ctx, rq, id, p))
}

func (e *env) attemptOK(rq Request, id string, p AttemptParams) *Result {
	e.t.Helper()
	return e.ok(e.attempt(rq, id, p))
}

func (e *env) ok(res *Result, err error) *Result {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

// outbox is the shared recording deliverer (testenv.Outbox) read
// through this package's pool; lastCode also checks the notice carries a
// code.
type outbox struct{ testenv.Outbox }

func (o *outbox) all(p *Pool) []notify.Notice              { return o.All(p) }
func (o *outbox) last(t testing.TB, p *Pool) notify.Notice { return o.Last(t, p) }
func (o *outbox) failWith(err error)                       { o.FailWith(err) }

func (o *outbox) lastCode(t testing.TB, p *Pool) string {
	t.Helper()
	n := o.Last(t, p)
	if !codes.WellFormed(n.Code) {
		t.Fatalf("last notice %+v carries no code", n)
	}
	return n.Code
}

// eventLog records audit events.
type eventLog struct {
	mu     sync.Mutex
	events []event
}

type event struct {
	name   string
	fields map[string]any
}

func (l *eventLog) Event(_ context.Context, name string, fields ...zap.Field) {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, event{name: name, fields: enc.Fields})
}

// find returns the events called name.
func (l *eventLog) find(name string) []event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []event
	for _, e := range l.events {
		if e.name == name {
			out = append(out, e)
		}
	}
	return out
}

// one returns the only event called name.
func (l *eventLog) one(t *testing.T, name string) event {
	t.Helper()
	got := l.find(name)
	if len(got) != 1 {
		t.Fatalf("%d %q events, want 1", len(got), name)
	}
	return got[0]
}

// breachList is the shared fixed breach source; set marks a password
// breached and sets the lookup error.
type breachList struct{ *testenv.Breaches }

func (b *breachList) set(pw string, err error) { b.Set(pw, err) }

func zapString(k, v string) zap.Field { return zap.String(k, v) }

// injected is a failure a test sets and a hook reads, safe for the
// goroutines a flow runs.
type injected[T any] struct {
	mu sync.Mutex
	v  T
}

func (f *injected[T]) set(v T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.v = v
}

func (f *injected[T]) get() T {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.v
}

// take returns the value and clears it (a failure injected once).
func (f *injected[T]) take() T {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.v
	var zero T
	f.v = zero
	return v
}

// sessionHooks is the session manager with a failure to inject: the next
// Create returns failCreate (once).
type sessionHooks struct {
	*session.Manager
	failCreate injected[error]
}

func (h *sessionHooks) Create(ctx context.Context, c *session.Client, ns session.NewSession) (*session.Session, error) {
	if err := h.failCreate.take(); err != nil {
		return nil, err
	}
	return h.Manager.Create(ctx, c, ns)
}

func (h *sessionHooks) failNextCreate(err error) { h.failCreate.set(err) }

// storeHooks is the store with a failure to inject: Put fails for keys
// with the prefix failPut.
type storeHooks struct {
	*bolt.Store
	failPut injected[string]
}

var errStoreDown = errors.New("store down")

func (h *storeHooks) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if prefix := h.failPut.get(); prefix != "" && strings.HasPrefix(key, prefix) {
		return errStoreDown
	}
	return h.Store.Put(ctx, key, value, ttl)
}

func (h *storeHooks) failPutsOf(prefix string) { h.failPut.set(prefix) }

// hasherHooks is the password service whose pool can be made busy.
type hasherHooks struct {
	*password.Service
	busy atomic.Bool
}

func (h *hasherHooks) Verify(ctx context.Context, pw, digest string) (bool, bool, error) {
	if h.busy.Load() {
		return false, false, password.ErrBusy
	}
	return h.Service.Verify(ctx, pw, digest)
}

func (h *hasherHooks) Hash(ctx context.Context, pw string) (string, error) {
	if h.busy.Load() {
		return "", password.ErrBusy
	}
	return h.Service.Hash(ctx, pw)
}
