package handlers

import (
	"context"
	"net/http"

	"github.com/authgate/authgate/users"
)

// The admin API's second-factor parts: DELETE /users/{id}/mfa removes
// every second factor of a user (the way back in for a user who lost the
// phone and the backup codes), and every user the admin API answers
// carries two_factor_enabled, totp_enabled and backup_code_enabled.

// disableMFA removes the user's second factors; with a second factor
// required, the user's sessions get the setup-mfa task.
func (a *Admin) disableMFA(w http.ResponseWriter, r *http.Request) {
	u, err := a.d.SignIn.DisableMFA(r.Context(), r.PathValue("id"))
	a.writeUser(w, r, u, err)
}

// userJSON renders a user with its second factors.
func (a *Admin) userJSON(ctx context.Context, u *users.User) (*userJSON, error) {
	st, err := a.d.SignIn.MFAStatus(ctx, u)
	if err != nil {
		return nil, err
	}
	return userOf(u, st), nil
}

// writeUser answers a user with its second factors, or err, the error of
// the call that got the user, when that failed.
func (a *Admin) writeUser(w http.ResponseWriter, r *http.Request, u *users.User, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	j, err := a.userJSON(r.Context(), u)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}
