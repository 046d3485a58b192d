// Package signin is the sign-in attempt state machine of authgate's
// Frontend API: password, email_code, phone_code and the reset_password_*
// strategies, the codes they send, lockout and enumeration protection.
package signin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/defaults"
	"github.com/authgate/authgate/internal/ids"
	"github.com/authgate/authgate/internal/secret"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/users"
)

// Strategies.
const (
	StrategyPassword           = "password"
	StrategyEmailCode          = "email_code"
	StrategyPhoneCode          = "phone_code"
	StrategyResetPasswordEmail = "reset_password_email_code"
	StrategyResetPasswordPhone = "reset_password_phone_code"
)

// Sign-in statuses.
const (
	StatusNeedsIdentifier   = "needs_identifier"
	StatusNeedsFirstFactor  = "needs_first_factor"
	StatusNeedsSecondFactor = "needs_second_factor"
	StatusNeedsNewPassword  = "needs_new_password"
	StatusComplete          = "complete"
)

// Verification statuses.
const (
	VerUnverified = "unverified"
	VerVerified   = "verified"
	VerFailed     = "failed"
	VerExpired    = "expired"
)

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
	LockoutAttempts       int
	LockoutDuration       time.Duration
	BreachOnSignIn        bool
	AttemptLifetime       time.Duration
	// SendsPerIdentifier and SendsPerIP limit code sends per SendWindow.
	SendsPerIdentifier int
	SendsPerIP         int
	SendWindow         time.Duration
	// RequestsPerIP limits sign-in requests per IP per 10 seconds.
	RequestsPerIP int
}

