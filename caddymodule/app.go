package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/handlers"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/password"
	"github.com/authgate/authgate/password/breach"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/store"
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

	svc     *app.Services
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
	repl := caddy.NewReplacer()
	if a.Storage == nil {
		a.Storage = &StorageConfig{Backend: "file"}
	}
	if a.Storage.Backend == "" {
		a.Storage.Backend = "file"
	}
	if a.Storage.Backend == "file" && a.Storage.Path == "" {
		a.Storage.Path = filepath.Join(caddy.AppDataDir(), "authgate", "authgate.db")
	}
	st, key, err := acquireStore(repl.ReplaceAll(a.Storage.Backend, ""), repl.ReplaceAll(a.Storage.Path, ""), repl.ReplaceAll(a.Storage.URL, ""))
	if err != nil {
		return fmt.Errorf("opening %s storage: %w", a.Storage.Backend, err)
	}
	a.poolKey = key

	var opts []notify.Option
	if a.Templates != "" {
		t, err := notify.LoadTemplates(repl.ReplaceAll(a.Templates, ""))
		if err != nil {
			return fmt.Errorf("loading message templates: %w", err)
		}
		opts = append(opts, notify.WithTemplates(t))
	}
	emailer, err := a.buildEmailer(repl, opts)
	if err != nil {
		return err
	}
	texter, err := a.buildTexter(repl, opts)
	if err != nil {
		return err
	}
	pc := a.Password
	if pc == nil {
		pc = &PasswordConfig{}
	}
	checker, err := a.buildBreach(pc, repl)
	if err != nil {
		return err
	}
	lock := a.Lockout
	if lock == nil {
		lock = &LockoutConfig{}
	}
	enumeration := a.EnumerationProtection == nil || *a.EnumerationProtection
	a.metrics = newMetrics(ctx)
	a.svc, err = app.New(app.Config{
		Alg:             a.SigningAlg,
		TokenLifetime:   time.Duration(a.TokenLifetime),
		SessionLifetime: time.Duration(a.SessionLifetime),
		SignIn: signin.Config{
			CodeTTL:               time.Duration(a.CodeTTL),
			CodeMaxAttempts:       a.CodeMaxAttempts,
			EnumerationProtection: enumeration,
			LockoutAttempts:       lock.Attempts,
			LockoutDuration:       time.Duration(lock.Duration),
			BreachOnSignIn:        pc.BreachOnSignIn,
		},
		MinLength:     pc.MinLength,
		Breach:        checker,
		BreachOnError: pc.BreachOnError,
		Emailer:       emailer,
		Texter:        texter,
		Events:        &audit{log: a.logger.Named("audit"), metrics: a.metrics},
		AppName:       a.AppName,
	}, st, a.logger)
	if err != nil {
		return err
	}
	return nil
}

