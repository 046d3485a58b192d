package handlers

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/users"
)

// The account page: the user's email addresses and phones, a password
// change, the authenticator app (set up, remove), backup codes (new set,
// shown once) and the signed-in sessions (sign out one, or all others).
// Every change is a form posting back here; changes that need a recent
// first factor ask for the password first (reverification), then are
// done again.

// accountNotices are the confirmations a change redirects back with
// (?notice=key), so a reload does not send the form again.
var accountNotices = map[string]string{
	"password":  "Your password was changed.",
	"totp_off":  "The authenticator app was removed.",
	"revoked":   "That device was signed out.",
	"phone_on":  "Sign-ins can now ask for a code sent to that phone.",
	"phone_off": "That phone no longer receives sign-in codes.",
	"others":    "All other devices were signed out.",
}

// account is one request of the account page: the signed-in browser.
type account struct {
	c    *session.Client
	sess *session.Session
	u    *users.User
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) {
	self := s.cfg.Prefix + pathAccount
	c, sess, u, err := s.currentSession(w, r)
	if errors.Is(err, apierr.AuthenticationInvalid) || errors.Is(err, apierr.SignedOut) {
		seeOther(w, r, s.signInURL(self))
		return
	}
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	if sess.Status != session.StatusActive {
		// A pending session finishes its tasks first, then comes back.
		s.goOn(w, r, true, sess.Tasks, self)
		return
	}
	a := &account{c: c, sess: sess, u: u}
	d := s.mfaPage(r, "Your account", "", u)
	d.Lead = "Signed in as " + d.Account
	d.LinkURL, d.LinkText = s.afterSignIn(""), "Back to "+s.cfg.AppName
	d.Notice = accountNotices[r.URL.Query().Get("notice")]
	if r.Method != http.MethodPost {
		s.renderAccount(w, r, http.StatusOK, d, a)
		return
	}
	d.Notice = ""
	op, reverified := r.PostForm.Get("op"), false
	a.sess, op, reverified = s.reverified(w, r, d, u, sess, op, func(status int) { s.renderAccount(w, r, status, d, a) })
	if a.sess == nil {
		return
	}
	if reverified && !reverifiable[op] {
		s.renderAccount(w, r, http.StatusOK, d, a)
		return
	}
	s.accountOp(w, r, d, a, op)
}

// signedInPage is a page of the signed-in user's own (the account page,
// the task pages): it names the account and links to sign out.
func (s *Server) signedInPage(r *http.Request, title, back string, u *users.User) *pageData {
	d := s.newPage(r, title, back)
	d.Account = accountLabel(u)
	d.SignOutURL = s.cfg.Prefix + pathSignOut
	return d
}

// mfaPage is a signedInPage with the second-factor section, whose changes
// may ask for a reverification first (the account and setup-mfa pages).
func (s *Server) mfaPage(r *http.Request, title, back string, u *users.User) *pageData {
	d := s.signedInPage(r, title, back, u)
	d.MFA = &mfaData{}
	d.MFA.setReverify(u)
	return d
}

// reverified runs the reverification prompt when op is one of its steps
// (it is a no-op otherwise: sess and op come back as they are). When the
// prompt is not done, the page has answered, by render(status) or by
// reverifyForm itself, and the session comes back nil. Once it is done,
// the session is the reverified one, op the change the prompt
// interrupted, and reverified is true.
func (s *Server) reverified(w http.ResponseWriter, r *http.Request, d *pageData, u *users.User, sess *session.Session,
	op string, render func(status int)) (_ *session.Session, _ string, reverified bool) {
	if !isReverifyOp(op) {
		return sess, op, false
	}
	ns, status := s.reverifyForm(w, r, d, u, sess)
	if ns == nil {
		if status != 0 {
			render(status)
		}
		return nil, "", false
	}
	d.Error, d.MFA.Reverify = "", false
	return ns, d.MFA.Then, true
}

// reverifiable are the ops the reverification prompt may do again.
var reverifiable = map[string]bool{
	"enrol_totp": true, "disable_totp": true, "regenerate_codes": true, "reserve_phone": true, "release_phone": true,
}

// accountOp does one change of the account page.
func (s *Server) accountOp(w http.ResponseWriter, r *http.Request, d *pageData, a *account, op string) {
	ctx := r.Context()
	self := s.cfg.Prefix + pathAccount
	var err error
	switch op {
	case "change_password":
		s.accountPassword(w, r, d, a)
		return
	case "enrol_totp":
		en, e := s.d.SignIn.EnrollTOTP(ctx, a.u, a.sess)
		if err = e; err == nil {
			err = d.MFA.enrolment(en)
		}
	case "verify_totp":
		err = s.accountVerifyTOTP(w, r, d, a)
	case "disable_totp":
		if err = s.d.SignIn.DisableTOTP(ctx, a.u, a.sess); err == nil {
			seeOther(w, r, self+"?notice=totp_off")
			return
		}
	case "regenerate_codes":
		set, e := s.d.SignIn.RegenerateBackupCodes(ctx, a.u, a.sess)
		if err = e; err == nil {
			d.MFA.BackupCodes = set.Codes
			d.Notice = "Here are your new backup codes. The old ones no longer work."
		}
	case "reserve_phone", "release_phone":
		if err = s.accountPhone(w, r, d, a, op == "reserve_phone"); err == nil {
			return
		}
	case "revoke":
		s.accountRevoke(w, r, d, a)
		return
	case "revoke_others":
		if _, err = s.d.Sessions.RevokeUser(ctx, a.u.ID, a.sess.ID); err == nil {
			seeOther(w, r, self+"?notice=others")
			return
		}
	default:
		s.unreadableForm(w, r, self)
		return
	}
	if err == nil {
		s.renderAccount(w, r, http.StatusOK, d, a)
		return
	}
	if reverifyNeeded(err, d, op) {
		s.renderAccount(w, r, http.StatusForbidden, d, a)
		return
	}
	if status := s.showErr(w, r, d, err, "code"); status != 0 {
		s.renderAccount(w, r, status, d, a)
	}
}

