package handlers

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	qrcode "github.com/yeqown/go-qrcode/v2"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/users"
)

// What the setup-mfa task page and the account page share: setting up an
// authenticator app (its QR code and secret), the backup codes shown
// once, and the password prompt of a reverification.

// mfaData is the second-factor part of a page.
type mfaData struct {
	// URI, Secret and QR are an authenticator app being set up. The URI
	// travels in the code form so that a wrong code shows the same QR
	// code again instead of a new secret the app has never seen.
	URI    string
	Secret string
	QR     template.HTML
	// BackupCodes are shown once, on the answer that made them.
	BackupCodes []string
	// Reverify asks for the password before Then (an op of the page) is
	// done again: signin refuses a change when the first factor is old.
	Reverify bool
	Then     string
	// ThenPhone is the phone Then is about (reserve_phone, release_phone).
	ThenPhone string
	// ReverifyVia and ReverifyTo are how a user without a password
	// reverifies (email_code or phone_code) and where the code goes
	// (masked); ReverifySent: the prompt asks for the code sent.
	ReverifyVia  string
	ReverifyTo   string
	ReverifySent bool
	// The account page's sections.
	Emails []string
	Phones []phoneRow
	// PhonesOn: phone_code is on, so a phone may be a second factor.
	PhonesOn bool
	// AddPhone offers to add a phone (the setup-mfa page); NewPhoneID and
	// NewPhone are one added and texted its code, waiting for it.
	AddPhone    bool
	NewPhoneID  string
	NewPhone    string
	TOTPOn      bool
	TOTP        bool
	TOTPSince   string
	BackupOn    bool
	BackupLeft  int
	HasPassword bool
	Sessions    []sessionRow
}

// phoneRow is one of the user's phone numbers on the account page.
type phoneRow struct {
	ID, Value string
	// Reserved: the user made it a second factor.
	Reserved bool
}

// sessionRow is one signed-in session on the account page.
type sessionRow struct {
	ID         string
	Current    bool
	Since      string
	LastActive string
}

// enrolment sets up m to show en (a fresh authenticator app set-up).
func (m *mfaData) enrolment(en *mfa.Enrollment) error {
	return m.showURI(en.URI)
}

// showURI shows the set-up of the otpauth URI sent back by a code form.
// It is the browser's own secret, so the worst a forged one can do is
// show its sender a QR code of their own making; it is checked for shape.
func (m *mfaData) showURI(uri string) error {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("secret") == "" {
		return fmt.Errorf("not an authenticator set-up: %q", uri)
	}
	qr, err := qrSVG(uri)
	if err != nil {
		return err
	}
	m.URI, m.Secret, m.QR = uri, groupSecret(u.Query().Get("secret")), qr
	return nil
}