// defaults fills zero fields from package defaults.
func (c *Config) defaults() {
	setDefault(&c.CodeTTL, defaults.CodeTTL)
	setDefault(&c.CodeMaxAttempts, defaults.CodeMaxAttempts)
	setDefault(&c.ResendAfter, defaults.ResendAfter)
	setDefault(&c.LockoutAttempts, defaults.LockoutAttempts)
	setDefault(&c.LockoutDuration, defaults.LockoutDuration)
	setDefault(&c.AttemptLifetime, defaults.AttemptLifetime)
	setDefault(&c.SendsPerIdentifier, defaults.SendsPerIdentifier)
	setDefault(&c.SendsPerIP, defaults.SendsPerIP)
	setDefault(&c.SendWindow, defaults.SendWindow)
	setDefault(&c.RequestsPerIP, defaults.RequestsPerIP)
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// Service runs sign-in attempts.
type Service struct {
	cfg      Config
	st       store.Store
	users    *users.Service
	sessions *session.Manager
	hasher   Hasher
	rules    Rules
	deliver  Deliverer
	events   Events
	log      *zap.Logger
	now      func() time.Time
	keys     *secret.Key
	pool     *Pool
}

// Deps are the collaborators of a Service.
type Deps struct {
	Store    store.Store
	Users    *users.Service
	Sessions *session.Manager
	Hasher   Hasher
	Rules    Rules
	Deliver  Deliverer
	Events   Events
	Logger   *zap.Logger
	Now      func() time.Time
	// Pool runs background deliveries; nil: a pool of DefaultPoolSize.
	Pool *Pool
}

// New returns a sign-in service.
func New(cfg Config, d Deps) *Service {
	cfg.defaults()
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = zap.NewNop()
	}
	if d.Pool == nil {
		d.Pool = NewPool(DefaultPoolSize, d.Logger)
	}
	return &Service{
		cfg: cfg, st: d.Store, users: d.Users, sessions: d.Sessions, hasher: d.Hasher, rules: d.Rules,
		deliver: d.Deliver, events: d.Events, log: d.Logger, now: d.Now,
		keys: secret.New(d.Store, "secrets:code_hmac"),
		pool: d.Pool,
	}
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// Verification is the first-factor verification of an attempt.
type Verification struct {
	Strategy string    `json:"strategy"`
	Status   string    `json:"status"`
	TargetID string    `json:"target_id,omitempty"`
	Target   string    `json:"target,omitempty"`
	Attempts int       `json:"attempts"`
	ExpireAt time.Time `json:"expire_at"`
}

// Attempt is a stored sign-in attempt.
type Attempt struct {
	ID         string     `json:"id"`
	ClientID   string     `json:"client_id"`
	Status     string     `json:"status"`
	Identifier string     `json:"identifier,omitempty"`
	Kind       users.Kind `json:"kind,omitempty"`
	UserID     string     `json:"user_id,omitempty"`
	Fake       bool       `json:"fake,omitempty"`
	// PasswordVerified is set when the (compromised) password was right:
	// the identity is known, so every factor of the user is offered.
	PasswordVerified bool          `json:"password_verified,omitempty"`
	FakeID           string        `json:"fake_id,omitempty"`
	Verification     *Verification `json:"verification,omitempty"`
	CreatedSessionID string        `json:"created_session_id,omitempty"`
	CreatedAt        time.Time     `json:"created_at"`
	AbandonAt        time.Time     `json:"abandon_at"`
}

func attemptKey(id string) string { return "sia:" + id }

// Request carries what the HTTP layer knows about the caller.
type Request struct {
	Client *session.Client
	IP     string
}

// CreateParams are the parameters of POST /v1/client/sign_ins.
type CreateParams struct {
	Strategy   string
	Identifier string
	Password   string
}

// AttemptParams are the parameters of attempt_first_factor.
type AttemptParams struct {
	Strategy string
	Code     string
	Password string
}

// PrepareParams are the parameters of prepare_first_factor.
type PrepareParams struct {
	Strategy       string
	EmailAddressID string
	PhoneNumberID  string
}

// Result is an attempt with the user behind it (nil for unknown users).
type Result struct {
	Attempt *Attempt
	User    *users.User
	Session *session.Session
}

// ErrNotFound is returned for unknown or foreign sign-in ids.
var ErrNotFound = apierr.ResourceNotFound.WithLongMessage("No sign in was found with this id.")

// Create starts a sign-in attempt.
func (s *Service) Create(ctx context.Context, rq Request, p CreateParams) (*Result, error) {
	if err := s.allowIP(ctx, "sign_in", rq.IP); err != nil {
		return nil, err
	}
	switch p.Strategy {
	case "", StrategyPassword, StrategyEmailCode, StrategyPhoneCode, StrategyResetPasswordEmail, StrategyResetPasswordPhone:
	default:
		return nil, apierr.FormParamValueInvalid.WithParam("strategy").WithLongMessage("strategy is not supported.")
	}
	if p.Strategy == "" && p.Identifier == "" {
		return nil, apierr.FormParamMissing.WithParam("identifier").WithLongMessage("identifier must be included.")
	}
	kind, ident, err := users.Classify(p.Identifier)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	a := &Attempt{
		ID: ids.New("sia"), ClientID: rq.Client.ID, Status: StatusNeedsFirstFactor,
		Identifier: ident, Kind: kind, CreatedAt: now, AbandonAt: now.Add(s.cfg.AttemptLifetime),
	}
	u, err := s.users.Find(ctx, kind, ident)
	switch {
	case errors.Is(err, users.ErrNotFound):
		if !s.cfg.EnumerationProtection {
			if p.Password != "" {
				s.hasher.VerifyDummy(ctx, p.Password)
			}
			return nil, apierr.FormIdentifierNotFound.WithParam("identifier")
		}
		a.Fake = true
		if a.FakeID, err = s.fakeID(ctx, kind, ident); err != nil {
			return nil, err
		}
		u = nil
	case err != nil:
		return nil, err
	default:
		a.UserID = u.ID
	}
	res := &Result{Attempt: a, User: u}

	switch {
	case p.Password != "" && (p.Strategy == "" || p.Strategy == StrategyPassword):
		if err := s.checkPassword(ctx, rq, res, p.Password); err != nil {
			// Keep the attempt so a client can continue with another factor;
			// after a compromised password it becomes the client's sign-in.
			_ = s.save(ctx, a)
			if a.PasswordVerified {
				_ = s.sessions.UpdateClient(ctx, rq.Client, func(c *session.Client) { c.SignInID = a.ID })
			}
			return nil, err
		}
	case p.Strategy == StrategyPassword:
		return nil, apierr.FormParamMissing.WithParam("password").WithLongMessage("password must be included.")
	case p.Strategy != "":
		if err := s.save(ctx, a); err != nil {
			return nil, err
		}
		if err := s.send(ctx, rq, res, p.Strategy, ""); err != nil {
			return nil, err
		}
	}
	if err := s.save(ctx, a); err != nil {
		return nil, err
	}
	if err := s.sessions.UpdateClient(ctx, rq.Client, func(c *session.Client) { c.SignInID = a.ID }); err != nil {
		return nil, fmt.Errorf("attaching sign-in to client: %w", err)
	}
	return res, nil
}

// fakeID is the identification id shown for an unknown identifier: stable
// for the identifier (as a real one is) and unguessable without the key.
func (s *Service) fakeID(ctx context.Context, kind users.Kind, ident string) (string, error) {
	key, err := s.keys.Get(ctx)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("fake-identification\x00" + string(kind) + "\x00" + ident))
	return ids.FromBytes("idn", m.Sum(nil)), nil
}

