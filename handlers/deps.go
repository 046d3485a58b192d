package handlers

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/signup"
	"github.com/authgate/authgate/token"
	"github.com/authgate/authgate/users"
)

// The services handlers use, each as the method set it calls: the
// concrete ones (users.Service, session.Manager, signin.Service,
// token.Keyring, secret.Key) satisfy them, and nothing here needs the
// store itself.

// Users reads the profile behind a session.
type Users interface {
	Get(ctx context.Context, id string) (*users.User, error)
}

// Sessions keeps the clients (browsers) and their sessions.
type Sessions interface {
	// Lifetime is the longest a session lives (the __client cookie's age).
	Lifetime() time.Duration
	NewClient(ctx context.Context) (*session.Client, string, error)
	Client(ctx context.Context, token string) (*session.Client, error)
	// Rotate gives a client a new cookie token and kills the old one.
	Rotate(ctx context.Context, c *session.Client) (string, error)
	ClientSessions(ctx context.Context, c *session.Client) ([]*session.Session, error)
	ActiveSession(ctx context.Context, c *session.Client) (*session.Session, error)
	Get(ctx context.Context, id string) (*session.Session, error)
	SetActive(ctx context.Context, c *session.Client, id string) (*session.Session, error)
	SignOut(ctx context.Context, c *session.Client, id, status string) (*session.Session, error)
	SignOutClient(ctx context.Context, c *session.Client) ([]*session.Session, error)
	// ListByUser and End serve the user's own session list (api_mfa.go).
	ListByUser(ctx context.Context, userID string) ([]*session.Session, error)
	End(ctx context.Context, id, status string) (*session.Session, error)
	// RevokeUser ends every signed-in session of the user but keep ("sign
	// out of all other devices" on the account page).
	RevokeUser(ctx context.Context, userID, keep string) (int, error)
}

// attempts is what sign-in and sign-up have alike: a configuration C,
// and attempts that a request (Rq) starts with params P and reads back by
// id, each answered as a Res.
type attempts[C, Rq, P, Res any] interface {
	Config() C
	Create(ctx context.Context, rq Rq, p P) (*Res, error)
	Get(ctx context.Context, rq Rq, id string) (*Res, error)
}

// SignIns runs sign-in attempts and password changes.
type SignIns interface {
	attempts[signin.Config, signin.Request, signin.CreateParams, signin.Result]
	Prepare(ctx context.Context, rq signin.Request, id string, p signin.PrepareParams) (*signin.Result, error)
	AttemptFirstFactor(ctx context.Context, rq signin.Request, id string, p signin.AttemptParams) (*signin.Result, error)
	ResetPassword(ctx context.Context, rq signin.Request, id, pw string, signOutOthers bool) (*signin.Result, error)
	ChangePassword(ctx context.Context, u *users.User, sess *session.Session, p signin.ChangeParams) (*users.User, *session.Session, error)
	// AllowIP applies the per-IP limit of action (a store write the
	// handlers do on their own, such as creating a client).
	AllowIP(ctx context.Context, action, ip string) error
	SecondFactors
}

// SignUps runs self-service sign-up (signup.Service). A nil Deps.SignUp
// is sign-up off: its endpoints answer 403 sign_up_disabled.
type SignUps interface {
	attempts[signup.Config, signup.Request, signup.CreateParams, signup.Result]
	Update(ctx context.Context, rq signup.Request, id string, p signup.UpdateParams) (*signup.Result, error)
	PrepareVerification(ctx context.Context, rq signup.Request, id string, p signup.PrepareParams) (*signup.Result, error)
	AttemptVerification(ctx context.Context, rq signup.Request, id string, p signup.AttemptParams) (*signup.Result, error)
	// Current is the client's sign-up in progress (nil: none), shown as
	// the client JSON's sign_up.
	Current(ctx context.Context, rq signup.Request) (*signup.Result, error)
}

// SecondFactors is the second step of a sign-in and a signed-in user's
// second factors (signin.Service; see api_second_factor.go, api_mfa.go).
type SecondFactors interface {
	PrepareSecondFactor(ctx context.Context, rq signin.Request, id string, p signin.PrepareParams) (*signin.Result, error)
	AttemptSecondFactor(ctx context.Context, rq signin.Request, id string, p signin.AttemptParams) (*signin.Result, error)
	MFAConfig() mfa.Config
	MFAStatus(ctx context.Context, u *users.User) (mfa.Status, error)
	EnrollTOTP(ctx context.Context, u *users.User, sess *session.Session) (*mfa.Enrollment, error)
	VerifyTOTP(ctx context.Context, u *users.User, sess *session.Session, code string) (*signin.FactorAdded, error)
	DisableTOTP(ctx context.Context, u *users.User, sess *session.Session) error
	RegenerateBackupCodes(ctx context.Context, u *users.User, sess *session.Session) (*mfa.BackupCodes, error)
	ReservePhone(ctx context.Context, u *users.User, sess *session.Session, phoneID string, on bool) (*signin.FactorAdded, error)
	Reverify(ctx context.Context, u *users.User, sess *session.Session, pw string) (*session.Session, error)
}

// myPhones is a signed-in user adding and removing their own phone
// numbers (signin.Service; see api_me_phone.go).
type myPhones interface {
	CreatePhone(ctx context.Context, u *users.User, sess *session.Session, raw string) (*signin.NewPhone, error)
	PreparePhone(ctx context.Context, rq signin.Request, u *users.User, sess *session.Session, pid, strategy string) (*signin.NewPhone, error)
	AttemptPhone(ctx context.Context, u *users.User, sess *session.Session, pid, code string) (*users.User, error)
	DeletePhone(ctx context.Context, u *users.User, sess *session.Session, pid string) error
	NewPhones(ctx context.Context, uid string) ([]signin.NewPhone, error)
}

// Tokens mints and verifies session JWTs.
type Tokens interface {
	Mint(ctx context.Context, c token.Claims) (string, token.Claims, error)
	Verify(ctx context.Context, tok, wantIssuer string) (token.Claims, error)
	JWKS() []byte
}

// Secret is a server key shared by every instance (internal/secret.Key):
// the CSRF tokens of one instance must verify on all.
type Secret interface {
	Get(ctx context.Context) ([]byte, error)
}

// CSRFKeyName is the store key of the CSRF secret, for whoever builds
// Deps.CSRFKey (secret.New(store, handlers.CSRFKeyName)).
const CSRFKeyName = "secrets:csrf"

// Events receives audit events and metrics.
type Events interface {
	Event(ctx context.Context, name string, fields ...zap.Field)
	// Gate counts one gate decision.
	Gate(decision string)
}

// Deps are the shared services behind every site.
type Deps struct {
	Users    Users
	Sessions Sessions
	SignIn   SignIns
	// SignUp is self-service sign-up (nil: off).
	SignUp SignUps
	Tokens Tokens
	// CSRFKey signs the pages' CSRF tokens.
	CSRFKey Secret
	Events  Events
	Logger  *zap.Logger
	Now     func() time.Time
	// PasswordMinLength is shown in the environment and on pages.
	PasswordMinLength int
}

type nopEvents struct{}

// orQuiet stands in for an unset Events and Logger (New and NewAdmin):
// no events, no logs.
func orQuiet(ev Events, log *zap.Logger) (Events, *zap.Logger) {
	if ev == nil {
		ev = nopEvents{}
	}
	if log == nil {
		log = zap.NewNop()
	}
	return ev, log
}

func (nopEvents) Event(context.Context, string, ...zap.Field) {}
func (nopEvents) Gate(string)                                 {}
