package handlers

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/users"
)

// The signed-in user's second factors and sessions (/v1/me/..., Clerk's
// shapes): the user with two_factor_enabled, totp_enabled and
// backup_code_enabled; an authenticator app set up, verified and
// removed; backup codes replaced; a phone reserved as a second factor;
// the user's signed-in sessions listed and revoked. The rules (which
// session may change what, reverification, the setup-mfa task) are
// signin's; a change that completes the session's task gets a new token
// here, as a password change does.

// userJSON is a user as the Frontend API shows it: the user record's
// JSON with what mfa knows (users keeps none of it).
type userJSON struct {
	users.JSON
	PhoneNumbers      []phoneJSON `json:"phone_numbers"`
	TwoFactorEnabled  bool        `json:"two_factor_enabled"`
	TOTPEnabled       bool        `json:"totp_enabled"`
	BackupCodeEnabled bool        `json:"backup_code_enabled"`
}

// phoneJSON is a phone number with its second-factor fields.
type phoneJSON struct {
	users.PhoneJSON
	ReservedForSecondFactor bool `json:"reserved_for_second_factor"`
	DefaultSecondFactor     bool `json:"default_second_factor"`
	// BackupCodes are set once, on the answer that reserved the user's
	// first second factor.
	BackupCodes []string `json:"backup_codes,omitempty"`
}

// userOf renders u with its second factors st.
func userOf(u *users.User, st mfa.Status) *userJSON {
	j := &userJSON{
		JSON: u.ToJSON(), PhoneNumbers: make([]phoneJSON, 0, len(u.Phones)),
		TwoFactorEnabled: st.Enabled(), TOTPEnabled: st.TOTP, BackupCodeEnabled: st.BackupCodes > 0,
	}
	for _, p := range j.JSON.PhoneNumbers {
		j.PhoneNumbers = append(j.PhoneNumbers, phoneOf(p, st))
	}
	return j
}

func phoneOf(p users.PhoneJSON, st mfa.Status) phoneJSON {
	j := phoneJSON{PhoneJSON: p}
	if i := slices.Index(st.Phones, p.ID); i >= 0 {
		j.ReservedForSecondFactor = true
		j.DefaultSecondFactor = i == 0 && !st.TOTP
	}
	return j
}

// renderSessionOf is renderSession with the user's second factors and
// the session's factor_verification_age.
func (s *Server) renderSessionOf(ctx context.Context, sess *session.Session, u *users.User, jwt string) (sessionJSON, error) {
	j := renderSession(sess, u, jwt)
	st, err := s.d.SignIn.MFAStatus(ctx, u)
	if err != nil {
		return sessionJSON{}, err
	}
	j.User = userOf(u, st)
	j.FactorVerificationAge = factorAges(sess, s.d.Now())
	return j, nil
}

// factorAges is Clerk's factor_verification_age: whole minutes since the
// first and the second factor were proved (-1: never).
func factorAges(sess *session.Session, now time.Time) []int {
	ages := []int{int(now.Sub(sess.FirstFactorVerifiedAt()) / time.Minute), -1}
	if !sess.SecondFactorAt.IsZero() {
		ages[1] = int(now.Sub(sess.SecondFactorAt) / time.Minute)
	}
	return ages
}

// meCall runs a /v1/me call for the caller's signed-in session (pending
// ones too: signin decides what a pending session may do) and answers
// what it returns, with the client.
func (s *Server) meCall(w http.ResponseWriter, r *http.Request,
	call func(p params, c *session.Client, sess *session.Session, u *users.User) (any, error)) {
	p, err := readParams(w, r)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	c, sess, u, err := s.currentSession(w, r)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	v, err := call(p, c, sess, u)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.respond(w, r, c, v)
}

// getMe answers the signed-in user (clerk-js user.reload()).
func (s *Server) getMe(w http.ResponseWriter, r *http.Request) {
	s.meCall(w, r, func(_ params, _ *session.Client, _ *session.Session, u *users.User) (any, error) {
		return s.userWithFactors(r.Context(), u)
	})
}