// Get loads an attempt of the caller's client.
func (s *Service) Get(ctx context.Context, rq Request, id string) (*Result, error) {
	if !ids.Valid("sia", id) {
		return nil, ErrNotFound
	}
	data, err := s.st.Get(ctx, attemptKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading sign-in: %w", err)
	}
	a := new(Attempt)
	if err := json.Unmarshal(data, a); err != nil {
		return nil, fmt.Errorf("decoding sign-in: %w", err)
	}
	if a.ClientID != rq.Client.ID || !s.now().Before(a.AbandonAt) {
		return nil, ErrNotFound
	}
	res := &Result{Attempt: a}
	if a.UserID != "" {
		u, err := s.users.Get(ctx, a.UserID)
		if errors.Is(err, users.ErrNotFound) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		res.User = u
	}
	if a.CreatedSessionID != "" {
		if sess, err := s.sessions.Get(ctx, a.CreatedSessionID); err == nil && sess.SignedIn(s.now()) {
			res.Session = sess
		}
	}
	return res, nil
}

func (s *Service) save(ctx context.Context, a *Attempt) error {
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encoding sign-in: %w", err)
	}
	ttl := a.AbandonAt.Sub(s.now()) + margin
	if err := s.st.Put(ctx, attemptKey(a.ID), data, ttl); err != nil {
		return fmt.Errorf("storing sign-in: %w", err)
	}
	return nil
}

// Prepare sends (or resends) a code for a code strategy.
func (s *Service) Prepare(ctx context.Context, rq Request, id string, p PrepareParams) (*Result, error) {
	res, err := s.Get(ctx, rq, id)
	if err != nil {
		return nil, err
	}
	switch res.Attempt.Status {
	case StatusComplete:
		return nil, apierr.ClientStateInvalid.WithLongMessage("This sign-in is already complete.")
	case StatusNeedsNewPassword:
		return nil, apierr.VerificationAlreadyVerified
	}
	switch p.Strategy {
	case StrategyEmailCode, StrategyPhoneCode, StrategyResetPasswordEmail, StrategyResetPasswordPhone:
	case StrategyPassword:
		return res, nil // nothing to prepare
	case "":
		return nil, apierr.FormParamMissing.WithParam("strategy").WithLongMessage("strategy must be included.")
	default:
		return nil, apierr.FormParamValueInvalid.WithParam("strategy").WithLongMessage("strategy is not supported.")
	}
	target := p.EmailAddressID
	if isPhone(p.Strategy) {
		target = p.PhoneNumberID
	}
	if err := s.send(ctx, rq, res, p.Strategy, target); err != nil {
		return nil, err
	}
	if err := s.save(ctx, res.Attempt); err != nil {
		return nil, err
	}
	return res, nil
}

func isPhone(strategy string) bool {
	return strategy == StrategyPhoneCode || strategy == StrategyResetPasswordPhone
}

func isReset(strategy string) bool {
	return strategy == StrategyResetPasswordEmail || strategy == StrategyResetPasswordPhone
}

// pickTarget finds the identification a code goes to: the given id, or
// the identifier the attempt was started with, or the user's first.
//
// With strict (enumeration protection) only the identifier the attempt
// started with can receive a code, for known and unknown users alike, so
// the answers do not tell them apart.
func pickTarget(a *Attempt, u *users.User, strategy, targetID string, strict bool) (users.Identification, error) {
	phone := isPhone(strategy)
	wantKind := users.KindEmail
	if phone {
		wantKind = users.KindPhone
	}
	if strict && u != nil && !a.PasswordVerified {
		if a.Kind != wantKind || (targetID != "" && targetID != u.IdentificationOf(a.Kind, a.Identifier).ID) {
			return users.Identification{}, apierr.StrategyForUserInvalid.WithParam("strategy")
		}
		return u.IdentificationOf(a.Kind, a.Identifier), nil
	}
	if u == nil { // unknown identifier: pretend, but only for its own kind
		if a.Kind != wantKind || (targetID != "" && targetID != a.FakeID) {
			return users.Identification{}, apierr.StrategyForUserInvalid.WithParam("strategy")
		}
		return users.Identification{ID: a.FakeID, Value: a.Identifier}, nil
	}
	list := u.Emails
	if phone {
		list = u.Phones
	}
	for _, idn := range list {
		if targetID != "" && idn.ID == targetID {
			return idn, nil
		}
	}
	if targetID != "" {
		p := "email_address_id"
		if phone {
			p = "phone_number_id"
		}
		return users.Identification{}, apierr.FormParamValueInvalid.WithParam(p).WithLongMessage(p + " does not belong to this account.")
	}
	for _, idn := range list {
		if a.Kind == wantKind && idn.Value == a.Identifier {
			return idn, nil
		}
	}
	if len(list) == 0 {
		return users.Identification{}, apierr.StrategyForUserInvalid.WithParam("strategy")
	}
	return list[0], nil
}

