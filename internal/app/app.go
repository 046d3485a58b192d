// Package engine wires authgate's services together from plain
// configuration: users, sessions, sign-ins, tokens, passwords and
// delivery over one store. caddymodule builds one Engine per authgate
// app; tests build their own.
package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/password"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/token"
	"github.com/authgate/authgate/users"
)

// Metrics receives counters; caddymodule implements it with Prometheus.
type Metrics interface {
	// Event counts an audit event by name and result (low cardinality).
	Event(name, result string)
	// Gate counts a gate decision.
	Gate(decision string)
	// Hashing reports the hashing pool's running and queued jobs.
	Hashing(running, queued int)
}

// Config configures an Engine.
type Config struct {
	Alg             string
	TokenLifetime   time.Duration
	SessionLifetime time.Duration
	SignIn          signin.Config
	MinLength       int
	// Breach is the breach source (nil: none).
	Breach password.Checker
	// BreachOnError is "refuse" (default) or "accept".
	BreachOnError string
	Emailer       notify.Emailer
	Texter        notify.Texter
	// HashParams defaults to password.DefaultParams().
	HashParams  *password.Params
	HashWorkers int
	HashQueue   int
	AppName     string
	Now         func() time.Time
	Metrics     Metrics
}

// Engine holds the services.
type Engine struct {
	Store     store.Store
	Users     *users.Service
	Sessions  *session.Manager
	SignIn    *signin.Service
	Tokens    *token.Keyring
	Passwords *Passwords
	Events    *Events
	Config    Config
}

// New builds an Engine over st. It does no I/O; call Load before serving.
func New(cfg Config, st store.Store, logger *zap.Logger) (*Engine, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = 60 * time.Second
	}
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = 168 * time.Hour
	}
	if cfg.MinLength <= 0 {
		cfg.MinLength = password.DefaultMinLength
	}
	if cfg.HashQueue == 0 {
		cfg.HashQueue = 64
	}
	params := password.DefaultParams()
	if cfg.HashParams != nil {
		params = *cfg.HashParams
	}
	if cfg.Emailer == nil {
		cfg.Emailer = notify.NewLogEmailer(logger.Named("email"))
	}
	if cfg.Texter == nil {
		cfg.Texter = notify.NewLogTexter(logger.Named("sms"))
	}
	events := &Events{log: logger.Named("audit"), metrics: cfg.Metrics}
	pw := &Passwords{
		hasher: password.NewHasher(params, cfg.HashWorkers, cfg.HashQueue),
		policy: password.Policy{MinLength: cfg.MinLength, Breach: cfg.Breach},
		breach: cfg.Breach, acceptOnError: cfg.BreachOnError == "accept", log: logger, appName: cfg.AppName,
	}
	keys, err := token.NewKeyring(st, token.Config{Alg: cfg.Alg, Lifetime: cfg.TokenLifetime, Now: cfg.Now}, logger.Named("keys"))
	if err != nil {
		return nil, fmt.Errorf("configuring signing keys: %w", err)
	}
	e := &Engine{Store: st, Tokens: keys, Passwords: pw, Events: events, Config: cfg}
	e.Users = users.NewService(st, pw, cfg.Now)
	e.Sessions = session.NewManager(st, cfg.SessionLifetime, cfg.Now)
	e.SignIn = signin.New(cfg.SignIn, signin.Deps{
		Store: st, Users: e.Users, Sessions: e.Sessions, Hasher: pw, Rules: pw,
		Deliver: &Deliverer{email: cfg.Emailer, sms: cfg.Texter, appName: cfg.AppName},
		Events:  events, Logger: logger, Now: cfg.Now,
	})
	return e, nil
}

// Load reads (or creates) the signing keys. It needs the store.
func (e *Engine) Load(ctx context.Context) error {
	if err := e.Tokens.Load(ctx); err != nil {
		return fmt.Errorf("loading signing keys: %w", err)
	}
	return nil
}

// Passwords adapts package password to the services: hashing in a
// bounded pool, the rules for new passwords mapped to Clerk's errors.
type Passwords struct {
	hasher        *password.Hasher
	policy        password.Policy
	breach        password.Checker
	acceptOnError bool
	log           *zap.Logger
	appName       string
}

