package handlers

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/users"
)

// Admin is the admin API (Clerk Backend API shapes) for Caddy's admin
// endpoint. It trusts its caller: the admin endpoint is local-only by
// default. Its routes are in routes.go, the endpoints in admin_users.go
// and admin_sessions.go.
type Admin struct {
	d   AdminDeps
	mux *http.ServeMux
}

// AdminUsers manages user records.
type AdminUsers interface {
	Create(ctx context.Context, nu users.NewUser) (*users.User, error)
	Get(ctx context.Context, id string) (*users.User, error)
	Find(ctx context.Context, k users.Kind, normalized string) (*users.User, error)
	Delete(ctx context.Context, id string) (*users.User, error)
}

// AdminSessions lists and revokes sessions.
type AdminSessions interface {
	ListByUser(ctx context.Context, userID string) ([]*session.Session, error)
	End(ctx context.Context, id, status string) (*session.Session, error)
	RevokeUser(ctx context.Context, userID, keep string) (int, error)
}

// Accounts runs the account steps an administrator asks for (signin
// owns what they do to sessions and whom they tell).
type Accounts interface {
	SetCompromised(ctx context.Context, userID string, on, revokeAll bool) (*users.User, error)
	RequireReset(ctx context.Context, userID string) (*users.User, error)
	// DisableMFA and MFAStatus: admin_mfa.go.
	DisableMFA(ctx context.Context, userID string) (*users.User, error)
	MFAStatus(ctx context.Context, u *users.User) (mfa.Status, error)
}

// KeyRotator rotates the signing keys (a Tokens that can, such as
// token.Keyring).
type KeyRotator interface {
	Rotate(ctx context.Context) error
}

// AdminDeps are the services behind the admin API.
type AdminDeps struct {
	Users    AdminUsers
	Sessions AdminSessions
	SignIn   Accounts
	// Tokens publishes the JWKS; it rotates keys when it is a KeyRotator.
	Tokens Tokens
	Events Events
	Logger *zap.Logger
}

// NewAdmin returns the admin API handler.
func NewAdmin(d AdminDeps) *Admin {
	d.Events, d.Logger = orQuiet(d.Events, d.Logger)
	a := &Admin{d: d}
	a.mux = a.routes()
	return a
}

// ServeHTTP serves the admin API.
func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	a.mux.ServeHTTP(w, r)
}

// fail answers err as the Clerk envelope.
func (a *Admin) fail(w http.ResponseWriter, r *http.Request, err error) {
	apierr.Write(w, failure(a.d.Logger, r, err))
}

// readJSON decodes a JSON body (at most 64 KB) into v; an empty body is fine.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return apierr.RequestBodyInvalid
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return apierr.RequestBodyInvalid.WithLongMessage("The request body is not valid JSON for this endpoint: " + err.Error())
	}
	return nil
}

// rotateKeys adds a new signing key: published in the JWKS at once, used
// for signing after the publish delay; the old key stays published until
// its tokens expired.
func (a *Admin) rotateKeys(w http.ResponseWriter, r *http.Request) {
	rot, ok := a.d.Tokens.(KeyRotator)
	if !ok {
		a.fail(w, r, apierr.ResourceNotFound)
		return
	}
	if err := rot.Rotate(r.Context()); err != nil {
		a.fail(w, r, err)
		return
	}
	a.d.Events.Event(r.Context(), "keys_rotated")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(a.d.Tokens.JWKS())
}
