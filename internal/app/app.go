// Package app wires authgate's services together from plain
// configuration: users, sessions, sign-ins, tokens, passwords and
// delivery over one store. It holds no rule of its own: each rule lives in
// the package that owns it, each default in internal/defaults.
// caddymodule builds one Services per authgate app; tests build their own.
package app

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/internal/defaults"
	"github.com/authgate/authgate/internal/secret"
	"github.com/authgate/authgate/internal/smsguard"
	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/password"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/signup"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/token"
	"github.com/authgate/authgate/users"
)

// Events receives audit events and gate decisions; caddymodule's audit
// log (with metrics) implements it.
type Events interface {
	Event(ctx context.Context, name string, fields ...zap.Field)
	Gate(decision string)
}

// Config configures the services.
type Config struct {
	Alg             string
	TokenLifetime   time.Duration
	SessionLifetime time.Duration
	SignIn          signin.Config
	// SignUp is self-service sign-up (the zero value: off).
	SignUp    signup.Config
	MinLength int
	// MinStrength is the lowest zxcvbn score of a new password (0: the
	// default, negative: no estimate).
	MinStrength int
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
	// MFA is which second factors are offered; nil: the defaults
	// (authenticator apps and backup codes on, SMS codes off, none
	// required). An empty Issuer is the app name.
	MFA *mfa.Config
	Now func() time.Time
	// Events defaults to the authgate.audit logger alone.
	Events Events
}

// Services holds the services.
type Services struct {
	Store    store.Store
	Users    *users.Service
	Sessions *session.Manager
	SignIn   *signin.Service
	// SignUp is self-service sign-up; with Config.SignUp off every call
	// answers sign_up_disabled.
	SignUp    *signup.Service
	Tokens    *token.Keyring
	Passwords *password.Service
	// MFA keeps the users' second factors.
	MFA *mfa.Service
	// CSRFKey is the pages' CSRF secret, shared by every instance.
	CSRFKey *secret.Key
	Events  Events
	Config  Config

	// Deliveries runs the sign-in service's background deliveries (codes
	// and notices); tests wait on it before reading the mailbox.
	Deliveries *signin.Pool
}

func (cfg *Config) defaults(logger *zap.Logger) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = defaults.TokenLifetime
	}
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = defaults.SessionLifetime
	}
	if cfg.MinLength <= 0 {
		cfg.MinLength = defaults.MinLength
	}
	switch {
	case cfg.MinStrength == 0:
		cfg.MinStrength = defaults.MinStrength
	case cfg.MinStrength < 0:
		cfg.MinStrength = 0
	}
	if cfg.HashQueue == 0 {
		cfg.HashQueue = defaults.HashQueue
	}
	if cfg.Emailer == nil {
		cfg.Emailer = notify.NewLogEmailer(logger.Named("email"))
	}
	if cfg.Texter == nil {
		cfg.Texter = notify.NewLogTexter(logger.Named("sms"))
	}
	if cfg.Events == nil {
		cfg.Events = logEvents{logger.Named("audit")}
	}
	if cfg.MFA == nil {
		cfg.MFA = &mfa.Config{
			TOTP: defaults.MFATOTP, BackupCodes: defaults.MFABackupCodes,
			PhoneCode: defaults.MFAPhoneCode, Required: defaults.MFARequired,
		}
	}
	if cfg.MFA.Issuer == "" {
		cfg.MFA.Issuer = cfg.AppName
	}
}