func (a *App) buildEmailer(repl *caddy.Replacer, opts []notify.Option) (notify.Emailer, error) {
	if a.Email == nil || a.Email.Sender == "" || a.Email.Sender == "log" {
		return notify.NewLogEmailer(a.logger.Named("email"), opts...), nil
	}
	e, err := notify.NewSMTP(notify.SMTPConfig{
		Address:  repl.ReplaceAll(a.Email.Address, ""),
		From:     repl.ReplaceAll(a.Email.From, ""),
		TLS:      a.Email.TLS,
		Username: repl.ReplaceAll(a.Email.Username, ""),
		Password: repl.ReplaceAll(a.Email.Password, ""),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("configuring email smtp: %w", err)
	}
	return e, nil
}

func (a *App) buildTexter(repl *caddy.Replacer, opts []notify.Option) (notify.Texter, error) {
	if a.SMS == nil || a.SMS.Sender == "" || a.SMS.Sender == "log" {
		return notify.NewLogTexter(a.logger.Named("sms"), opts...), nil
	}
	switch a.SMS.Sender {
	case "webhook":
		t, err := notify.NewWebhook(repl.ReplaceAll(a.SMS.URL, ""), nil, opts...)
		if err != nil {
			return nil, fmt.Errorf("configuring sms webhook: %w", err)
		}
		return t, nil
	case "twilio":
		t, err := notify.NewTwilio(notify.TwilioConfig{
			AccountSID: repl.ReplaceAll(a.SMS.AccountSID, ""),
			AuthToken:  repl.ReplaceAll(a.SMS.AuthToken, ""),
			From:       repl.ReplaceAll(a.SMS.From, ""),
			BaseURL:    repl.ReplaceAll(a.SMS.BaseURL, ""),
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("configuring sms twilio: %w", err)
		}
		return t, nil
	}
	return nil, fmt.Errorf("sms: unknown sender %q", a.SMS.Sender)
}

func (a *App) buildBreach(pc *PasswordConfig, repl *caddy.Replacer) (password.Checker, error) {
	src := "common"
	var bc BreachConfig
	if pc.Breach != nil {
		bc = *pc.Breach
		if bc.Source != "" {
			src = bc.Source
		}
	}
	switch src {
	case "common":
		return breach.Common(), nil
	case "off":
		return nil, nil
	case "hibp":
		return breach.HIBP(repl.ReplaceAll(bc.URL, "")), nil
	case "file":
		idx, err := breach.Open(repl.ReplaceAll(bc.Path, ""))
		if err != nil {
			return nil, fmt.Errorf("opening password breach index: %w", err)
		}
		a.closers = append(a.closers, idx.Close)
		// The embedded list still catches the most common passwords.
		return breach.Any(breach.Common(), idx), nil
	}
	return nil, fmt.Errorf("password breach: unknown source %q", src)
}

// Validate checks the configuration without side effects. JSON configs
// get the same checks as the Caddyfile parser gives (caddyfile.go).
func (a *App) Validate() error {
	if a.SigningAlg != "" && !slices.Contains(signingAlgs, a.SigningAlg) {
		return fmt.Errorf("signing_alg must be RS256, EdDSA or ES256, not %q", a.SigningAlg)
	}
	if a.TokenLifetime < 0 {
		return errors.New("token_lifetime must be positive")
	}
	if a.SessionLifetime < 0 {
		return errors.New("session_lifetime must be positive")
	}
	if a.TokenLifetime > 0 && a.SessionLifetime > 0 && a.TokenLifetime > a.SessionLifetime {
		return errors.New("token_lifetime must not exceed session_lifetime")
	}
	if a.CodeTTL < 0 || time.Duration(a.CodeTTL) > maxCodeTTL {
		return fmt.Errorf("code_ttl must be positive and at most %s", maxCodeTTL)
	}
	if a.CodeMaxAttempts < 0 || a.CodeMaxAttempts > maxCodeMaxAttempts {
		return fmt.Errorf("code_max_attempts must be between 1 and %d", maxCodeMaxAttempts)
	}
	if len(a.AppName) > 100 || strings.ContainsAny(a.AppName, "\r\n") {
		return errors.New("app_name must be one line of at most 100 bytes")
	}
	if a.Issuer != "" {
		if err := validateIssuer(a.Issuer); err != nil {
			return fmt.Errorf("issuer: %w", err)
		}
	}
	if s := a.Storage; s != nil {
		switch s.Backend {
		case "", "file":
		case "redis":
			if err := validateRedisURL(s.URL); err != nil {
				return fmt.Errorf("storage redis: %w", err)
			}
		default:
			return fmt.Errorf("storage must be file or redis, not %q", s.Backend)
		}
	}
	if e := a.Email; e != nil {
		switch e.Sender {
		case "", "log":
		case "smtp":
			if err := validateHostPort(e.Address); err != nil {
				return fmt.Errorf("email smtp address: %w", err)
			}
			if err := validateMailbox(e.From); err != nil {
				return fmt.Errorf("email smtp from: %w", err)
			}
			if e.TLS != "" && !slices.Contains(smtpTLSModes, e.TLS) {
				return fmt.Errorf("email smtp tls must be none, starttls or implicit, not %q", e.TLS)
			}
		default:
			return fmt.Errorf("email must be smtp or log, not %q", e.Sender)
		}
	}
	if s := a.SMS; s != nil {
		switch s.Sender {
		case "", "log":
		case "webhook":
			if err := validateHTTPURL(s.URL); err != nil {
				return fmt.Errorf("sms webhook: %w", err)
			}
		case "twilio":
			if s.AccountSID == "" || s.AuthToken == "" || s.From == "" {
				return errors.New("sms twilio: account_sid, auth_token and from are required")
			}
			if err := validateE164(s.From); err != nil {
				return fmt.Errorf("sms twilio from: %w", err)
			}
		default:
			return fmt.Errorf("sms must be webhook, twilio or log, not %q", s.Sender)
		}
	}
	if p := a.Password; p != nil {
		if p.MinLength != 0 && (p.MinLength < minPasswordMinLength || p.MinLength > maxPasswordMinLength) {
			return fmt.Errorf("password min_length must be between %d and %d, not %d", minPasswordMinLength, maxPasswordMinLength, p.MinLength)
		}
		if p.BreachOnError != "" && !slices.Contains(breachOnErrors, p.BreachOnError) {
			return fmt.Errorf("password breach_on_error must be refuse or accept, not %q", p.BreachOnError)
		}
		if b := p.Breach; b != nil {
			switch b.Source {
			case "", "common", "off", "hibp":
			case "file":
				if b.Path == "" {
					return errors.New("password breach file needs an index path")
				}
			default:
				return fmt.Errorf("password breach must be hibp, file, off or common, not %q", b.Source)
			}
		}
	}
	if l := a.Lockout; l != nil && (l.Attempts < 0 || l.Attempts > maxLockoutAttempts || l.Duration < 0) {
		return fmt.Errorf("lockout needs 1 to %d attempts and a positive duration", maxLockoutAttempts)
	}
	return nil
}

// Start loads the signing keys (when the store is reachable; otherwise
// the gate retries and answers 503 meanwhile) and starts the key refresh.
func (a *App) Start() error {
	a.stop = make(chan struct{})
	if err := a.ensureLoaded(); err != nil {
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

// ensureLoaded loads the signing keys once; on failure it retries at
// most once a second.
func (a *App) ensureLoaded() error {
	if a.rt.loaded.Load() {
		return nil
	}
	a.rt.loadMu.Lock()
	defer a.rt.loadMu.Unlock()
	if a.rt.loaded.Load() {
		return nil
	}
	if time.Since(a.rt.lastLoad) < time.Second {
		return fmt.Errorf("signing keys not loaded yet: %w", store.ErrUnavailable)
	}
	a.rt.lastLoad = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.svc.Load(ctx); err != nil {
		return err
	}
	a.rt.loaded.Store(true)
	return nil
}

func (a *App) refreshKeys(stop chan struct{}) {
	keys := time.NewTicker(time.Minute)
	defer keys.Stop()
	stats := time.NewTicker(5 * time.Second)
	defer stats.Stop()
	for {
		select {
		case <-stop:
			return
		case <-stats.C:
			a.metrics.Hashing(a.svc.Passwords.Stats())
		case <-keys.C:
			if !a.rt.loaded.Load() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := a.svc.Tokens.Refresh(ctx); err != nil {
				a.logger.Warn("refreshing signing keys", zap.Error(err))
			}
			cancel()
		}
	}
}

// unavailableResponse answers 503 while the store is not ready.
func unavailableResponse(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "5")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`{"errors":[{"code":"service_unavailable","message":"Service unavailable","long_message":"The service is temporarily unavailable. Please try again shortly."}]}` + "\n"))
}

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.Validator    = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