// send creates a new code for the attempt and delivers it. For unknown
// identifiers it does everything but the delivery.
func (s *Service) send(ctx context.Context, rq Request, res *Result, strategy, targetID string) error {
	a := res.Attempt
	// The lockout guards sign-in; password recovery stays open (codes
	// have their own limits), so a locked-out user can reset.
	if a.UserID != "" && !isReset(strategy) {
		if err := s.checkLocked(ctx, a.UserID); err != nil {
			return err
		}
	}
	if v := a.Verification; v != nil && v.Strategy != StrategyPassword && (v.Status == VerFailed || v.Attempts >= s.cfg.CodeMaxAttempts) {
		return apierr.VerificationFailed
	}
	target, err := pickTarget(a, res.User, strategy, targetID, s.cfg.EnumerationProtection)
	if err != nil {
		return err
	}
	// Resend cooldown, then rate limits (per identifier and per IP; the
	// same for known and unknown identifiers).
	if err := s.st.Create(ctx, resendKey(a.ID), []byte("1"), s.cfg.ResendAfter); err != nil {
		if errors.Is(err, store.ErrExists) {
			return apierr.VerificationCodeTooManyRequests.WithRetryAfter(s.cfg.ResendAfter)
		}
		return err
	}
	if err := s.allow(ctx, "send:id:"+target.Value, s.cfg.SendsPerIdentifier, s.cfg.SendWindow, apierr.VerificationCodeTooManyRequests); err != nil {
		return err
	}
	if rq.IP != "" {
		if err := s.allow(ctx, "send:ip:"+rq.IP, s.cfg.SendsPerIP, s.cfg.SendWindow, apierr.VerificationCodeTooManyRequests); err != nil {
			return err
		}
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	var code string
	var mac []byte
	if a.Fake {
		mac = fakeMAC()
	} else {
		key, err := s.keys.Get(ctx)
		if err != nil {
			return err
		}
		if code, err = NewCode(); err != nil {
			return err
		}
		mac = codeMAC(key, a.ID, a.UserID, strategy, code)
	}
	if err := s.st.Put(ctx, codeKey(a.ID), mac, s.cfg.CodeTTL+margin); err != nil {
		return fmt.Errorf("storing code: %w", err)
	}
	attempts := 0
	if a.Verification != nil {
		attempts = a.Verification.Attempts // a new code does not reset the failure count
	}
	a.Verification = &Verification{
		Strategy: strategy, Status: VerUnverified, TargetID: target.ID, Target: target.Value,
		Attempts: attempts, ExpireAt: now.Add(s.cfg.CodeTTL),
	}
	a.Status = StatusNeedsFirstFactor
	if err := s.save(ctx, a); err != nil {
		return err
	}
	if a.Fake {
		s.emit(ctx, "code_sent", zap.String("strategy", strategy), zap.Bool("delivered", false))
		return nil
	}
	kind := notify.KindSignInCode
	if isReset(strategy) {
		kind = notify.KindResetCode
	}
	ch := notify.ChannelEmail
	if isPhone(strategy) {
		ch = notify.ChannelSMS
	}
	n := notify.Notice{Channel: ch, Kind: kind, To: target.Value, Code: code, ExpiresIn: s.cfg.CodeTTL}
	if s.cfg.EnumerationProtection {
		// Deliver in the background: known and unknown identifiers answer
		// alike and in the same time. A failure leaves the code unusable.
		s.background(func() { s.deliverAsync(a.ID, n, strategy) })
		return nil
	}
	if err := s.deliver.Deliver(ctx, n); err != nil {
		s.codeUndeliverable(ctx, a.ID, strategy, err)
		return apierr.DeliveryFailed
	}
	s.emit(ctx, "code_sent", zap.String("strategy", strategy), zap.String("channel", string(ch)), zap.Bool("delivered", true))
	return nil
}

// background runs fn on the delivery pool; dropped work is an audit event.
func (s *Service) background(fn func()) {
	if !s.pool.Go(fn) {
		s.emit(context.Background(), "delivery_dropped")
	}
}

func (s *Service) deliverAsync(attemptID string, n notify.Notice, strategy string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.deliver.Deliver(ctx, n); err != nil {
		s.codeUndeliverable(ctx, attemptID, strategy, err)
		return
	}
	s.emit(ctx, "code_sent", zap.String("strategy", strategy), zap.String("channel", string(n.Channel)), zap.Bool("delivered", true))
}

func (s *Service) codeUndeliverable(ctx context.Context, attemptID, strategy string, err error) {
	_ = s.st.Delete(ctx, codeKey(attemptID))
	s.log.Error("delivering verification code failed", zap.String("sign_in_id", attemptID), zap.String("strategy", strategy), zap.Error(err))
	s.emit(ctx, "code_delivery_failed", zap.String("strategy", strategy))
}

// WaitDeliveries blocks until background deliveries finished (tests).
//
// Deprecated: wait on the Pool given in Deps (app.Services.Deliveries).
func (s *Service) WaitDeliveries() { s.pool.Wait() }

func (s *Service) emit(ctx context.Context, name string, fields ...zap.Field) {
	if s.events != nil {
		s.events.Event(ctx, name, fields...)
	}
}

func (s *Service) allow(ctx context.Context, key string, limit int, window time.Duration, deny *apierr.Error) error {
	r, err := s.st.Allow(ctx, "rl:"+key, limit, window)
	if err != nil {
		return fmt.Errorf("checking rate limit: %w", err)
	}
	if !r.Allowed {
		return deny.WithRetryAfter(max(r.RetryAfter, time.Second))
	}
	return nil
}

func (s *Service) allowIP(ctx context.Context, action, ip string) error {
	if ip == "" {
		return nil
	}
	return s.allow(ctx, action+":ip:"+ip, s.cfg.RequestsPerIP, defaults.RequestWindow, apierr.TooManyRequests)
}

// AllowIP applies the per-IP request limit of an action (used by the
// HTTP layer for endpoints outside this package).
func (s *Service) AllowIP(ctx context.Context, action, ip string) error {
	return s.allowIP(ctx, action, ip)
}

func lockKey(uid string) string { return "lock:" + uid }
func failKey(uid string) string { return "fail:" + uid }

func (s *Service) checkLocked(ctx context.Context, uid string) error {
	data, err := s.st.Get(ctx, lockKey(uid))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading lockout: %w", err)
	}
	until, err := time.Parse(time.RFC3339Nano, string(data))
	if err != nil {
		return nil
	}
	left := until.Sub(s.now())
	if left <= 0 {
		return nil
	}
	secs := int64((left + time.Second - 1) / time.Second)
	return apierr.UserLocked.WithMeta("lockout_expires_in_seconds", secs).
		WithLongMessage(fmt.Sprintf("Your account is locked. You will be able to try again in %s.", (time.Duration(secs) * time.Second).String()))
}

