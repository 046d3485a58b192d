// Package signup is self-service sign-up through authgate's Frontend API
// (Clerk's SignUp resource): a sign-up attempt collects an email address
// or phone number, a password and maybe a username, proves the address or
// number with a one-time code and then creates the user (the same record
// the admin API creates, with that identifier verified) and signs the
// client in.
//
// It is off unless the Caddyfile has a sign_up line (Config.Enabled);
// while off, every method answers ErrDisabled.
//
// Files: signup.go the service and its API, config.go its configuration
// and limits, attempt.go the stored attempt, flow.go its transitions
// (Create, Update, Get), verify.go the codes (PrepareVerification,
// AttemptVerification), complete.go the user's creation, pumping.go the
// rules against SMS pumping, limits.go the rate limits and the wrong-code
// budget.
//
// Enumeration safety: an address or number that already has an account
// is treated exactly like a new one (the same answers, the same work,
// deliveries in the background), except that its owner gets a notice
// instead of a code and the stored code MAC matches nothing.
package signup

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/users"
)

// ErrDisabled is every answer of a Service whose Config is not Enabled.
var ErrDisabled = apierr.SignUpDisabled

// ErrNotFound is returned for unknown or foreign sign-up ids.
var ErrNotFound = apierr.ResourceNotFound.WithLongMessage("No sign up was found with this id.")

// Store is the part of store.Store sign-up uses: what a sign-in uses
// (attempts, codes, counters, claims and rate limits), for the same
// kinds of records.
type Store = signin.Store

// Users finds and creates accounts (users.Service).
type Users interface {
	Find(ctx context.Context, k users.Kind, normalized string) (*users.User, error)
	Get(ctx context.Context, id string) (*users.User, error)
	Create(ctx context.Context, nu users.NewUser) (*users.User, error)
}

// Sessions signs the client in once the user exists (session.Manager).
type Sessions interface {
	Create(ctx context.Context, c *session.Client, ns session.NewSession) (*session.Session, error)
}

// Passwords checks and hashes a new password (password.Service): the
// same rules as a reset, the breach check included.
type Passwords interface {
	Validate(ctx context.Context, pw string, identifiers []string) error
	Hash(ctx context.Context, pw string) (string, error)
}

// Key is the code HMAC key (secret.Key; the sign-in's, signin.CodeKeyName).
type Key interface {
	Get(ctx context.Context) ([]byte, error)
}

// Deliverer sends the code or the notice.
type Deliverer interface {
	Deliver(ctx context.Context, n notify.Notice) error
}

// Events receives audit events.
type Events interface {
	Event(ctx context.Context, name string, fields ...zap.Field)
}

// Deps are the collaborators of a Service.
type Deps struct {
	Store     Store
	Users     Users
	Sessions  Sessions
	Passwords Passwords
	CodeKey   Key
	Deliver   Deliverer
	Events    Events
	Logger    *zap.Logger
	Now       func() time.Time
	// Policy is the deployment's rule for new sessions (a required second
	// factor gives a new user's session the setup-mfa task, as a sign-in's).
	Policy tasks.Policy
	// Pool runs the deliveries in the background (the sign-in's,
	// app.Services.Deliveries), so known and new identifiers answer in
	// the same time; nil: a pool of its own.
	Pool *signin.Pool
}

// Request carries what the HTTP layer knows about the caller: its client
// (created before a sign-up starts) and IP.
type Request = signin.Request

// CreateParams are the parameters of POST /v1/client/sign_ups. Unknown
// parameters are ignored by the handler.
type CreateParams struct {
	EmailAddress string
	PhoneNumber  string
	Password     string
	Username     string
	// Strategy, if given, must be a code strategy: clerk-js sends none.
	Strategy string
}

// UpdateParams are the parameters of PATCH /v1/client/sign_ups/{id}: a
// nil field is left as it is; an empty one clears it.
type UpdateParams struct {
	EmailAddress *string
	PhoneNumber  *string
	Password     *string
	Username     *string
}

// PrepareParams are the parameters of prepare_verification.
type PrepareParams struct {
	// Strategy is StrategyEmailCode or StrategyPhoneCode.
	Strategy string
}

// AttemptParams are the parameters of attempt_verification.
type AttemptParams struct {
	Strategy string
	Code     string
}

// Strategies of a sign-up verification.
const (
	StrategyEmailCode = "email_code"
	StrategyPhoneCode = "phone_code"
)

// Result is a sign-up attempt; once complete, the user it created and the
// session the client was signed in with (set only on the request that
// completed it: the handler issues the session token then).
type Result struct {
	Attempt *Attempt
	// Fields are the attempt's required, optional, missing and unverified
	// fields (Clerk's required_fields, ...).
	Fields  Fields
	User    *users.User
	Session *session.Session
}

// Service runs sign-up attempts.
type Service struct {
	cfg      Config
	st       Store
	users    Users
	sessions Sessions
	pw       Passwords
	keys     Key
	deliver  Deliverer
	events   Events
	log      *zap.Logger
	now      func() time.Time
	pool     *signin.Pool
	policy   tasks.Policy
	limits   *limits
}

// New returns a sign-up service; Config's zero fields take their defaults
// (identifiers: email; username: off).
func New(cfg Config, d Deps) *Service {
	cfg.fill()
	d.Now, d.Logger, d.Pool = signin.RuntimeDefaults(d.Now, d.Logger, d.Pool)
	s := &Service{
		cfg: cfg, st: d.Store, users: d.Users, sessions: d.Sessions, pw: d.Passwords, keys: d.CodeKey,
		deliver: d.Deliver, events: d.Events, log: d.Logger, now: d.Now, pool: d.Pool, policy: d.Policy,
	}
	s.limits = newLimits(d.Store, &s.cfg.Limits, d.Now, d.Logger)
	return s
}

// Config returns the effective configuration (defaults filled in).
func (s *Service) Config() Config { return s.cfg }

func (s *Service) emit(ctx context.Context, name string, fields ...zap.Field) {
	if s.events != nil {
		s.events.Event(ctx, name, fields...)
	}
}