// New builds the services over st. It does no I/O; call Load before
// serving.
func New(cfg Config, st store.Store, logger *zap.Logger) (*Services, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	cfg.defaults(logger)
	params := password.DefaultParams()
	if cfg.HashParams != nil {
		params = *cfg.HashParams
	}
	pw := password.NewService(password.ServiceConfig{
		Params: params, HashWorkers: cfg.HashWorkers, HashQueue: cfg.HashQueue, MinLength: cfg.MinLength, MinStrength: cfg.MinStrength,
		Breach: cfg.Breach, AcceptOnBreachError: cfg.BreachOnError == "accept", AppName: cfg.AppName, Logger: logger,
	})
	keys, err := token.NewKeyring(st, token.Config{Alg: cfg.Alg, Lifetime: cfg.TokenLifetime, Now: cfg.Now}, logger.Named("keys"))
	if err != nil {
		return nil, fmt.Errorf("configuring signing keys: %w", err)
	}
	s := &Services{Store: st, Tokens: keys, Passwords: pw, Events: cfg.Events, Config: cfg}
	s.CSRFKey = secret.New(st, CSRFKeyName)
	s.Users = users.NewService(st, pw, cfg.Now)
	s.Sessions = session.NewManager(st, cfg.SessionLifetime, cfg.Now)
	s.Deliveries = signin.NewPool(signin.DefaultPoolSize, logger)
	s.MFA = mfa.New(*cfg.MFA, mfa.Deps{Store: st, Key: secret.New(st, mfa.KeyName), Now: cfg.Now})
	if cfg.SignIn.PhoneCountries == nil {
		// A user adds a phone only where sign-up may text (smsguard). With
		// sign-up off every account is an administrator's, so no stranger
		// can text through it: any country's mobile numbers, with the SMS
		// budgets.
		cfg.SignIn.PhoneCountries = cfg.SignUp.PhoneCountries
		if !cfg.SignUp.Enabled {
			cfg.SignIn.PhoneCountries = smsguard.AllRegions()
		}
	}
	s.SignIn = signin.New(cfg.SignIn, signin.Deps{
		Store: st, Users: s.Users, Sessions: s.Sessions, CodeKey: secret.New(st, signin.CodeKeyName),
		SecondFactors: s.MFA, Hasher: pw, Rules: pw,
		Deliver: &notify.Deliverer{Email: cfg.Emailer, SMS: cfg.Texter, AppName: cfg.AppName},
		Events:  cfg.Events, Logger: logger, Now: cfg.Now, Pool: s.Deliveries,
	})
	s.SignUp = signup.New(signUpConfig(cfg.SignUp, s.SignIn.Config()), signup.Deps{
		Store: st, Users: s.Users, Sessions: s.Sessions, Passwords: pw, CodeKey: secret.New(st, signin.CodeKeyName),
		Deliver: &notify.Deliverer{Email: cfg.Emailer, SMS: cfg.Texter, AppName: cfg.AppName},
		Events:  cfg.Events, Logger: logger, Now: cfg.Now, Pool: s.Deliveries,
		Policy: tasks.Policy{RequireSecondFactor: cfg.MFA.Required},
	})
	return s, nil
}

// signUpConfig gives sign-up the code rules of sign-in and reset
// (code_ttl, code_max_attempts, resend and send limits) unless its own
// limits set them: a code is a code, whichever flow sent it.
func signUpConfig(c signup.Config, in signin.Config) signup.Config {
	l := &c.Limits
	for _, f := range []struct{ v, d *time.Duration }{
		{&l.CodeTTL, &in.CodeTTL}, {&l.ResendAfter, &in.ResendAfter}, {&l.SendWindow, &in.SendWindow},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	for _, f := range []struct{ v, d *int }{
		{&l.CodeMaxAttempts, &in.CodeMaxAttempts}, {&l.SendsPerIdentifier, &in.SendsPerIdentifier}, {&l.SendsPerIP, &in.SendsPerIP},
	} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	return c
}

// Load reads (or creates) the signing keys. It needs the store.
func (s *Services) Load(ctx context.Context) error {
	if err := s.Tokens.Load(ctx); err != nil {
		return fmt.Errorf("loading signing keys: %w", err)
	}
	// The identifier key and whether the old user layout must still be
	// read (see users.Load).
	if err := s.Users.Load(ctx); err != nil {
		return fmt.Errorf("loading the user layout: %w", err)
	}
	return nil
}

// logEvents writes audit events to a logger, without metrics.
type logEvents struct{ log *zap.Logger }

func (e logEvents) Event(_ context.Context, name string, fields ...zap.Field) {
	e.log.Info(name, fields...)
}
func (logEvents) Gate(string) {}