func (s *Server) userWithFactors(ctx context.Context, u *users.User) (*userJSON, error) {
	st, err := s.d.SignIn.MFAStatus(ctx, u)
	if err != nil {
		return nil, err
	}
	return userOf(u, st), nil
}

// totpJSON is Clerk's TOTP object.
type totpJSON struct {
	Object      string   `json:"object"`
	ID          string   `json:"id"`
	Secret      string   `json:"secret,omitempty"`
	URI         string   `json:"uri,omitempty"`
	Verified    bool     `json:"verified"`
	BackupCodes []string `json:"backup_codes,omitempty"`
	CreatedAt   int64    `json:"created_at"`
	UpdatedAt   int64    `json:"updated_at"`
}

// createTOTP starts setting up an authenticator app (user.createTOTP()).
func (s *Server) createTOTP(w http.ResponseWriter, r *http.Request) {
	s.meCall(w, r, func(_ params, _ *session.Client, sess *session.Session, u *users.User) (any, error) {
		en, err := s.d.SignIn.EnrollTOTP(r.Context(), u, sess)
		if err != nil {
			return nil, err
		}
		return totpJSON{Object: "totp", ID: en.ID, Secret: en.Secret, URI: en.URI,
			CreatedAt: ms(en.CreatedAt), UpdatedAt: ms(en.CreatedAt)}, nil
	})
}

// verifyTOTP finishes setting it up with its first code
// (user.verifyTOTP({code})); the answer carries the first backup codes.
func (s *Server) verifyTOTP(w http.ResponseWriter, r *http.Request) {
	s.meCall(w, r, func(p params, c *session.Client, sess *session.Session, u *users.User) (any, error) {
		added, err := s.d.SignIn.VerifyTOTP(r.Context(), u, sess, strings.TrimSpace(p["code"]))
		if err != nil {
			return nil, err
		}
		if err := s.sessionChanged(w, r, c, sess, added.Session); err != nil {
			return nil, err
		}
		return totpJSON{Object: "totp", ID: added.TOTP.ID, Verified: true, BackupCodes: added.BackupCodes,
			CreatedAt: ms(added.TOTP.CreatedAt), UpdatedAt: ms(added.TOTP.CreatedAt)}, nil
	})
}

// deleteTOTP removes the authenticator app (user.disableTOTP()).
func (s *Server) deleteTOTP(w http.ResponseWriter, r *http.Request) {
	s.meCall(w, r, func(_ params, _ *session.Client, sess *session.Session, u *users.User) (any, error) {
		st, err := s.d.SignIn.MFAStatus(r.Context(), u)
		if err != nil {
			return nil, err
		}
		if err := s.d.SignIn.DisableTOTP(r.Context(), u, sess); err != nil {
			return nil, err
		}
		return map[string]any{"object": "totp", "id": st.TOTPID, "deleted": true}, nil
	})
}

// createBackupCodes replaces the backup codes (user.createBackupCode()).
func (s *Server) createBackupCodes(w http.ResponseWriter, r *http.Request) {
	s.meCall(w, r, func(_ params, _ *session.Client, sess *session.Session, u *users.User) (any, error) {
		set, err := s.d.SignIn.RegenerateBackupCodes(r.Context(), u, sess)
		if err != nil {
			return nil, err
		}
		return map[string]any{"object": "backup_code", "id": set.ID, "codes": set.Codes,
			"created_at": ms(set.CreatedAt), "updated_at": ms(set.CreatedAt)}, nil
	})
}

// updatePhone reserves or releases a phone number as a second factor
// (PATCH /v1/me/phone_numbers/{id}, reserved_for_second_factor).
func (s *Server) updatePhone(w http.ResponseWriter, r *http.Request) {
	s.meCall(w, r, func(p params, c *session.Client, sess *session.Session, u *users.User) (any, error) {
		if _, ok := p["reserved_for_second_factor"]; !ok {
			return nil, apierr.FormParamMissing.WithParam("reserved_for_second_factor").
				WithLongMessage("reserved_for_second_factor must be included.")
		}
		on, err := p.flag("reserved_for_second_factor", false)
		if err != nil {
			return nil, err
		}
		id := r.PathValue("id")
		added, err := s.d.SignIn.ReservePhone(r.Context(), u, sess, id, on)
		if err != nil {
			return nil, err
		}
		if err := s.sessionChanged(w, r, c, sess, added.Session); err != nil {
			return nil, err
		}
		uj, err := s.userWithFactors(r.Context(), u)
		if err != nil {
			return nil, err
		}
		for _, ph := range uj.PhoneNumbers {
			if ph.ID == id {
				ph.BackupCodes = added.BackupCodes
				return ph, nil
			}
		}
		return nil, apierr.ResourceNotFound
	})
}

