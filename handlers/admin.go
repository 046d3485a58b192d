package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/users"
)

// AdminPrefix is where the admin API is mounted on Caddy's admin endpoint.
const AdminPrefix = "/authgate/v1"

// Admin is the admin API (Clerk Backend API shapes) for Caddy's admin
// endpoint. It trusts its caller: the admin endpoint is local-only by
// default.
type Admin struct {
	d   Deps
	mux *http.ServeMux
}

// NewAdmin returns the admin API handler.
func NewAdmin(d Deps) *Admin {
	if d.Events == nil {
		d.Events = nopEvents{}
	}
	if d.Logger == nil {
		d.Logger = zap.NewNop()
	}
	a := &Admin{d: d, mux: http.NewServeMux()}
	p := AdminPrefix
	a.mux.HandleFunc("POST "+p+"/users", a.createUser)
	a.mux.HandleFunc("GET "+p+"/users", a.findUsers)
	a.mux.HandleFunc("GET "+p+"/users/{id}", a.getUser)
	a.mux.HandleFunc("DELETE "+p+"/users/{id}", a.deleteUser)
	a.mux.HandleFunc("POST "+p+"/users/{id}/password/set_compromised", a.setCompromised(true))
	a.mux.HandleFunc("POST "+p+"/users/{id}/password/unset_compromised", a.setCompromised(false))
	a.mux.HandleFunc("POST "+p+"/users/{id}/password/require_reset", a.requireReset)
	a.mux.HandleFunc("GET "+p+"/sessions", a.listSessions)
	a.mux.HandleFunc("POST "+p+"/jwks/rotate", a.rotateKeys)
	a.mux.HandleFunc("POST "+p+"/sessions/{id}/revoke", a.revokeSession)
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apierr.Write(w, apierr.ResourceNotFound.WithLongMessage("No such endpoint: "+r.Method+" "+r.URL.Path))
	})
	return a
}

// ServeHTTP serves the admin API.
func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	a.mux.ServeHTTP(w, r)
}

func (a *Admin) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *apierr.Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, users.ErrNotFound), errors.Is(err, session.ErrNotFound):
		e = apierr.ResourceNotFound
	case unavailable(err):
		a.d.Logger.Error("store unavailable", zap.String("path", r.URL.Path), zap.Error(err))
		e = apierr.ServiceUnavailable.WithRetryAfter(5e9)
	default:
		a.d.Logger.Error("admin request failed", zap.String("path", r.URL.Path), zap.Error(err))
		e = apierr.Internal
	}
	apierr.Write(w, e)
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

type createUserBody struct {
	EmailAddress   []string `json:"email_address"`
	PhoneNumber    []string `json:"phone_number"`
	Username       string   `json:"username"`
	Password       string   `json:"password"`
	PasswordDigest string   `json:"password_digest"`
	PasswordHasher string   `json:"password_hasher"`
}

func (a *Admin) createUser(w http.ResponseWriter, r *http.Request) {
	var b createUserBody
	if err := readJSON(w, r, &b); err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := a.d.Users.Create(r.Context(), users.NewUser{
		Emails: b.EmailAddress, Phones: b.PhoneNumber, Username: b.Username,
		Password: b.Password, PasswordDigest: b.PasswordDigest, PasswordHasher: b.PasswordHasher,
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.d.Events.Event(r.Context(), "user_created", zap.String("user_id", u.ID))
	writeJSON(w, http.StatusOK, u.ToJSON())
}

func (a *Admin) findUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out := []users.JSON{}
	seen := map[string]bool{}
	add := func(k users.Kind, raw string, norm func(string) (string, error)) error {
		v, err := norm(raw)
		if err != nil {
			return err
		}
		u, err := a.d.Users.Find(r.Context(), k, v)
		if errors.Is(err, users.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !seen[u.ID] {
			seen[u.ID] = true
			out = append(out, u.ToJSON())
		}
		return nil
	}
	for _, q := range []struct {
		kind users.Kind
		name string
		norm func(string) (string, error)
	}{
		{users.KindEmail, "email_address", users.NormalizeEmail},
		{users.KindPhone, "phone_number", users.NormalizePhone},
		{users.KindUsername, "username", users.NormalizeUsername},
	} {
		for _, v := range r.URL.Query()[q.name] {
			if err := add(q.kind, v, q.norm); err != nil {
				a.fail(w, r, err)
				return
			}
		}
	}
	if len(q) == 0 {
		a.fail(w, r, apierr.FormParamMissing.WithParam("email_address").
			WithLongMessage("Give email_address, phone_number or username to find users."))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *Admin) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := a.d.Users.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u.ToJSON())
}

func (a *Admin) deleteUser(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, err := a.d.Users.Get(ctx, id); err != nil {
		a.fail(w, r, err)
		return
	}
	if _, err := a.d.Sessions.RevokeUser(ctx, id, ""); err != nil {
		a.fail(w, r, err)
		return
	}
	if _, err := a.d.Users.Delete(ctx, id); err != nil {
		a.fail(w, r, err)
		return
	}
	a.d.Events.Event(ctx, "user_deleted", zap.String("user_id", id))
	writeJSON(w, http.StatusOK, map[string]any{"object": "user", "id": id, "deleted": true})
}

func (a *Admin) setCompromised(on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var b struct {
			RevokeAllSessions *bool `json:"revoke_all_sessions"`
		}
		if err := readJSON(w, r, &b); err != nil {
			a.fail(w, r, err)
			return
		}
		u, err := a.d.Users.Update(ctx, r.PathValue("id"), func(u *users.User) error {
			u.PasswordCompromised = on
			return nil
		})
		if err != nil {
			a.fail(w, r, err)
			return
		}
		event := "password_compromised_unset"
		if on {
			event = "password_compromised_set"
			if b.RevokeAllSessions != nil && *b.RevokeAllSessions {
				n, err := a.d.Sessions.RevokeUser(ctx, u.ID, "")
				if err != nil {
					a.fail(w, r, err)
					return
				}
				a.d.Events.Event(ctx, "sessions_revoked", zap.String("user_id", u.ID), zap.Int("count", n))
			} else if !a.pendAll(w, r, u.ID) {
				return
			}
			a.d.SignIn.Notify(u, notify.KindPasswordCompromised)
		}
		a.d.Events.Event(ctx, event, zap.String("user_id", u.ID))
		writeJSON(w, http.StatusOK, u.ToJSON())
	}
}

