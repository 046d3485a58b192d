package handlers

import (
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/users"
)

// The admin API's user endpoints.

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
	a.writeUser(w, r, u, nil)
}

// userQueries are the identifiers findUsers looks users up by.
var userQueries = []struct {
	kind users.Kind
	name string
	norm func(string) (string, error)
}{
	{users.KindEmail, "email_address", users.NormalizeEmail},
	{users.KindPhone, "phone_number", users.NormalizePhone},
	{users.KindUsername, "username", users.NormalizeUsername},
}

// findUsers answers the users with any of the identifiers asked for
// (each once).
func (a *Admin) findUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out := []*userJSON{}
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
		if seen[u.ID] {
			return nil
		}
		seen[u.ID] = true
		j, err := a.userJSON(r.Context(), u)
		out = append(out, j)
		return err
	}
	for _, uq := range userQueries {
		for _, v := range q[uq.name] {
			if err := add(uq.kind, v, uq.norm); err != nil {
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
	a.writeUser(w, r, u, err)
}

// deleteUser revokes the user's sessions, then deletes the user.
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
	// The user's second factors go first, so none outlives the user.
	if _, err := a.d.SignIn.DisableMFA(ctx, id); err != nil {
		a.fail(w, r, err)
		return
	}
	if u, err := a.d.Users.Delete(ctx, id); err != nil {
		if u == nil {
			a.fail(w, r, err)
			return
		}
		// The user is gone; an identifier index it left is an orphan that
		// Find ignores and `caddy authgate store repair` deletes.
		a.d.Logger.Warn("user deleted, but freeing an identifier failed", zap.String("user_id", id), zap.Error(err))
	}
	a.d.Events.Event(ctx, "user_deleted", zap.String("user_id", id))
	writeJSON(w, http.StatusOK, map[string]any{"object": "user", "id": id, "deleted": true})
}

// setCompromised marks (on) or clears the user's password as
// compromised; {"revoke_all_sessions": true} revokes the user's sessions
// instead of putting them into the reset-password task.
func (a *Admin) setCompromised(on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			RevokeAllSessions *bool `json:"revoke_all_sessions"`
		}
		if err := readJSON(w, r, &b); err != nil {
			a.fail(w, r, err)
			return
		}
		revokeAll := b.RevokeAllSessions != nil && *b.RevokeAllSessions
		u, err := a.d.SignIn.SetCompromised(r.Context(), r.PathValue("id"), on, revokeAll)
		a.writeUser(w, r, u, err)
	}
}

// requireReset forces the reset-password task at the user's next sign-in
// without marking the password compromised.
func (a *Admin) requireReset(w http.ResponseWriter, r *http.Request) {
	u, err := a.d.SignIn.RequireReset(r.Context(), r.PathValue("id"))
	a.writeUser(w, r, u, err)
}