// failed counts a failed password or code for the user and locks the
// account when the limit is reached. It returns the lock error then.
func (s *Service) failed(ctx context.Context, uid string) error {
	n, err := s.st.Incr(ctx, failKey(uid), s.cfg.LockoutDuration)
	if err != nil {
		return fmt.Errorf("counting failure: %w", err)
	}
	if n >= int64(s.cfg.LockoutAttempts) {
		return s.lock(ctx, uid)
	}
	return nil
}

// lock locks the account for the lockout duration and returns user_locked.
func (s *Service) lock(ctx context.Context, uid string) error {
	until := s.now().Add(s.cfg.LockoutDuration).UTC().Format(time.RFC3339Nano)
	if err := s.st.Put(ctx, lockKey(uid), []byte(until), s.cfg.LockoutDuration); err != nil {
		return fmt.Errorf("locking account: %w", err)
	}
	_ = s.st.Delete(ctx, failKey(uid))
	s.emit(ctx, "user_locked", zap.String("user_id", uid))
	return s.checkLocked(ctx, uid)
}

func (s *Service) succeeded(ctx context.Context, uid string) {
	_ = s.st.Delete(ctx, failKey(uid))
}

// unlock ends a lockout (after the user proved who they are with a reset
// code and set a new password).
func (s *Service) unlock(ctx context.Context, uid string) {
	_ = s.st.Delete(ctx, failKey(uid))
	_ = s.st.Delete(ctx, lockKey(uid))
}