// Hash hashes a password with argon2id.
//
// When the hashing pool is full the error is a 429 too_many_requests
// (and still matches password.ErrBusy).
func (p *Passwords) Hash(ctx context.Context, pw string) (string, error) {
	digest, err := p.hasher.Hash(ctx, pw)
	if errors.Is(err, password.ErrBusy) {
		return "", fmt.Errorf("%w: %w", apierr.TooManyRequests.WithRetryAfter(time.Second), err)
	}
	return digest, err
}

// Verify checks pw against a digest.
func (p *Passwords) Verify(ctx context.Context, pw, digest string) (bool, bool, error) {
	return p.hasher.Verify(ctx, pw, digest)
}

// VerifyDummy spends the time of a verification (unknown users).
func (p *Passwords) VerifyDummy(ctx context.Context, pw string) { _ = p.hasher.VerifyDummy(ctx, pw) }

// Busy reports whether err means the hashing pool is full.
func (p *Passwords) Busy(err error) bool { return errors.Is(err, password.ErrBusy) }

// Stats reports the hashing pool's load.
func (p *Passwords) Stats() (running, queued int) { return p.hasher.Stats() }

// CheckDigest validates an imported digest.
func (p *Passwords) CheckDigest(hasher, digest string) error {
	return password.CheckDigest(hasher, digest)
}

// Breached asks the breach source.
func (p *Passwords) Breached(ctx context.Context, pw string) (bool, error) {
	if p.breach == nil {
		return false, nil
	}
	return p.breach.Breached(ctx, pw)
}

// MinLength is the minimum password length.
func (p *Passwords) MinLength() int { return p.policy.MinLength }

// Validate applies the rules for a new password and returns Clerk's error.
func (p *Passwords) Validate(ctx context.Context, pw string, identifiers []string) error {
	ids := identifiers
	if p.appName != "" {
		ids = append(append([]string(nil), identifiers...), p.appName)
	}
	err := p.policy.Check(ctx, pw, ids)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, password.ErrTooLong):
		return apierr.FormPasswordSizeExceeded.WithParam("password")
	case errors.Is(err, password.ErrInvalid):
		return apierr.FormPasswordInvalid.WithParam("password")
	case errors.Is(err, password.ErrTooShort):
		return apierr.FormPasswordLengthTooShort.WithParam("password").
			WithLongMessage(fmt.Sprintf("Your password is too short. It must be at least %d characters long.", p.policy.MinLength))
	case errors.Is(err, password.ErrMatchesIdentifier):
		return apierr.FormPasswordMatchesIdentifier.WithParam("password")
	case errors.Is(err, password.ErrPwned):
		return apierr.FormPasswordPwned.WithParam("password")
	case errors.Is(err, password.ErrBreachUnavailable):
		p.log.Warn("breach check failed", zap.Bool("accepted", p.acceptOnError), zap.Error(err))
		if p.acceptOnError {
			return nil
		}
		return apierr.BreachCheckUnavailable.WithRetryAfter(30 * time.Second)
	}
	return fmt.Errorf("checking password: %w", err)
}

// Deliverer sends signin notices through notify.
type Deliverer struct {
	email   notify.Emailer
	sms     notify.Texter
	appName string
}

// Deliver sends one notice.
func (d *Deliverer) Deliver(ctx context.Context, n signin.Notice) error {
	m := notify.Message{Kind: notify.Kind(n.Kind), To: n.To, Code: n.Code, AppName: d.appName}
	if n.Code != "" {
		m.ExpiresIn = n.ExpiresIn
	}
	if n.Channel == signin.ChannelSMS {
		return d.sms.SendSMS(ctx, m)
	}
	return d.email.SendEmail(ctx, m)
}

// Events writes audit events to the authgate.audit logger and counts
// them.
type Events struct {
	log     *zap.Logger
	metrics Metrics
}

// Event records one audit event.
func (e *Events) Event(_ context.Context, name string, fields ...zap.Field) {
	e.log.Info(name, fields...)
	if e.metrics != nil {
		result := ""
		for _, f := range fields {
			if f.Key == "result" {
				result = f.String
			}
		}
		e.metrics.Event(name, result)
	}
}

// Gate counts a gate decision.
func (e *Events) Gate(decision string) {
	if e.metrics != nil {
		e.metrics.Gate(decision)
	}
}
