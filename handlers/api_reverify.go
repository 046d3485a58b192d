package handlers

import (
	"net/http"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/users"
)

// Session reverification (Clerk's session.startVerification and
// attemptFirstFactorVerification): the user of a signed-in session proves
// the password again, which adding or removing a second factor asks for
// after 10 minutes (403 session_reverification_required). Only the
// password strategy is offered; a user without a password signs in again.

// sessionVerificationJSON is Clerk's SessionVerification object.
type sessionVerificationJSON struct {
	Object                   string            `json:"object"`
	Status                   string            `json:"status"`
	Level                    string            `json:"level"`
	Session                  sessionJSON       `json:"session"`
	SupportedFirstFactors    []factorJSON      `json:"supported_first_factors"`
	SupportedSecondFactors   []factorJSON      `json:"supported_second_factors"`
	FirstFactorVerification  *verificationJSON `json:"first_factor_verification"`
	SecondFactorVerification *verificationJSON `json:"second_factor_verification"`
}

// verifySession starts a reverification (POST .../sessions/{id}/verify).
func (s *Server) verifySession(w http.ResponseWriter, r *http.Request) {
	s.reverify(w, r, func(p params, _ *session.Client, sess *session.Session, _ *users.User) (*session.Session, *verificationJSON, error) {
		return sess, nil, nil
	})
}

// attemptSessionFirstFactor checks the password of a reverification
// (POST .../sessions/{id}/verify/attempt_first_factor).
func (s *Server) attemptSessionFirstFactor(w http.ResponseWriter, r *http.Request) {
	s.reverify(w, r, func(p params, _ *session.Client, sess *session.Session, u *users.User) (*session.Session, *verificationJSON, error) {
		switch p["strategy"] {
		case signin.StrategyPassword:
		case "":
			return nil, nil, apierr.FormParamMissing.WithParam("strategy").WithLongMessage("strategy must be included.")
		default:
			return nil, nil, apierr.StrategyForUserInvalid.WithParam("strategy")
		}
		ns, err := s.d.SignIn.Reverify(r.Context(), u, sess, p["password"])
		if err != nil {
			return nil, nil, err
		}
		return ns, &verificationJSON{Object: "verification_password", Status: signin.VerVerified, Strategy: signin.StrategyPassword}, nil
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
		SupportedFirstFactors: []factorJSON{}, FirstFactorVerification: verified,
	}
	if u.PasswordDigest != "" {
		v.SupportedFirstFactors = append(v.SupportedFirstFactors, factorJSON{Strategy: signin.StrategyPassword})
	}
	if verified != nil {
		v.Status = signin.StatusComplete
	}
	s.respond(w, r, c, v)
}