// qrSVG renders text as an inline SVG QR code: one path of dark modules
// with the standard 4-module quiet zone. Inline SVG needs no change to
// the pages' CSP (no data: images, no style attributes).
func qrSVG(text string) (template.HTML, error) {
	qr, err := qrcode.NewWith(text, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return "", fmt.Errorf("making the QR code: %w", err)
	}
	var m matrixWriter
	if err := qr.Save(&m); err != nil {
		return "", fmt.Errorf("making the QR code: %w", err)
	}
	const quiet = 4
	size := len(m.bits) + 2*quiet
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img" aria-label="QR code to scan with your authenticator app"><rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, size, size, size, size)
	for y, row := range m.bits {
		for x, dark := range row {
			if dark {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+quiet, y+quiet)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	// Only numbers and fixed markup went in: nothing of text is echoed.
	return template.HTML(b.String()), nil //nolint:gosec // see above
}

// matrixWriter keeps the QR code's modules (the library's Writer).
type matrixWriter struct{ bits [][]bool }

func (w *matrixWriter) Write(mat qrcode.Matrix) error {
	w.bits = mat.Bitmap()
	return nil
}

func (w *matrixWriter) Close() error { return nil }

// groupSecret spaces a base32 secret in groups of four for typing.
func groupSecret(s string) string {
	var parts []string
	for len(s) > 4 {
		parts = append(parts, s[:4])
		s = s[4:]
	}
	return strings.Join(append(parts, s), " ")
}

// reverifyNeeded reports whether err asks for a first factor again; it
// sets d up to ask for it before then is done again: the password, or
// for a user without one a code (d.MFA.ReverifyVia, setReverify).
func reverifyNeeded(err error, d *pageData, then string) bool {
	if !errors.Is(err, apierr.SessionReverificationRequired) {
		return false
	}
	d.MFA.Reverify, d.MFA.Then = true, then
	d.Error = "For your security, enter your password again to continue."
	if !d.MFA.HasPassword {
		d.Error = "For your security, confirm it is you with a code."
	}
	return true
}

// setReverify records how u reverifies on the page: the password, else
// a code to the first email address, else to the first phone.
func (m *mfaData) setReverify(u *users.User) {
	m.HasPassword = u.PasswordDigest != ""
	switch {
	case m.HasPassword:
	case len(u.Emails) > 0:
		m.ReverifyVia, m.ReverifyTo = signin.StrategyEmailCode, signin.Mask(users.KindEmail, u.Emails[0].Value)
	case len(u.Phones) > 0:
		m.ReverifyVia, m.ReverifyTo = signin.StrategyPhoneCode, signin.Mask(users.KindPhone, u.Phones[0].Value)
	}
}

// isReverifyOp reports whether op is a step of the reverification prompt.
func isReverifyOp(op string) bool {
	return op == "reverify" || op == "reverify_send" || op == "reverify_code"
}

// reverifyForm answers the reverification prompt: op "reverify" checks
// the password, "reverify_send" sends a code (d.MFA.ReverifyVia) and
// "reverify_code" checks it. It returns the session afterwards, or nil
// when it has set d up to show the prompt again (status is then the
// status to answer with; 0 when the failure page is written).
func (s *Server) reverifyForm(w http.ResponseWriter, r *http.Request, d *pageData, u *users.User, sess *session.Session) (*session.Session, int) {
	d.MFA.Then = r.PostForm.Get("then")
	d.MFA.ThenPhone = r.PostForm.Get("phone_id")
	d.MFA.Reverify = true
	var ns *session.Session
	var err error
	switch op := r.PostForm.Get("op"); {
	case op == "reverify":
		pw := r.PostForm.Get("reverify_password")
		if pw == "" {
			d.Fields["reverify_password"] = "Enter your password."
			return nil, http.StatusUnprocessableEntity
		}
		ns, err = s.d.SignIn.Reverify(r.Context(), u, sess, pw)
	case d.MFA.ReverifyVia == "":
		err = apierr.StrategyForUserInvalid
	case op == "reverify_send":
		d.MFA.ReverifySent = true
		if err = s.sendReverifyCode(r, d, u, sess); err == nil {
			d.Notice = "We sent a code to " + d.MFA.ReverifyTo + "."
			return nil, http.StatusOK
		}
	default:
		d.MFA.ReverifySent = true
		ns, err = s.checkReverifyCode(r, d, u, sess)
		if err == nil && ns == nil {
			return nil, http.StatusUnprocessableEntity
		}
	}
	if err != nil {
		return nil, s.showErr(w, r, d, err, "code")
	}
	d.MFA.Reverify, d.MFA.ReverifySent = false, false
	return ns, 0
}

// sendReverifyCode sends the reverification code of the page's prompt.
func (s *Server) sendReverifyCode(r *http.Request, d *pageData, u *users.User, sess *session.Session) error {
	rv, err := s.reverifier()
	if err != nil {
		return err
	}
	_, err = rv.PrepareReverifyCode(r.Context(), signInRequest(r, nil), u, sess, d.MFA.ReverifyVia, "")
	return err
}

// checkReverifyCode checks the code typed into the prompt; nil, nil when
// the field was empty (the error is on d).
func (s *Server) checkReverifyCode(r *http.Request, d *pageData, u *users.User, sess *session.Session) (*session.Session, error) {
	code := normalizeCode(r.PostForm.Get("code"))
	if code == "" {
		d.Fields["code"] = "Enter the code we sent."
		return nil, nil
	}
	rv, err := s.reverifier()
	if err != nil {
		return nil, err
	}
	return rv.ReverifyWithCode(r.Context(), u, sess, d.MFA.ReverifyVia, code)
}