// requireReset forces the reset-password task at the user's next sign-in
// without marking the password compromised.
func (a *Admin) requireReset(w http.ResponseWriter, r *http.Request) {
	u, err := a.d.Users.Update(r.Context(), r.PathValue("id"), func(u *users.User) error {
		u.ResetRequired = true
		return nil
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !a.pendAll(w, r, u.ID) {
		return
	}
	a.d.Events.Event(r.Context(), "password_reset_required", zap.String("user_id", u.ID))
	writeJSON(w, http.StatusOK, u.ToJSON())
}

// pendAll puts the user's signed-in sessions into the reset-password
// task: no session keeps working normally on a password that must be
// replaced. It reports false after writing an error.
func (a *Admin) pendAll(w http.ResponseWriter, r *http.Request, uid string) bool {
	n, err := a.d.Sessions.RequireTask(r.Context(), uid, tasks.ResetPassword)
	if err != nil {
		a.fail(w, r, err)
		return false
	}
	a.d.Events.Event(r.Context(), "task_started", zap.String("task", tasks.ResetPassword), zap.String("user_id", uid), zap.Int("sessions", n))
	return true
}

type adminSessionJSON struct {
	Object       string     `json:"object"`
	ID           string     `json:"id"`
	UserID       string     `json:"user_id"`
	ClientID     string     `json:"client_id"`
	Status       string     `json:"status"`
	Tasks        []taskJSON `json:"tasks"`
	LastActiveAt int64      `json:"last_active_at"`
	ExpireAt     int64      `json:"expire_at"`
	AbandonAt    int64      `json:"abandon_at"`
	CreatedAt    int64      `json:"created_at"`
	UpdatedAt    int64      `json:"updated_at"`
}

func adminSession(s *session.Session) adminSessionJSON {
	j := adminSessionJSON{
		Object: "session", ID: s.ID, UserID: s.UserID, ClientID: s.ClientID, Status: s.Status,
		LastActiveAt: ms(s.LastActiveAt), ExpireAt: ms(s.ExpireAt), AbandonAt: ms(s.ExpireAt),
		CreatedAt: ms(s.CreatedAt), UpdatedAt: ms(s.UpdatedAt),
	}
	for _, t := range s.Tasks {
		j.Tasks = append(j.Tasks, taskJSON{Key: t})
	}
	return j
}

func (a *Admin) listSessions(w http.ResponseWriter, r *http.Request) {
	uid := r.URL.Query().Get("user_id")
	if uid == "" {
		a.fail(w, r, apierr.FormParamMissing.WithParam("user_id").WithLongMessage("user_id must be included."))
		return
	}
	list, err := a.d.Sessions.ListByUser(r.Context(), uid)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	status := r.URL.Query().Get("status")
	out := []adminSessionJSON{}
	for _, s := range list {
		if status == "" || s.Status == status {
			out = append(out, adminSession(s))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *Admin) revokeSession(w http.ResponseWriter, r *http.Request) {
	s, err := a.d.Sessions.End(r.Context(), r.PathValue("id"), session.StatusRevoked)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.d.Events.Event(r.Context(), "session_revoked", zap.String("session_id", s.ID), zap.String("user_id", s.UserID))
	writeJSON(w, http.StatusOK, adminSession(s))
}

// KeyRotator rotates the signing keys.
type KeyRotator interface {
	Rotate(ctx context.Context) error
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
