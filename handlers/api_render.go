package handlers

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/users"
)

// The JSON shapes of the API (Clerk's Frontend API objects) and how the
// client, its sessions and its sign-in are rendered.

func ms(t interface{ UnixMilli() int64 }) int64 { return t.UnixMilli() }

type tokenJSON struct {
	Object string `json:"object"`
	JWT    string `json:"jwt"`
}

type taskJSON struct {
	Key string `json:"key"`
}

// sessionCoreJSON is what Clerk's every rendering of a session begins
// with (the client's sessions, /v1/me/sessions/active).
type sessionCoreJSON struct {
	Object       string `json:"object"`
	ID           string `json:"id"`
	Status       string `json:"status"`
	ExpireAt     int64  `json:"expire_at"`
	AbandonAt    int64  `json:"abandon_at"`
	LastActiveAt int64  `json:"last_active_at"`
}

// sessionCore renders sess's core; a session is abandoned when it
// expires (authgate keeps no longer-lived handle).
func sessionCore(sess *session.Session) sessionCoreJSON {
	return sessionCoreJSON{
		Object: "session", ID: sess.ID, Status: sess.Status,
		ExpireAt: ms(sess.ExpireAt), AbandonAt: ms(sess.ExpireAt), LastActiveAt: ms(sess.LastActiveAt),
	}
}

type sessionJSON struct {
	sessionCoreJSON
	LastActiveToken *tokenJSON `json:"last_active_token"`
	Tasks           []taskJSON `json:"tasks"`
	User            *userJSON  `json:"user"`
	// FactorVerificationAge is Clerk's [minutes since the first factor,
	// minutes since the second (-1: none)], in the client's sessions.
	FactorVerificationAge []int `json:"factor_verification_age"`
	CreatedAt             int64 `json:"created_at"`
	UpdatedAt             int64 `json:"updated_at"`
}

type clientJSON struct {
	Object              string        `json:"object"`
	ID                  string        `json:"id"`
	Sessions            []sessionJSON `json:"sessions"`
	SignIn              *signInJSON   `json:"sign_in"`
	SignUp              any           `json:"sign_up"`
	LastActiveSessionID *string       `json:"last_active_session_id"`
	CreatedAt           int64         `json:"created_at"`
	UpdatedAt           int64         `json:"updated_at"`
}

type factorJSON struct {
	Strategy       string `json:"strategy"`
	SafeIdentifier string `json:"safe_identifier,omitempty"`
	EmailAddressID string `json:"email_address_id,omitempty"`
	PhoneNumberID  string `json:"phone_number_id,omitempty"`
	Primary        bool   `json:"primary,omitempty"`
}

// verificationCoreJSON is what every Clerk Verification object carries
// (a sign-in's factor, a reverification, a sign-up field): attempts and
// expire_at are null but for a code sent.
type verificationCoreJSON struct {
	Object   string `json:"object"`
	Status   string `json:"status"`
	Strategy string `json:"strategy"`
	Attempts *int   `json:"attempts"`
	ExpireAt *int64 `json:"expire_at"`
}

// codeSent sets the attempts made at a code sent and when it expires.
func (v *verificationCoreJSON) codeSent(attempts int, expireAt time.Time) {
	exp := ms(expireAt)
	v.Attempts, v.ExpireAt = &attempts, &exp
}

// verificationJSON is a sign-in's (or a reverification's) Verification.
type verificationJSON struct {
	verificationCoreJSON
	Error any `json:"error"`
}

// newVerification is a sign-in verification without a code's counts.
func newVerification(status, strategy string) *verificationJSON {
	return &verificationJSON{verificationCoreJSON: verificationCoreJSON{Object: verificationObject(strategy), Status: status, Strategy: strategy}}
}

type signInJSON struct {
	Object               string         `json:"object"`
	ID                   string         `json:"id"`
	Status               string         `json:"status"`
	SupportedIdentifiers []string       `json:"supported_identifiers"`
	Identifier           *string        `json:"identifier"`
	UserData             map[string]any `json:"user_data"`
	factorStepsJSON
	CreatedSessionID *string `json:"created_session_id"`
	AbandonAt        int64   `json:"abandon_at"`
}

// factorStepsJSON is the factors on offer and their verifications, which
// a sign-in and a session reverification show alike.
type factorStepsJSON struct {
	SupportedFirstFactors    []factorJSON      `json:"supported_first_factors"`
	SupportedSecondFactors   []factorJSON      `json:"supported_second_factors"`
	FirstFactorVerification  *verificationJSON `json:"first_factor_verification"`
	SecondFactorVerification *verificationJSON `json:"second_factor_verification"`
}

