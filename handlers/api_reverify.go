package handlers

import (
	"context"
	"net/http"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/users"
)

// Session reverification (Clerk's session.startVerification,
// prepareFirstFactorVerification and attemptFirstFactorVerification): the
// user of a signed-in session proves a first factor again, which adding
// or removing a second factor asks for after 10 minutes (403
// session_reverification_required): the password, or a code sent to one
// of the user's email addresses or phones.

// codeReverifier is reverification by a code (signin.Service).
type codeReverifier interface {
	PrepareReverifyCode(ctx context.Context, rq signin.Request, u *users.User, sess *session.Session, strategy, targetID string) (*signin.ReverifyCode, error)
	ReverifyWithCode(ctx context.Context, u *users.User, sess *session.Session, strategy, code string) (*session.Session, error)
}

// reverifier is the sign-in service's reverification by code, if it has one.
func (s *Server) reverifier() (codeReverifier, error) {
	rv, ok := s.d.SignIn.(codeReverifier)
	if !ok {
		return nil, apierr.StrategyForUserInvalid.WithParam("strategy")
	}
	return rv, nil
}

// sessionVerificationJSON is Clerk's SessionVerification object.
type sessionVerificationJSON struct {
	Object  string      `json:"object"`
	Status  string      `json:"status"`
	Level   string      `json:"level"`
	Session sessionJSON `json:"session"`
	factorStepsJSON
}

// verifySession starts a reverification (POST .../sessions/{id}/verify).
func (s *Server) verifySession(w http.ResponseWriter, r *http.Request) {
	s.reverify(w, r, func(p params, _ *session.Client, sess *session.Session, _ *users.User) (*session.Session, *verificationJSON, error) {
		return sess, nil, nil
	})
}

// prepareSessionFirstFactor sends a reverification code
// (POST .../sessions/{id}/verify/prepare_first_factor: strategy email_code
// with email_address_id, or phone_code with phone_number_id).
func (s *Server) prepareSessionFirstFactor(w http.ResponseWriter, r *http.Request) {
	s.reverify(w, r, func(p params, c *session.Client, sess *session.Session, u *users.User) (*session.Session, *verificationJSON, error) {
		rv, err := s.reverifier()
		if err != nil {
			return nil, nil, err
		}
		target := p["email_address_id"]
		if p["strategy"] == signin.StrategyPhoneCode {
			target = p["phone_number_id"]
		}
		rc, err := rv.PrepareReverifyCode(r.Context(), signInRequest(r, c), u, sess, p["strategy"], target)
		if err != nil {
			return nil, nil, err
		}
		vj := newVerification(signin.VerUnverified, rc.Strategy)
		vj.codeSent(0, rc.ExpireAt)
		return sess, vj, nil
	})
}

// attemptSessionFirstFactor checks the password or the code of a
// reverification (POST .../sessions/{id}/verify/attempt_first_factor).
func (s *Server) attemptSessionFirstFactor(w http.ResponseWriter, r *http.Request) {
	s.reverify(w, r, func(p params, _ *session.Client, sess *session.Session, u *users.User) (*session.Session, *verificationJSON, error) {
		var ns *session.Session
		var err error
		switch st := p["strategy"]; st {
		case signin.StrategyPassword:
			ns, err = s.d.SignIn.Reverify(r.Context(), u, sess, p["password"])
		case signin.StrategyEmailCode, signin.StrategyPhoneCode:
			var rv codeReverifier
			if rv, err = s.reverifier(); err == nil {
				ns, err = rv.ReverifyWithCode(r.Context(), u, sess, st, normalizeCode(p["code"]))
			}
		case "":
			return nil, nil, apierr.FormParamMissing.WithParam("strategy").WithLongMessage("strategy must be included.")
		default:
			return nil, nil, apierr.StrategyForUserInvalid.WithParam("strategy")
		}
		if err != nil {
			return nil, nil, err
		}
		st := p["strategy"]
		return ns, newVerification(signin.VerVerified, st), nil
	})
}

// reverify runs a step of a reverification of a signed-in session of the
// caller's client and answers the verification: complete once the
// step verified a factor.
func (s *Server) reverify(w http.ResponseWriter, r *http.Request,
	step func(p params, c *session.Client, sess *session.Session, u *users.User) (*session.Session, *verificationJSON, error)) {
	p, err := readParams(w, r)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	c, sess, err := s.signedInClientSession(r, r.PathValue("id"))
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ctx := r.Context()
	u, err := s.d.Users.Get(ctx, sess.UserID)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	ns, verified, err := step(p, c, sess, u)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	sj, err := s.renderSessionOf(ctx, ns, u, "")
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	level := p["level"]
	if level == "" {
		level = "first_factor"
	}
	v := &sessionVerificationJSON{
		Object: "session_verification", Status: signin.StatusNeedsFirstFactor, Level: level, Session: sj,
		factorStepsJSON: factorStepsJSON{SupportedFirstFactors: reverifyFactors(u), FirstFactorVerification: verified},
	}
	if verified != nil && verified.Status == signin.VerVerified {
		v.Status = signin.StatusComplete
	}
	s.respond(w, r, c, v)
}

// reverifyFactors are the first factors a reverification offers: the
// password, if the user has one, and a code to each email address and
// phone (the first of each primary).
func reverifyFactors(u *users.User) []factorJSON {
	out := []factorJSON{}
	if u.PasswordDigest != "" {
		out = append(out, factorJSON{Strategy: signin.StrategyPassword})
	}
	for i, e := range u.Emails {
		out = append(out, factorJSON{Strategy: signin.StrategyEmailCode, EmailAddressID: e.ID,
			SafeIdentifier: signin.Mask(users.KindEmail, e.Value), Primary: i == 0})
	}
	for i, p := range u.Phones {
		out = append(out, factorJSON{Strategy: signin.StrategyPhoneCode, PhoneNumberID: p.ID,
			SafeIdentifier: signin.Mask(users.KindPhone, p.Value), Primary: i == 0})
	}
	return out
}
