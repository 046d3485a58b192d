package handlers

import (
	"errors"
	"net/http"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/users"
)

// The reset-password task page: a pending session sets a new password
// (which completes the task); an active one changes its password, with
// the current one.

func (s *Server) resetPasswordPage(w http.ResponseWriter, r *http.Request, back string, c *session.Client, sess *session.Session, u *users.User) {
	isTask := tasks.Has(sess.Tasks, tasks.ResetPassword)
	d := s.signedInPage(r, "Change your password", back, u)
	d.IsTask = isTask
	d.NeedCurrent = !isTask && u.PasswordDigest != ""
	if isTask {
		d.Title = "Set a new password"
		d.Lead = "You need to set a new password before you continue."
	}
	if r.Method != http.MethodPost {
		s.render(w, r, http.StatusOK, "reset_password", d)
		return
	}
	s.changePasswordForm(w, r, d, c, sess, u, func(status int) { s.render(w, r, status, "reset_password", d) })
}

// changePasswordForm sets the password sent with the form, for the
// browser's client c and its session sess; show writes the form again
// (with d's errors) when the change was refused. The reset-password page
// and the account page share it.
func (s *Server) changePasswordForm(w http.ResponseWriter, r *http.Request, d *pageData, c *session.Client, sess *session.Session, u *users.User,
	show func(status int)) {
	ctx := r.Context()
	pw, ok := readNewPassword(r, d)
	current := r.PostForm.Get("current_password")
	if d.NeedCurrent && current == "" {
		d.Fields["current_password"] = "Enter your current password."
		ok = false
	}
	if d.IsTask {
		d.SignOutAll = true // a forced reset always ends the other sessions
	}
	if !ok {
		show(http.StatusUnprocessableEntity)
		return
	}
	if err := s.d.SignIn.AllowIP(ctx, "change_password", clientIP(r)); err != nil {
		if status := s.showErr(w, r, d, err); status != 0 {
			show(status)
		}
		return
	}
	_, nsess, err := s.d.SignIn.ChangePassword(ctx, u, sess, signin.ChangeParams{
		NewPassword: pw, CurrentPassword: current, SignOutOthers: d.SignOutAll,
	})
	if err != nil {
		if status := s.showErr(w, r, d, err, "password", "current_password"); status != 0 {
			show(status)
		}
		return
	}
	// The session's tokens said "pending" until now: forget them here.
	s.ids.forget(sess.ID)
	if err := s.rotateForSession(ctx, c, nsess); err != nil {
		s.failPage(w, r, err)
		return
	}
	s.signIn(w, r, c, nsess, d.Redirect)
}

// accountLabel names the account on the page: its email, else its phone,
// else its username.
func accountLabel(u *users.User) string {
	switch {
	case u.PrimaryEmail() != "":
		return u.PrimaryEmail()
	case u.PrimaryPhone() != "":
		return u.PrimaryPhone()
	}
	return u.Username
}

// sessionPage serves a page for the caller's session, pending or active,
// with the page's redirect_url (back): a caller without a session is sent
// to sign in and back here, a store failure gets the failure page. A page
// that serves one task (task set) sends a session that no longer has it
// (done already, in another tab say) on, as after the task.
func (s *Server) sessionPage(task string, serve func(w http.ResponseWriter, r *http.Request, back string, c *session.Client, sess *session.Session, u *users.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		back := redirectParam(r)
		c, sess, u, err := s.currentSession(w, r)
		if errors.Is(err, apierr.AuthenticationInvalid) || errors.Is(err, apierr.SignedOut) {
			seeOther(w, r, s.signInURL(withBack(r.URL.Path, back)))
			return
		}
		if err != nil {
			s.failPage(w, r, err)
			return
		}
		if task != "" && !tasks.Has(sess.Tasks, task) {
			s.goOn(w, r, sess.Status == session.StatusPending, sess.Tasks, back)
			return
		}
		serve(w, r, back, c, sess, u)
	}
}