// accountVerifyTOTP finishes the app's set-up with its first code; the
// first backup codes show on the answer. A wrong code shows the same
// set-up again.
func (s *Server) accountVerifyTOTP(w http.ResponseWriter, r *http.Request, d *pageData, a *account) error {
	if err := d.MFA.showURI(r.PostForm.Get("totp_uri")); err != nil {
		return apierr.FormParamFormatInvalid.WithLongMessage("This set-up has expired. Please start again.")
	}
	code := normalizeCode(r.PostForm.Get("code"))
	if code == "" {
		d.Fields["code"] = "Enter the code your authenticator app shows."
		return nil
	}
	added, err := s.d.SignIn.VerifyTOTP(r.Context(), a.u, a.sess, code)
	if err != nil {
		return err
	}
	if err := s.sessionChanged(w, r, a.c, a.sess, added.Session); err != nil {
		return err
	}
	s.sendRotated(w, r, a.c)
	d.MFA.URI, d.MFA.QR, d.MFA.Secret = "", "", ""
	d.MFA.BackupCodes = added.BackupCodes
	d.Notice = "The authenticator app is on: you will be asked for a code when you sign in."
	return nil
}

// accountPhone makes one of the user's phones a second factor (on) or
// stops it being one, as PATCH /v1/me/phone_numbers/{id} does
// (reserved_for_second_factor). The first second factor comes with the
// first backup codes, shown on the answer; otherwise the browser goes
// back to the page with a notice. It answers the browser unless it
// returns an error, which accountOp shows (a reverification included).
func (s *Server) accountPhone(w http.ResponseWriter, r *http.Request, d *pageData, a *account, on bool) error {
	id := r.PostForm.Get("phone_id")
	d.MFA.ThenPhone = id
	added, err := s.d.SignIn.ReservePhone(r.Context(), a.u, a.sess, id, on)
	if err != nil {
		return err
	}
	if err := s.sessionChanged(w, r, a.c, a.sess, added.Session); err != nil {
		return err
	}
	s.sendRotated(w, r, a.c)
	self := s.cfg.Prefix + pathAccount
	switch {
	case !on:
		seeOther(w, r, self+"?notice=phone_off")
	case len(added.BackupCodes) == 0:
		seeOther(w, r, self+"?notice=phone_on")
	default:
		d.MFA.ThenPhone = ""
		d.MFA.BackupCodes = added.BackupCodes
		d.Notice = accountNotices["phone_on"]
		s.renderAccount(w, r, http.StatusOK, d, a)
	}
	return nil
}

// accountPassword changes the password through the reset-password
// page's path (current password, breach check, other sessions).
func (s *Server) accountPassword(w http.ResponseWriter, r *http.Request, d *pageData, a *account) {
	d.NeedCurrent = a.u.PasswordDigest != ""
	// On success the browser comes back here with a notice.
	d.Redirect = s.cfg.Prefix + pathAccount + "?notice=password"
	s.changePasswordForm(w, r, d, a.c, a.sess, a.u, func(status int) {
		d.Redirect = ""
		s.renderAccount(w, r, status, d, a)
	})
}

// accountRevoke signs one of the user's sessions out, on any device, as
// the API's revoke does (api_mfa.go).
func (s *Server) accountRevoke(w http.ResponseWriter, r *http.Request, d *pageData, a *account) {
	ended, err := s.revokeOwn(r, a.c, a.u, r.PostForm.Get("session_id"))
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	if ended == nil {
		d.Error = "That session is already signed out."
		s.renderAccount(w, r, http.StatusNotFound, d, a)
		return
	}
	if ended.ID == a.sess.ID {
		s.clearSessionCookie(w, r)
		seeOther(w, r, s.signInURL(""))
		return
	}
	seeOther(w, r, s.cfg.Prefix+pathAccount+"?notice=revoked")
}

// renderAccount fills in the account's sections and writes the page.
func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, status int, d *pageData, a *account) {
	ctx := r.Context()
	st, err := s.d.SignIn.MFAStatus(ctx, a.u)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	list, err := s.d.Sessions.ListByUser(ctx, a.u.ID)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	cfg := s.d.SignIn.MFAConfig()
	m := d.MFA
	m.TOTPOn, m.TOTP, m.BackupOn, m.BackupLeft = cfg.TOTP, st.TOTP, cfg.BackupCodes && st.Enabled(), st.BackupCodes
	if st.TOTP {
		m.TOTPSince = when(st.TOTPCreatedAt)
	}
	m.HasPassword = a.u.PasswordDigest != ""
	m.PhonesOn = cfg.PhoneCode
	m.Emails, m.Phones = nil, nil
	for _, e := range a.u.Emails {
		m.Emails = append(m.Emails, e.Value)
	}
	for _, p := range a.u.Phones {
		m.Phones = append(m.Phones, phoneRow{ID: p.ID, Value: p.Value, Reserved: slices.Contains(st.Phones, p.ID)})
	}
	m.Sessions = nil
	for _, o := range list {
		if !o.SignedIn(s.d.Now()) {
			continue
		}
		m.Sessions = append(m.Sessions, sessionRow{ID: o.ID, Current: o.ID == a.sess.ID, Since: when(o.CreatedAt), LastActive: when(o.LastActiveAt)})
	}
	s.render(w, r, status, "account", d)
}

// when is a time as the account page shows it.
func when(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") }