// checkPassword verifies a password first factor and completes the
// attempt on success.
func (s *Service) checkPassword(ctx context.Context, rq Request, res *Result, pw string) error {
	a, u := res.Attempt, res.User
	wrong := apierr.FormPasswordIncorrect.WithParam("password")
	if s.cfg.EnumerationProtection {
		wrong = apierr.FormPasswordOrIdentifierIncorrect.WithParam("password")
	}
	if len(pw) > 1024 {
		return wrong
	}
	if u == nil || u.PasswordDigest == "" {
		s.hasher.VerifyDummy(ctx, pw)
		s.emit(ctx, "sign_in", zap.String("strategy", StrategyPassword), zap.String("result", "failed"))
		return wrong
	}
	if err := s.checkLocked(ctx, u.ID); err != nil {
		return err
	}
	// Count the try before verifying, so concurrent guesses cannot get
	// past the lockout limit; a success clears the count.
	tries, err := s.st.Incr(ctx, failKey(u.ID), s.cfg.LockoutDuration)
	if err != nil {
		return fmt.Errorf("counting sign-in attempts: %w", err)
	}
	if tries > int64(s.cfg.LockoutAttempts) {
		return s.lock(ctx, u.ID)
	}
	ok, rehash, err := s.hasher.Verify(ctx, pw, u.PasswordDigest)
	if err != nil {
		if s.hasher.Busy(err) {
			return apierr.TooManyRequests.WithRetryAfter(time.Second)
		}
		return fmt.Errorf("verifying password: %w", err)
	}
	if !ok {
		s.emit(ctx, "sign_in", zap.String("strategy", StrategyPassword), zap.String("result", "failed"), zap.String("user_id", u.ID))
		if tries >= int64(s.cfg.LockoutAttempts) {
			return s.lock(ctx, u.ID)
		}
		return wrong
	}
	s.succeeded(ctx, u.ID)
	if rehash {
		s.upgradeDigest(ctx, u.ID, pw)
	}
	if u.PasswordCompromised {
		s.emit(ctx, "sign_in", zap.String("strategy", StrategyPassword), zap.String("result", "password_compromised"), zap.String("user_id", u.ID))
		if len(u.Emails)+len(u.Phones) > 0 {
			// The password was right: the user may now get a code at any
			// of their addresses, whatever identifier they typed.
			a.PasswordVerified = true
			return apierr.FormPasswordCompromised.WithParam("password")
		}
		// No other way to prove who they are: sign in, but pending.
		return s.complete(ctx, rq, res)
	}
	if s.cfg.BreachOnSignIn && s.rules != nil {
		breached, err := s.rules.Breached(ctx, pw)
		if err != nil {
			s.log.Warn("breach check at sign-in failed; allowing the sign-in", zap.String("user_id", u.ID), zap.Error(err))
		} else if breached {
			s.emit(ctx, "breach_hit", zap.String("where", "sign_in"), zap.String("user_id", u.ID))
			return apierr.FormPasswordPwnedSignIn.WithParam("password")
		}
	}
	if a.Verification == nil || a.Verification.Strategy != StrategyPassword {
		a.Verification = &Verification{Strategy: StrategyPassword}
	}
	a.Verification.Status = VerVerified
	return s.complete(ctx, rq, res)
}

func (s *Service) upgradeDigest(ctx context.Context, uid, pw string) {
	digest, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return // try again next time
	}
	_, err = s.users.Update(ctx, uid, func(u *users.User) error {
		u.PasswordDigest = digest
		return nil
	})
	if err != nil {
		s.log.Warn("upgrading password digest failed", zap.String("user_id", uid), zap.Error(err))
		return
	}
	s.emit(ctx, "password_rehashed", zap.String("user_id", uid))
}

// complete creates the session (pending when the user must reset the
// password) and marks the attempt complete.
func (s *Service) complete(ctx context.Context, rq Request, res *Result) error {
	pending := tasks.For(res.User)
	sess, err := s.sessions.Create(ctx, rq.Client, res.User.ID, pending)
	if err != nil {
		return err
	}
	res.Session = sess
	res.Attempt.Status = StatusComplete
	res.Attempt.CreatedSessionID = sess.ID
	s.emit(ctx, "sign_in", zap.String("result", "complete"), zap.String("user_id", res.User.ID),
		zap.String("session_id", sess.ID), zap.String("session_status", sess.Status))
	for _, t := range pending {
		s.emit(ctx, "task_started", zap.String("task", t), zap.String("user_id", res.User.ID))
	}
	return nil
}

