package caddymodule

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/authgate/authgate/handlers"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/seal"
	"github.com/authgate/authgate/signin"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the authgate app: the state all sites share (one user base, one
// store, one signing key set). It is configured by the `authgate` global
// option; without one, every field takes its default.
type App struct {
	// Storage selects the backend. Default: the embedded bbolt file.
	Storage *StorageConfig `json:"storage,omitempty"`
	// Issuer is the JWT `iss`. Default: the request's origin.
	Issuer string `json:"issuer,omitempty"`
	// SigningAlg is RS256, EdDSA or ES256. Default: RS256.
	SigningAlg string `json:"signing_alg,omitempty"`
	// TokenLifetime is the lifetime of a session JWT. Default: 60s.
	TokenLifetime caddy.Duration `json:"token_lifetime,omitempty"`
	// SessionLifetime is the maximum lifetime of a session. Default: 168h.
	SessionLifetime caddy.Duration `json:"session_lifetime,omitempty"`
	// Email selects the email sender. Default: log.
	Email *EmailConfig `json:"email,omitempty"`
	// SMS selects the SMS sender. Default: log.
	SMS *SMSConfig `json:"sms,omitempty"`
	// Password holds the password rules.
	Password *PasswordConfig `json:"password,omitempty"`
	// CodeTTL is how long a verification code is valid. Default: 10m.
	CodeTTL caddy.Duration `json:"code_ttl,omitempty"`
	// CodeMaxAttempts is how many wrong tries a code allows. Default: 5.
	CodeMaxAttempts int `json:"code_max_attempts,omitempty"`
	// EnumerationProtection hides whether an identifier exists. Default: true.
	EnumerationProtection *bool `json:"enumeration_protection,omitempty"`
	// Lockout locks an account after repeated failed sign-ins.
	// Default: 10 attempts, 1h.
	Lockout *LockoutConfig `json:"lockout,omitempty"`
	// AppName is the application's name on the pages and in messages; a
	// new password may not equal it. Default: authgate
	AppName string `json:"app_name,omitempty"`
	// Templates is a folder of message templates (email subject, text and
	// HTML, SMS body per message kind) that override the embedded ones.
	Templates string `json:"templates,omitempty"`
	// EncryptionKey seals every secret the store keeps (signing keys,
	// code-HMAC and CSRF keys) with AES-256-GCM: 32 random bytes, base64,
	// placeholders allowed. The first key seals, the others (previous
	// keys) only open, and what they open is re-sealed with the first.
	// Default: for the embedded store, a key file beside the database
	// (<path>.key, mode 0600); for Redis, none (a warning at start).
	EncryptionKey []string `json:"encryption_key,omitempty"`
	// MFA selects the second factors: authenticator apps (TOTP), backup
	// codes, SMS codes, whether one is required, and the issuer name.
	// Default (also for a bare `mfa`): TOTP and backup codes on, SMS codes
	// off, not required, issuer app_name.
	MFA *MFAConfig `json:"mfa,omitempty"`
	// SignUp turns self-service sign-up on: what a new user signs up with
	// (email and/or phone, verified by a code), whether a username is
	// asked for, and the countries open to SMS sign-up. Default (no
	// sign_up): off, and the sign-up endpoints answer 403
	// sign_up_disabled; a bare `sign_up` is email, no username.
	SignUp *SignUpConfig `json:"sign_up,omitempty"`

	svc     *app.Services
	sealed  *seal.Store
	metrics *metrics
	poolKey string
	closers []func() error
	logger  *zap.Logger
	stop    chan struct{}
	rt      *appRuntime
}

// appRuntime is the app's mutable runtime state (kept behind a pointer
// so the module value can be copied).
type appRuntime struct {
	loadMu       sync.Mutex
	loaded       atomic.Bool
	lastLoad     time.Time
	adminOnce    sync.Once
	adminHandler *handlers.Admin
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "authgate",
		New: func() caddy.Module { return new(App) },
	}
}

