// Package signin is the sign-in attempt state machine of authgate's
// Frontend API: password, email_code, phone_code and the reset_password_*
// strategies, the codes they send, the second factors (totp, backup_code,
// phone_code) that follow them for a user who has one, lockout and
// enumeration protection.
//
// The files follow the flow/strategy split of Ory Kratos: attempt.go is
// the stored attempt, flow.go its transitions (Create, Prepare,
// AttemptFirstFactor), flow_second.go the second step's
// (PrepareSecondFactor, AttemptSecondFactor), strategy.go the table of
// strategies those transitions dispatch on, strategy_password.go and
// strategy_code.go what each kind of strategy does, reset.go setting a
// new password, lockout.go and throttle.go the password lockout and
// request limits, budget.go the one code budget of an account, subject.go
// what those limits count against (accounts, known devices, unknown
// identifiers), deliver.go the background delivery pool, factors.go a
// signed-in user's second factors (add, remove) and reverification by
// password, reverify_code.go reverification by an email or SMS code,
// phone_add.go a signed-in user adding a phone number, and account.go the
// admin steps.
package signin

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/internal/defaults"
	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/users"
)

// Store is the part of store.Store the sign-in flow uses: attempts, codes,
// counters, claims and rate limits.
type Store interface {
	store.Records
	store.Counters
}

// Users finds and updates accounts (users.Service).
type Users interface {
	Find(ctx context.Context, k users.Kind, normalized string) (*users.User, error)
	Get(ctx context.Context, id string) (*users.User, error)
	Update(ctx context.Context, id string, fn func(u *users.User) error) (*users.User, error)
	// AddPhone and RemovePhone serve a user's own phones (phone_add.go).
	AddPhone(ctx context.Context, id, phoneID, phone string) (*users.User, error)
	RemovePhone(ctx context.Context, id, phoneID string) (*users.User, error)
}

// Sessions creates and changes sessions and clients (session.Manager).
type Sessions interface {
	UpdateClient(ctx context.Context, c *session.Client, fn func(c *session.Client)) error
	Create(ctx context.Context, c *session.Client, ns session.NewSession) (*session.Session, error)
	Get(ctx context.Context, id string) (*session.Session, error)
	CompleteTask(ctx context.Context, id, task string) (*session.Session, error)
	Reverified(ctx context.Context, id string) (*session.Session, error)
	RevokeUser(ctx context.Context, userID, keep string) (int, error)
	RequireTask(ctx context.Context, userID, task string) (int, error)
}

// Key is a server-side secret (secret.Key): it binds codes to their
// attempt and derives the identification ids of unknown identifiers.
type Key interface {
	Get(ctx context.Context) ([]byte, error)
}

// CodeKeyName is the store key of the code HMAC key; the wiring passes
// secret.New(store, CodeKeyName) as Deps.CodeKey.
const CodeKeyName = "secrets:code_hmac"

// Deliverer sends notices by email or SMS.
type Deliverer interface {
	Deliver(ctx context.Context, n notify.Notice) error
}

// Hasher verifies and hashes passwords (a bounded pool; ErrBusy-like
// errors come back as errors for which Busy reports true).
type Hasher interface {
	Hash(ctx context.Context, pw string) (string, error)
	Verify(ctx context.Context, pw, digest string) (ok, needsRehash bool, err error)
	VerifyDummy(ctx context.Context, pw string)
	Busy(err error) bool
}

// Rules checks new passwords and breaches.
type Rules interface {
	// Validate returns an *apierr.Error when pw breaks a rule.
	Validate(ctx context.Context, pw string, identifiers []string) error
	// Breached reports whether pw is in the breach source.
	Breached(ctx context.Context, pw string) (bool, error)
}

// SecondFactors keeps and checks the users' second factors (mfa.Service).
type SecondFactors interface {
	Config() mfa.Config
	Status(ctx context.Context, uid string) (mfa.Status, error)
	CheckTOTP(ctx context.Context, uid, code string) (bool, error)
	UseBackupCode(ctx context.Context, uid, code string) (bool, error)
	Enroll(ctx context.Context, uid, account string) (*mfa.Enrollment, error)
	Verify(ctx context.Context, uid, code string) (*mfa.Verified, error)
	DisableTOTP(ctx context.Context, uid string) error
	RegenerateBackupCodes(ctx context.Context, uid string) (*mfa.BackupCodes, error)
	ReservePhone(ctx context.Context, uid, phoneID string, on bool) ([]string, error)
	Reset(ctx context.Context, uid string) (bool, error)
}

// Events receives audit events and metrics; all methods must be cheap.
type Events interface {
	Event(ctx context.Context, name string, fields ...zap.Field)
}

// Config holds the sign-in rules.
type Config struct {
	CodeTTL               time.Duration
	CodeMaxAttempts       int
	ResendAfter           time.Duration
	EnumerationProtection bool
	// LockoutAttempts is both the number of wrong passwords that lock an
	// account (or a device) for LockoutDuration and the number of wrong
	// codes after which code verification backs off, from
	// CodeLockoutBase doubling up to CodeLockoutMax.
	LockoutAttempts  int
	LockoutDuration  time.Duration
	CodeLockoutBase  time.Duration
	CodeLockoutMax   time.Duration
	CodeBudgetMemory time.Duration
	// DeviceLifetime is how long a client that signed in as a user keeps
	// its own password-failure budget for that user.
	DeviceLifetime  time.Duration
	BreachOnSignIn  bool
	AttemptLifetime time.Duration
	// SendsPerIdentifier and SendsPerIP limit code sends per SendWindow.
	SendsPerIdentifier int
	SendsPerIP         int
	SendWindow         time.Duration
	// RequestsPerIP limits sign-in requests per IP per 10 seconds.
	RequestsPerIP int
	// PhoneCountries are the regions a signed-in user may add a phone of
	// (nowhere when nil; internal/app fills in sign-up's phone_countries,
	// or every region when sign-up is off); SMSPer* and SMSWindow its SMS
	// budgets, and
	// UnverifiedPhones how many numbers may wait for their code at once
	// (phone_add.go).
	PhoneCountries     []string
	SMSPerIPPerCountry int
	SMSPerCountry      int
	SMSPerPrefix       int
	SMSWindow          time.Duration
	UnverifiedPhones   int
}