// AttemptFirstFactor checks a password or code.
func (s *Service) AttemptFirstFactor(ctx context.Context, rq Request, id string, p AttemptParams) (*Result, error) {
	if err := s.allowIP(ctx, "attempt", rq.IP); err != nil {
		return nil, err
	}
	res, err := s.Get(ctx, rq, id)
	if err != nil {
		return nil, err
	}
	a := res.Attempt
	switch a.Status {
	case StatusComplete:
		return nil, apierr.ClientStateInvalid.WithLongMessage("This sign-in is already complete.")
	case StatusNeedsNewPassword:
		return nil, apierr.VerificationAlreadyVerified
	}
	switch p.Strategy {
	case StrategyPassword:
		if p.Password == "" {
			return nil, apierr.FormParamMissing.WithParam("password").WithLongMessage("password must be included.")
		}
		if err := s.checkPassword(ctx, rq, res, p.Password); err != nil {
			return nil, err
		}
		return res, s.save(ctx, a)
	case StrategyEmailCode, StrategyPhoneCode, StrategyResetPasswordEmail, StrategyResetPasswordPhone:
	case "":
		return nil, apierr.FormParamMissing.WithParam("strategy").WithLongMessage("strategy must be included.")
	default:
		return nil, apierr.FormParamValueInvalid.WithParam("strategy").WithLongMessage("strategy is not supported.")
	}
	v := a.Verification
	if v == nil || v.Strategy == StrategyPassword {
		return nil, apierr.VerificationNotSent
	}
	if v.Strategy != p.Strategy {
		return nil, apierr.VerificationStrategyInvalid
	}
	if v.Status == VerFailed || v.Attempts >= s.cfg.CodeMaxAttempts {
		return nil, apierr.VerificationFailed
	}
	if !s.now().Before(v.ExpireAt) {
		v.Status = VerExpired
		_ = s.save(ctx, a)
		return nil, apierr.VerificationExpired
	}
	if p.Code == "" {
		return nil, apierr.FormParamMissing.WithParam("code").WithLongMessage("code must be included.")
	}
	if res.User != nil && !isReset(v.Strategy) {
		if err := s.checkLocked(ctx, res.User.ID); err != nil {
			return nil, err
		}
	}
	// A new password given with a reset code is checked before the code is
	// used, so a weak password does not burn the code. Unknown identifiers
	// get the same checks and the same hashing time.
	if isReset(v.Strategy) && p.Password != "" {
		if res.User == nil {
			err = s.rules.Validate(ctx, p.Password, []string{a.Identifier})
			s.hasher.VerifyDummy(ctx, p.Password)
		} else {
			err = s.checkNewPassword(ctx, res.User, p.Password)
		}
		if err != nil {
			return nil, err
		}
	}
	// Reserve this try before comparing: however many guesses race, no
	// more than code_max_attempts codes are ever compared.
	tries, err := s.st.Incr(ctx, codeFailKey(a.ID), s.cfg.AttemptLifetime+margin)
	if err != nil {
		return nil, fmt.Errorf("counting code attempts: %w", err)
	}
	if int(tries) > s.cfg.CodeMaxAttempts {
		return nil, s.codeFailed(ctx, res, tries)
	}
	ok := false
	if wellFormedCode(p.Code) && res.User != nil {
		key, err := s.keys.Get(ctx)
		if err != nil {
			return nil, err
		}
		ok, err = s.st.CompareAndDelete(ctx, codeKey(a.ID), codeMAC(key, a.ID, a.UserID, v.Strategy, p.Code))
		if err != nil {
			return nil, fmt.Errorf("checking code: %w", err)
		}
	}
	if !ok {
		return nil, s.codeFailed(ctx, res, tries)
	}
	// The code is consumed: this request is the only one that gets here.
	v.Status = VerVerified
	s.succeeded(ctx, res.User.ID)
	s.emit(ctx, "code_attempt", zap.String("strategy", v.Strategy), zap.String("result", "verified"))
	if !isReset(v.Strategy) {
		if err := s.complete(ctx, rq, res); err != nil {
			return nil, err
		}
		return res, s.save(ctx, a)
	}
	if p.Password == "" {
		a.Status = StatusNeedsNewPassword
		return res, s.save(ctx, a)
	}
	if err := s.finishReset(ctx, rq, res, p.Password, true); err != nil {
		return nil, err
	}
	return res, nil
}

// codeFailed records a wrong code (the tries-th try of the attempt) and,
// for sign-in codes, counts it against the user's lockout; it returns the
// error to show.
func (s *Service) codeFailed(ctx context.Context, res *Result, n int64) error {
	a, v := res.Attempt, res.Attempt.Verification
	// The code itself is left alone: a request with an earlier try may
	// still be comparing it, and no later try ever will.
	failed := int(n) >= s.cfg.CodeMaxAttempts
	var err error
	var advanced bool
	// Update only the counters: a concurrent request that used the right
	// code may have completed the attempt meanwhile.
	err = s.st.Update(ctx, attemptKey(a.ID), func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		if !exists {
			return nil, 0, ErrNotFound
		}
		stored := new(Attempt)
		if err := json.Unmarshal(cur, stored); err != nil {
			return nil, 0, err
		}
		if stored.Status != StatusNeedsFirstFactor || stored.Verification == nil {
			advanced = true
			return cur, stored.AbandonAt.Sub(s.now()) + margin, nil
		}
		stored.Verification.Attempts = max(stored.Verification.Attempts, int(n))
		if failed {
			stored.Verification.Status = VerFailed
		}
		*v = *stored.Verification
		data, err := json.Marshal(stored)
		return data, stored.AbandonAt.Sub(s.now()) + margin, err
	})
	if err != nil {
		return fmt.Errorf("recording code failure: %w", err)
	}
	if advanced {
		// The right code was used by a concurrent request: a replay, not a guess.
		return apierr.VerificationAlreadyVerified
	}
	s.emit(ctx, "code_attempt", zap.String("strategy", v.Strategy), zap.String("result", "incorrect"))
	if res.User != nil && !isReset(v.Strategy) {
		if err := s.failed(ctx, res.User.ID); err != nil {
			return err
		}
	}
	if failed {
		return apierr.VerificationFailed
	}
	return apierr.FormCodeIncorrect.WithParam("code")
}