// factors lists what a user can sign in or reset with. With enumeration
// protection (strict) known and unknown identifiers get the same shape:
// the password, and the code factors of the identifier that was typed
// (none for a username). Without it, every factor of the user is listed.
func factors(res *signin.Result, strict bool) []factorJSON {
	a, u := res.Attempt, res.User
	if a.Kind == "" {
		return []factorJSON{}
	}
	if (strict && !a.PasswordVerified) || u == nil {
		out := []factorJSON{{Strategy: signin.StrategyPassword}}
		id := a.FakeID
		if u != nil {
			id = u.IdentificationOf(a.Kind, a.Identifier).ID
		}
		switch a.Kind {
		case users.KindEmail:
			safe := signin.Mask(users.KindEmail, a.Identifier)
			out = append(out,
				factorJSON{Strategy: signin.StrategyEmailCode, SafeIdentifier: safe, EmailAddressID: id, Primary: true},
				factorJSON{Strategy: signin.StrategyResetPasswordEmail, SafeIdentifier: safe, EmailAddressID: id, Primary: true})
		case users.KindPhone:
			safe := signin.Mask(users.KindPhone, a.Identifier)
			out = append(out,
				factorJSON{Strategy: signin.StrategyPhoneCode, SafeIdentifier: safe, PhoneNumberID: id, Primary: true},
				factorJSON{Strategy: signin.StrategyResetPasswordPhone, SafeIdentifier: safe, PhoneNumberID: id, Primary: true})
		}
		return out
	}
	var out []factorJSON
	if u.PasswordDigest != "" {
		out = append(out, factorJSON{Strategy: signin.StrategyPassword})
	}
	for _, strategies := range [][2]string{
		{signin.StrategyEmailCode, signin.StrategyPhoneCode},
		{signin.StrategyResetPasswordEmail, signin.StrategyResetPasswordPhone},
	} {
		for i, e := range u.Emails {
			out = append(out, factorJSON{Strategy: strategies[0], SafeIdentifier: signin.Mask(users.KindEmail, e.Value), EmailAddressID: e.ID, Primary: i == 0})
		}
		for i, p := range u.Phones {
			out = append(out, factorJSON{Strategy: strategies[1], SafeIdentifier: signin.Mask(users.KindPhone, p.Value), PhoneNumberID: p.ID, Primary: i == 0})
		}
	}
	if out == nil {
		out = []factorJSON{}
	}
	return out
}

func renderSignIn(res *signin.Result, strict bool) *signInJSON {
	a := res.Attempt
	j := &signInJSON{
		Object: "sign_in_attempt", ID: a.ID, Status: a.Status,
		SupportedIdentifiers: []string{"email_address", "phone_number", "username"},
		UserData:             map[string]any{"first_name": nil, "last_name": nil, "image_url": "", "has_image": false},
		factorStepsJSON:      factorStepsJSON{SupportedFirstFactors: factors(res, strict)},
		AbandonAt:            ms(a.AbandonAt),
	}
	if a.Identifier != "" {
		ident := a.Identifier
		j.Identifier = &ident
	}
	j.FirstFactorVerification = renderVerification(a.Verification)
	j.SupportedSecondFactors, j.SecondFactorVerification = secondFactors(res)
	if a.CreatedSessionID != "" {
		sid := a.CreatedSessionID
		j.CreatedSessionID = &sid
	}
	return j
}

// renderVerification renders a factor's verification (nil: none).
func renderVerification(v *signin.Verification) *verificationJSON {
	if v == nil {
		return nil
	}
	vj := newVerification(v.Status, v.Strategy)
	if v.Strategy != signin.StrategyPassword {
		vj.codeSent(v.Attempts, v.ExpireAt)
	}
	return vj
}

func renderSession(sess *session.Session, u *users.User, jwt string) sessionJSON {
	j := sessionJSON{sessionCoreJSON: sessionCore(sess), CreatedAt: ms(sess.CreatedAt), UpdatedAt: ms(sess.UpdatedAt)}
	if jwt != "" {
		j.LastActiveToken = &tokenJSON{Object: "token", JWT: jwt}
	}
	if len(sess.Tasks) > 0 {
		for _, t := range sess.Tasks {
			j.Tasks = append(j.Tasks, taskJSON{Key: t})
		}
	}
	if u != nil {
		// Without the second factors: renderSessionOf adds them.
		j.User = userOf(u, mfa.Status{})
	}
	return j
}

// renderClient renders the caller's client with its signed-in sessions;
// the last active one carries a fresh token.
func (s *Server) renderClient(ctx context.Context, r *http.Request, c *session.Client) (*clientJSON, error) {
	if c == nil {
		return nil, nil
	}
	j := &clientJSON{Object: "client", ID: c.ID, Sessions: []sessionJSON{}, CreatedAt: ms(c.CreatedAt), UpdatedAt: ms(c.UpdatedAt)}
	list, err := s.d.Sessions.ClientSessions(ctx, c)
	if err != nil {
		return nil, err
	}
	now := s.d.Now()
	for _, sess := range list {
		if !sess.SignedIn(now) {
			continue
		}
		// A session whose user was deleted is left out; any other error
		// (the store out of reach) is the answer.
		u, err := s.d.Users.Get(ctx, sess.UserID)
		if errors.Is(err, users.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		jwt := ""
		if sess.ID == c.LastActiveSessionID {
			if jwt, err = s.mint(ctx, r, sess); err != nil {
				return nil, err
			}
			id := sess.ID
			j.LastActiveSessionID = &id
		}
		sj, err := s.renderSessionOf(ctx, sess, u, jwt)
		if err != nil {
			return nil, err
		}
		j.Sessions = append(j.Sessions, sj)
	}
	if c.SignInID != "" {
		// The client's sign-in is shown while it is in progress; one that
		// expired is simply not there any more.
		res, err := s.d.SignIn.Get(ctx, signin.Request{Client: c}, c.SignInID)
		switch {
		case err == nil && res.Attempt.Status != signin.StatusComplete:
			j.SignIn = renderSignIn(res, s.d.SignIn.Config().EnumerationProtection)
		case err != nil && !errors.Is(err, apierr.ResourceNotFound):
			return nil, err
		}
	}
	if j.SignUp, err = s.currentSignUp(ctx, c); err != nil {
		return nil, err
	}
	return j, nil
}
