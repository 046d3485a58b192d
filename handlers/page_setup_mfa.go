package handlers

import (
	"net/http"

	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/users"
)

// The setup-mfa task page: a session pending because the deployment
// requires a second factor sets up an authenticator app (QR code and
// secret, then its first code), sees its backup codes once, and goes on
// to redirect_url. Where SMS codes are the only second factor offered
// (totp off, phone_code on), the user picks one of their phones instead,
// or adds one (the number, then the code texted to it; signin's
// phone_add.go), which becomes the second factor at once.

func (s *Server) setupMFAPage(w http.ResponseWriter, r *http.Request, back string, c *session.Client, sess *session.Session, u *users.User) {
	d := s.mfaPage(r, "Set up two-step verification", back, u)
	d.Lead = "Your account needs a second step at sign-in. Scan the QR code with an authenticator app (such as 1Password, Google Authenticator or Authy), then enter the code it shows."
	phoneOnly := !s.d.SignIn.MFAConfig().TOTP
	if phoneOnly {
		d.Lead = "Your account needs a second step at sign-in: a code we send by text message. Choose the phone that gets it."
	}
	sess, op, _ := s.reverified(w, r, d, u, sess, r.PostForm.Get("op"), func(status int) { s.render(w, r, status, "setup_mfa", d) })
	if sess == nil {
		return
	}
	switch {
	case op == "verify_totp":
		s.setupVerify(w, r, d, c, sess, u)
	case op == "reserve_phone" && phoneOnly:
		s.setupPhone(w, r, d, c, sess, u)
	case op == "add_phone" && phoneOnly:
		s.setupAddPhone(w, r, d, sess, u)
	case op == "verify_phone" && phoneOnly:
		s.setupVerifyPhone(w, r, d, c, sess, u)
	case op == "" && phoneOnly, op == "enrol" && phoneOnly:
		s.setupPhones(d, u, true)
		s.render(w, r, http.StatusOK, "setup_mfa", d)
	case op == "", op == "enrol":
		s.setupEnrol(w, r, d, sess, u)
	default:
		s.unreadableForm(w, r, withBack(r.URL.Path, back))
	}
}

// setupPhones lists the user's phones to choose from (phoneOnly: SMS
// codes are the only second factor offered).
func (s *Server) setupPhones(d *pageData, u *users.User, phoneOnly bool) {
	if !phoneOnly {
		return
	}
	d.MFA.PhonesOn, d.MFA.AddPhone, d.MFA.Phones = true, true, nil
	for _, p := range u.Phones {
		d.MFA.Phones = append(d.MFA.Phones, phoneRow{ID: p.ID, Value: p.Value})
	}
}

// setupPhone makes the chosen phone the user's second factor; it
// completes the task.
func (s *Server) setupPhone(w http.ResponseWriter, r *http.Request, d *pageData, c *session.Client, sess *session.Session, u *users.User) {
	id := r.PostForm.Get("phone_id")
	d.MFA.ThenPhone = id
	added, err := s.d.SignIn.ReservePhone(r.Context(), u, sess, id, true)
	if reverifyNeeded(err, d, "reserve_phone") {
		s.render(w, r, http.StatusForbidden, "setup_mfa", d)
		return
	}
	if err != nil {
		if status := s.showErr(w, r, d, err); status != 0 {
			s.setupPhones(d, u, true)
			s.render(w, r, status, "setup_mfa", d)
		}
		return
	}
	s.setupDone(w, r, d, c, sess, added)
}

// setupAddPhone adds the number typed and texts it its code.
func (s *Server) setupAddPhone(w http.ResponseWriter, r *http.Request, d *pageData, sess *session.Session, u *users.User) {
	ph, err := s.phones()
	var np *signin.NewPhone
	if err == nil {
		np, err = ph.CreatePhone(r.Context(), u, sess, r.PostForm.Get("phone_number"))
	}
	if err == nil {
		_, err = ph.PreparePhone(r.Context(), signInRequest(r, nil), u, sess, np.ID, signin.StrategyPhoneCode)
	}
	if err != nil {
		if status := s.showErr(w, r, d, err, "phone_number"); status != 0 {
			s.setupPhones(d, u, true)
			s.render(w, r, status, "setup_mfa", d)
		}
		return
	}
	d.MFA.PhonesOn, d.MFA.NewPhoneID, d.MFA.NewPhone = true, np.ID, np.Value
	s.render(w, r, http.StatusOK, "setup_mfa", d)
}