// defaults fills zero fields from package defaults.
func (c *Config) defaults() {
	defaults.Set(&c.CodeTTL, defaults.CodeTTL)
	defaults.Set(&c.CodeMaxAttempts, defaults.CodeMaxAttempts)
	defaults.Set(&c.ResendAfter, defaults.ResendAfter)
	defaults.Set(&c.LockoutAttempts, defaults.LockoutAttempts)
	defaults.Set(&c.LockoutDuration, defaults.LockoutDuration)
	defaults.Set(&c.CodeLockoutBase, defaults.CodeLockoutBase)
	defaults.Set(&c.CodeLockoutMax, defaults.CodeLockoutMax)
	defaults.Set(&c.CodeBudgetMemory, defaults.CodeBudgetMemory)
	defaults.Set(&c.DeviceLifetime, defaults.DeviceLifetime)
	defaults.Set(&c.AttemptLifetime, defaults.AttemptLifetime)
	defaults.Set(&c.SendsPerIdentifier, defaults.SendsPerIdentifier)
	defaults.Set(&c.SendsPerIP, defaults.SendsPerIP)
	defaults.Set(&c.SendWindow, defaults.SendWindow)
	defaults.Set(&c.RequestsPerIP, defaults.RequestsPerIP)
	defaults.Set(&c.SMSPerIPPerCountry, defaults.SignUpSMSPerIPPerCountry)
	defaults.Set(&c.SMSPerCountry, defaults.SignUpSMSPerCountry)
	defaults.Set(&c.SMSPerPrefix, defaults.SignUpSMSPerPrefix)
	defaults.Set(&c.SMSWindow, defaults.SignUpSMSWindow)
	defaults.Set(&c.UnverifiedPhones, defaults.UnverifiedPhones)
}

// Service runs sign-in attempts.
type Service struct {
	cfg      Config
	st       Store
	users    Users
	sessions Sessions
	hasher   Hasher
	rules    Rules
	deliver  Deliverer
	events   Events
	log      *zap.Logger
	now      func() time.Time
	keys     Key
	pool     *Pool
	lockout  *lockout
	budget   *codeBudget
	throttle *throttle
	mfa      SecondFactors
	// discard is where the codes of unknown identifiers go.
	discard Deliverer
}

// Deps are the collaborators of a Service.
type Deps struct {
	Store    Store
	Users    Users
	Sessions Sessions
	// CodeKey is the code HMAC key: secret.New(store, CodeKeyName).
	CodeKey Key
	// SecondFactors are the users' second factors (required; an
	// mfa.Service with every factor off offers none).
	SecondFactors SecondFactors
	Hasher        Hasher
	Rules         Rules
	Deliver       Deliverer
	Events        Events
	Logger        *zap.Logger
	Now           func() time.Time
	// Pool runs background deliveries; nil: a pool of DefaultPoolSize.
	Pool *Pool
	// Discard receives the codes "sent" to unknown identifiers under
	// enumeration protection, through the same background path as real
	// codes, so that both cost the same; nil: a sink that renders the
	// message with the embedded templates and drops it.
	Discard Deliverer
}

// RuntimeDefaults fills what a flow service runs with, sign-in's and
// sign-up's alike, where it is not given (nil): the clock is time.Now,
// the logger logs nothing and the delivery pool is one of
// DefaultPoolSize.
func RuntimeDefaults(now func() time.Time, log *zap.Logger, pool *Pool) (func() time.Time, *zap.Logger, *Pool) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = zap.NewNop()
	}
	if pool == nil {
		pool = NewPool(DefaultPoolSize, log)
	}
	return now, log, pool
}

// New returns a sign-in service.
func New(cfg Config, d Deps) *Service {
	cfg.defaults()
	d.Now, d.Logger, d.Pool = RuntimeDefaults(d.Now, d.Logger, d.Pool)
	if d.Discard == nil {
		d.Discard = discardSink{}
	}
	s := &Service{
		cfg: cfg, st: d.Store, users: d.Users, sessions: d.Sessions, hasher: d.Hasher, rules: d.Rules,
		deliver: d.Deliver, events: d.Events, log: d.Logger, now: d.Now, keys: d.CodeKey, pool: d.Pool,
		discard: d.Discard, mfa: d.SecondFactors,
	}
	s.lockout = &lockout{
		st: d.Store, attempts: cfg.LockoutAttempts, duration: cfg.LockoutDuration,
		now: d.Now, log: d.Logger, emit: s.emit,
	}
	s.budget = &codeBudget{
		st: d.Store, limit: cfg.LockoutAttempts, base: cfg.CodeLockoutBase, max: cfg.CodeLockoutMax,
		memory: cfg.CodeBudgetMemory, now: d.Now, log: d.Logger, emit: s.emit,
	}
	s.throttle = &throttle{st: d.Store, cfg: &s.cfg}
	return s
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

func (s *Service) emit(ctx context.Context, name string, fields ...zap.Field) {
	if s.events != nil {
		s.events.Event(ctx, name, fields...)
	}
}