// current is the running app, for the admin API and the CLI.
var current atomic.Pointer[App]

// Provision sets the app up: defaults, placeholders, the pooled store
// and the services. It does no network I/O.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	a.rt = &appRuntime{}
	a.applyDefaults()
	if msg := a.SignUp.signUpWarning(); msg != "" {
		a.logger.Warn(msg)
	}
	repl := caddy.NewReplacer()
	st, key, err := acquireStore(repl.ReplaceAll(a.Storage.Backend, ""), repl.ReplaceAll(a.Storage.Path, ""), repl.ReplaceAll(a.Storage.URL, ""))
	if err != nil {
		return fmt.Errorf("opening %s storage: %w", a.Storage.Backend, err)
	}
	a.poolKey = key
	ring, err := a.encryptionRing(repl)
	if err != nil {
		return err
	}
	st = a.sealSecrets(st, ring)
	opts, err := a.messageOptions(repl)
	if err != nil {
		return err
	}
	emailer, err := a.buildEmailer(repl, opts)
	if err != nil {
		return err
	}
	texter, err := a.buildTexter(repl, opts)
	if err != nil {
		return err
	}
	checker, err := a.buildBreach(repl)
	if err != nil {
		return err
	}
	a.metrics = newMetrics(ctx)
	pc := a.Password
	a.svc, err = app.New(app.Config{
		Alg:             a.SigningAlg,
		TokenLifetime:   time.Duration(a.TokenLifetime),
		SessionLifetime: time.Duration(a.SessionLifetime),
		SignIn: signin.Config{
			CodeTTL:               time.Duration(a.CodeTTL),
			CodeMaxAttempts:       a.CodeMaxAttempts,
			EnumerationProtection: *a.EnumerationProtection,
			LockoutAttempts:       a.Lockout.Attempts,
			LockoutDuration:       time.Duration(a.Lockout.Duration),
			BreachOnSignIn:        pc.BreachOnSignIn,
		},
		MinLength:     pc.MinLength,
		Breach:        checker,
		BreachOnError: pc.BreachOnError,
		Emailer:       countingEmailer{emailer, a.metrics},
		Texter:        countingTexter{texter, a.metrics},
		Events:        &audit{log: a.logger.Named("audit"), metrics: a.metrics},
		AppName:       a.AppName,
		MFA:           a.MFA.resolved(),
		SignUp:        a.SignUp.resolved(),
	}, st, a.logger)
	return err
}

// Validate checks the configuration without side effects. Each check is
// in validate.go; the Caddyfile parser runs them too.
func (a *App) Validate() error {
	return firstError(block(a.Storage, (*StorageConfig).check), a.checkTokens,
		block(a.Email, (*EmailConfig).check), block(a.SMS, (*SMSConfig).check),
		block(a.Password, (*PasswordConfig).check), a.checkCodes, block(a.Lockout, (*LockoutConfig).check),
		a.checkAppName, a.checkEncryptionKey, block(a.MFA, (*MFAConfig).check), block(a.SignUp, (*SignUpConfig).check))
}

// Start loads the signing keys (when the store is reachable; otherwise
// the gate retries and answers 503 meanwhile) and starts the key refresh.
func (a *App) Start() error {
	a.stop = make(chan struct{})
	if err := a.ensureLoaded(); err != nil {
		if fatal := loadError(err); fatal != nil {
			return fatal
		}
		a.logger.Error("authgate store not ready; requests get 503 until it is", zap.Error(err))
	}
	go a.refreshKeys(a.stop)
	current.Store(a)
	return nil
}

// Stop stops the background work.
func (a *App) Stop() error {
	if a.stop != nil {
		close(a.stop)
	}
	current.CompareAndSwap(a, nil)
	return nil
}

// Cleanup releases the pooled store and the breach index.
func (a *App) Cleanup() error {
	var errs []error
	for _, c := range a.closers {
		errs = append(errs, c())
	}
	if a.poolKey != "" {
		if _, err := storePool.Delete(a.poolKey); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.Validator    = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