// sessionChanged gives the browser a token that says what the session is
// after a change that finished its task (pending to active), on a new
// client handle, as a completed task always does (respond sends it).
func (s *Server) sessionChanged(w http.ResponseWriter, r *http.Request, c *session.Client, before, after *session.Session) error {
	if after == nil || (after.Status == before.Status && len(after.Tasks) == len(before.Tasks)) {
		return nil
	}
	return s.reissue(w, r, c, before, after)
}

// reissue forgets the identity cached for before's tokens and gives the
// browser a token of after, on a new client handle (respond sends it).
func (s *Server) reissue(w http.ResponseWriter, r *http.Request, c *session.Client, before, after *session.Session) error {
	s.ids.forget(before.ID)
	if err := s.rotateForSession(r.Context(), c, after); err != nil {
		return err
	}
	_, err := s.issueToken(w, r, after)
	return err
}

// activityJSON is Clerk's session with activities; authgate records no
// device or place, so latest_activity holds the session id alone.
type activityJSON struct {
	sessionCoreJSON
	LatestActivity map[string]any `json:"latest_activity"`
	Actor          any            `json:"actor"`
	Current        bool           `json:"current"`
}

// activeSessions lists the user's signed-in sessions, unwrapped, as
// Clerk answers GET /v1/me/sessions/active (user.getSessions()).
func (s *Server) activeSessions(w http.ResponseWriter, r *http.Request) {
	_, sess, u, err := s.currentSession(w, r)
	if err == nil {
		err = activeOnly(sess)
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	list, err := s.d.Sessions.ListByUser(r.Context(), u.ID)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	out := []activityJSON{}
	for _, o := range list {
		if !o.SignedIn(s.d.Now()) {
			continue
		}
		out = append(out, activityJSON{
			sessionCoreJSON: sessionCore(o), Current: o.ID == sess.ID,
			LatestActivity: map[string]any{"object": "session_activity", "id": o.ID},
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// revokeOwn revokes u's session id, from the API or the account page:
// signed out when it is on the caller's client c (nil: none), ended
// otherwise, and audited. A session that is not u's (or cannot be read)
// is left alone and answered as none: nil, nil.
func (s *Server) revokeOwn(r *http.Request, c *session.Client, u *users.User, id string) (*session.Session, error) {
	ctx := r.Context()
	target, err := s.d.Sessions.Get(ctx, id)
	if err != nil || target.UserID != u.ID {
		return nil, nil
	}
	var ended *session.Session
	if c != nil && target.ClientID == c.ID {
		ended, err = s.d.Sessions.SignOut(ctx, c, target.ID, session.StatusRevoked)
	} else {
		ended, err = s.d.Sessions.End(ctx, target.ID, session.StatusRevoked)
	}
	if ended != nil {
		s.signedOut(r, ended)
	}
	return ended, err
}

// revokeSession signs one of the user's sessions out, on any device
// (session.revoke() of user.getSessions()).
func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request) {
	s.meCall(w, r, func(_ params, c *session.Client, sess *session.Session, u *users.User) (any, error) {
		if err := activeOnly(sess); err != nil {
			return nil, err
		}
		ended, err := s.revokeOwn(r, c, u, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		if ended == nil {
			return nil, errNoSuchSession
		}
		if ended.ID == sess.ID {
			s.clearSessionCookie(w, r)
		}
		return s.renderSessionOf(r.Context(), ended, u, "")
	})
}

// activeOnly refuses a pending session what only a signed-in user does.
func activeOnly(sess *session.Session) error {
	if sess.Status != session.StatusActive {
		return apierr.SessionTaskPending.WithMeta("tasks", sess.Tasks)
	}
	return nil
}