// ResetPassword sets the new password of an attempt whose reset code was
// verified, and signs the user in.
func (s *Service) ResetPassword(ctx context.Context, rq Request, id, pw string, signOutOthers bool) (*Result, error) {
	res, err := s.Get(ctx, rq, id)
	if err != nil {
		return nil, err
	}
	if res.Attempt.Status != StatusNeedsNewPassword || res.User == nil {
		return nil, apierr.ClientStateInvalid.WithLongMessage("Verify the reset code before setting a new password.")
	}
	if pw == "" {
		return nil, apierr.FormParamMissing.WithParam("password").WithLongMessage("password must be included.")
	}
	if err := s.checkNewPassword(ctx, res.User, pw); err != nil {
		return nil, err
	}
	// One verified code sets one password, even when requests race.
	if err := s.st.Create(ctx, "resetclaim:"+id, []byte("1"), s.cfg.AttemptLifetime+margin); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, apierr.ClientStateInvalid.WithLongMessage("This password reset is already being completed.")
		}
		return nil, err
	}
	if err := s.finishReset(ctx, rq, res, pw, signOutOthers); err != nil {
		_ = s.st.Delete(ctx, "resetclaim:"+id)
		return nil, err
	}
	return res, nil
}

// checkNewPassword applies the password rules and refuses the current one.
func (s *Service) checkNewPassword(ctx context.Context, u *users.User, pw string) error {
	if err := s.rules.Validate(ctx, pw, u.Identifiers()); err != nil {
		if e := apierr.From(err); e.Code == apierr.FormPasswordPwned.Code {
			s.emit(ctx, "breach_hit", zap.String("where", "new_password"), zap.String("user_id", u.ID))
		}
		return err
	}
	if u.PasswordDigest != "" {
		same, _, err := s.hasher.Verify(ctx, pw, u.PasswordDigest)
		if err != nil {
			if s.hasher.Busy(err) {
				return apierr.TooManyRequests.WithRetryAfter(time.Second)
			}
			return fmt.Errorf("comparing with current password: %w", err)
		}
		if same {
			return apierr.FormNewPasswordMatchesCurrent.WithParam("password")
		}
	}
	return nil
}

// SetPassword stores a new (already checked) password for the user,
// clears the compromised and reset flags, revokes the user's other
// sessions unless told not to, and sends a notice.
func (s *Service) SetPassword(ctx context.Context, u *users.User, pw, keepSession string, signOutOthers bool) (*users.User, error) {
	digest, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		if s.hasher.Busy(err) {
			return nil, apierr.TooManyRequests.WithRetryAfter(time.Second)
		}
		return nil, fmt.Errorf("hashing password: %w", err)
	}
	wasCompromised := u.NeedsReset()
	nu, err := s.users.Update(ctx, u.ID, func(u *users.User) error {
		u.PasswordDigest = digest
		u.PasswordCompromised = false
		u.ResetRequired = false
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A password that had to be replaced leaves no other session alive.
	if signOutOthers || wasCompromised {
		if _, err := s.sessions.RevokeUser(ctx, u.ID, keepSession); err != nil {
			return nil, err
		}
	}
	s.unlock(ctx, u.ID)
	s.emit(ctx, "password_reset", zap.String("user_id", u.ID), zap.Bool("signed_out_others", signOutOthers || wasCompromised))
	s.notifyChanged(ctx, nu)
	return nu, nil
}

func (s *Service) notifyChanged(ctx context.Context, u *users.User) {
	s.Notify(u, notify.KindPasswordChanged)
}

// Notify sends a notice without secrets (password changed, password
// compromised) to the user's first email address, else first phone
// number, in the background.
func (s *Service) Notify(u *users.User, kind notify.Kind) {
	var n notify.Notice
	switch {
	case u.PrimaryEmail() != "":
		n = notify.Notice{Channel: notify.ChannelEmail, Kind: kind, To: u.PrimaryEmail()}
	case u.PrimaryPhone() != "":
		n = notify.Notice{Channel: notify.ChannelSMS, Kind: kind, To: u.PrimaryPhone()}
	default:
		return
	}
	s.background(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.deliver.Deliver(ctx, n); err != nil {
			s.log.Warn("sending notice failed", zap.String("kind", string(kind)), zap.String("user_id", u.ID), zap.Error(err))
		}
	})
}

func (s *Service) finishReset(ctx context.Context, rq Request, res *Result, pw string, signOutOthers bool) error {
	nu, err := s.SetPassword(ctx, res.User, pw, "", signOutOthers)
	if err != nil {
		return err
	}
	res.User = nu
	if err := s.complete(ctx, rq, res); err != nil {
		return err
	}
	return s.save(ctx, res.Attempt)
}

// Mask hides most of an email address or phone number.
func Mask(kind users.Kind, v string) string {
	switch kind {
	case users.KindEmail:
		at := strings.LastIndexByte(v, '@')
		if at < 1 {
			return "*****"
		}
		return v[:1] + "*****" + v[at:]
	case users.KindPhone:
		if len(v) < 6 {
			return "********"
		}
		return v[:3] + strings.Repeat("*", len(v)-5) + v[len(v)-2:]
	}
	return v
}
