package handlers

import (
	"context"
	"net/http"
	"strings"

	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/users"
)

// The sign-in page's code sign-in, offered after a right but compromised
// password: a code sent to the user's own email or phone, then checked
// (the code step itself is page_code.go's).

// signInStartCode starts a sign-in with an email or SMS code (offered
// when the password is compromised).
func (s *Server) signInStartCode(w http.ResponseWriter, r *http.Request, d *pageData) {
	ctx := r.Context()
	ident := strings.TrimSpace(r.PostForm.Get("identifier"))
	d.Identifier = ident
	fail := func(err error) { s.renderErr(w, r, d, "sign_in", err, "identifier") }
	kind, _, err := users.Classify(ident)
	if err != nil {
		fail(err)
		return
	}
	c, ok := s.pageClient(w, r)
	if !ok {
		return
	}
	rq := signInRequest(r, c)
	// After a right but compromised password the client's sign-in knows
	// the user: continue it, so a username works too.
	res, err := s.compromisedSignIn(ctx, rq, c, ident)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	if res == nil {
		if res, err = s.d.SignIn.Create(ctx, rq, signin.CreateParams{Identifier: ident}); err != nil {
			fail(err)
			return
		}
	}
	strategy := codeStrategy(kind, res.User)
	res, err = s.d.SignIn.Prepare(ctx, rq, res.Attempt.ID, signin.PrepareParams{Strategy: strategy})
	if err != nil {
		fail(err)
		return
	}
	s.showSignInCode(d, res)
	s.render(w, r, http.StatusOK, "sign_in", d)
}

// compromisedSignIn returns the client's sign-in if it is the one whose
// compromised password was just given for ident, or nil.
func (s *Server) compromisedSignIn(ctx context.Context, rq signin.Request, c *session.Client, ident string) (*signin.Result, error) {
	if c.SignInID == "" {
		return nil, nil
	}
	_, norm, err := users.Classify(ident)
	if err != nil {
		return nil, nil
	}
	res, err := s.d.SignIn.Get(ctx, rq, c.SignInID)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !res.Attempt.PasswordVerified || res.Attempt.Identifier != norm || res.User == nil {
		return nil, nil
	}
	return res, nil
}

// codeStrategy picks email_code or phone_code for a code sign-in: the
// channel of the identifier typed, else (a username) the user's email,
// or their phone when they have no email.
func codeStrategy(kind users.Kind, u *users.User) string {
	switch {
	case kind == users.KindPhone:
		return signin.StrategyPhoneCode
	case kind == users.KindEmail:
		return signin.StrategyEmailCode
	case u != nil && len(u.Emails) == 0 && len(u.Phones) > 0:
		return signin.StrategyPhoneCode
	}
	return signin.StrategyEmailCode
}

// signInCode checks the code of a code sign-in.
func (s *Server) signInCode(w http.ResponseWriter, r *http.Request, d *pageData) {
	step := s.signInCodeStep()
	c, id, strategy, ok := s.readCodeForm(w, r, d, step)
	if !ok {
		return
	}
	code := readCode(r, d)
	if code == "" {
		s.reload(w, r, d, step, c, id, http.StatusUnprocessableEntity)
		return
	}
	if c == nil {
		s.reload(w, r, d, step, nil, id, http.StatusBadRequest)
		return
	}
	res, err := s.d.SignIn.AttemptFirstFactor(r.Context(), signInRequest(r, c), id, signin.AttemptParams{Strategy: strategy, Code: code})
	if err != nil {
		s.stepFailed(w, r, d, step, c, id, err, "code")
		return
	}
	s.finishSignIn(w, r, c, res, d.Redirect)
}