// setupVerifyPhone checks the code of the number added; the right one
// makes it the user's and their second factor, which completes the task.
func (s *Server) setupVerifyPhone(w http.ResponseWriter, r *http.Request, d *pageData, c *session.Client, sess *session.Session, u *users.User) {
	id := r.PostForm.Get("phone_id")
	ph, err := s.phones()
	var nu *users.User
	if err == nil {
		nu, err = ph.AttemptPhone(r.Context(), u, sess, id, normalizeCode(r.PostForm.Get("code")))
	}
	var added *signin.FactorAdded
	if err == nil {
		added, err = s.d.SignIn.ReservePhone(r.Context(), nu, sess, id, true)
	}
	if reverifyNeeded(err, d, "enrol") {
		s.render(w, r, http.StatusForbidden, "setup_mfa", d)
		return
	}
	if err != nil {
		if status := s.showErr(w, r, d, err, "code"); status != 0 {
			d.MFA.PhonesOn, d.MFA.NewPhoneID, d.MFA.NewPhone = true, id, r.PostForm.Get("phone")
			s.render(w, r, status, "setup_mfa", d)
		}
		return
	}
	s.setupDone(w, r, d, c, sess, added)
}

// setupEnrol shows a new authenticator app set-up.
func (s *Server) setupEnrol(w http.ResponseWriter, r *http.Request, d *pageData, sess *session.Session, u *users.User) {
	en, err := s.d.SignIn.EnrollTOTP(r.Context(), u, sess)
	if reverifyNeeded(err, d, "enrol") {
		s.render(w, r, http.StatusForbidden, "setup_mfa", d)
		return
	}
	if err == nil {
		err = d.MFA.enrolment(en)
	}
	if err != nil {
		if status := s.showErr(w, r, d, err); status != 0 {
			s.render(w, r, status, "setup_mfa", d)
		}
		return
	}
	s.render(w, r, http.StatusOK, "setup_mfa", d)
}

// setupVerify checks the app's first code; it completes the task.
func (s *Server) setupVerify(w http.ResponseWriter, r *http.Request, d *pageData, c *session.Client, sess *session.Session, u *users.User) {
	if err := d.MFA.showURI(r.PostForm.Get("totp_uri")); err != nil {
		s.setupEnrol(w, r, d, sess, u)
		return
	}
	code := normalizeCode(r.PostForm.Get("code"))
	if code == "" {
		d.Fields["code"] = "Enter the code your authenticator app shows."
		s.render(w, r, http.StatusUnprocessableEntity, "setup_mfa", d)
		return
	}
	added, err := s.d.SignIn.VerifyTOTP(r.Context(), u, sess, code)
	if reverifyNeeded(err, d, "enrol") {
		s.render(w, r, http.StatusForbidden, "setup_mfa", d)
		return
	}
	if err != nil {
		if status := s.showErr(w, r, d, err, "code"); status != 0 {
			s.render(w, r, status, "setup_mfa", d)
		}
		return
	}
	s.setupDone(w, r, d, c, sess, added)
}

// setupDone goes on after the second factor was added: the session's
// next task or redirect_url, through the backup codes when there are new
// ones to show.
func (s *Server) setupDone(w http.ResponseWriter, r *http.Request, d *pageData, c *session.Client, sess *session.Session, added *signin.FactorAdded) {
	if err := s.sessionChanged(w, r, c, sess, added.Session); err != nil {
		s.failPage(w, r, err)
		return
	}
	s.sendRotated(w, r, c)
	after := added.Session
	if after == nil {
		after = sess
	}
	next := s.afterSignIn(d.Redirect)
	if after.Status == session.StatusPending {
		next = s.cfg.Tasks.FirstURL(after.Tasks, d.Redirect)
	}
	if len(added.BackupCodes) == 0 {
		seeOther(w, r, next)
		return
	}
	// The codes are shown this once; the page has no form, only the way on.
	d = s.newPage(r, "Save your backup codes", "")
	d.Action = ""
	d.Lead = "If you lose your phone, each of these codes signs you in once. Keep them somewhere safe: they are not shown again."
	d.MFA = &mfaData{BackupCodes: added.BackupCodes}
	d.LinkURL, d.LinkText = next, "Continue"
	s.render(w, r, http.StatusOK, "setup_mfa", d)
}
