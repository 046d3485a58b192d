package handlers

import (
	"net/http"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/users"
)

// A signed-in user's own phone numbers, as clerk-js calls them:
// user.createPhoneNumber({phoneNumber}) (POST /v1/me/phone_numbers),
// phoneNumber.prepareVerification() and attemptVerification({code})
// (.../{id}/prepare_verification, .../{id}/attempt_verification), and
// phoneNumber.destroy() (DELETE .../{id}). The rules (who may, which
// numbers, the codes, when a number becomes an identifier) are signin's
// (phone_add.go); this renders Clerk's PhoneNumber resource.

// phones is the sign-in service's own-phone flow, if it has one.
func (s *Server) phones() (myPhones, error) {
	ph, ok := s.d.SignIn.(myPhones)
	if !ok {
		return nil, apierr.ResourceNotFound
	}
	return ph, nil
}

// phoneCall is meCall for a call of the own-phone flow.
func (s *Server) phoneCall(w http.ResponseWriter, r *http.Request,
	call func(ph myPhones, p params, sess *session.Session, u *users.User) (any, error)) {
	s.meCall(w, r, func(p params, _ *session.Client, sess *session.Session, u *users.User) (any, error) {
		ph, err := s.phones()
		if err != nil {
			return nil, err
		}
		return call(ph, p, sess, u)
	})
}

// newPhoneJSON is an unverified phone as Clerk's PhoneNumber.
type newPhoneJSON struct {
	Object                  string               `json:"object"`
	ID                      string               `json:"id"`
	PhoneNumber             string               `json:"phone_number"`
	ReservedForSecondFactor bool                 `json:"reserved_for_second_factor"`
	DefaultSecondFactor     bool                 `json:"default_second_factor"`
	Verification            verificationCoreJSON `json:"verification"`
	LinkedTo                []any                `json:"linked_to"`
	CreatedAt               int64                `json:"created_at"`
	UpdatedAt               int64                `json:"updated_at"`
}

func newPhoneOf(p *signin.NewPhone) newPhoneJSON {
	v := verificationCoreJSON{Object: "verification_otp", Status: p.Verification.Status, Strategy: signin.StrategyPhoneCode}
	if !p.Verification.ExpireAt.IsZero() {
		v.codeSent(p.Verification.Attempts, p.Verification.ExpireAt)
	}
	return newPhoneJSON{Object: "phone_number", ID: p.ID, PhoneNumber: p.Value, Verification: v,
		LinkedTo: []any{}, CreatedAt: ms(p.CreatedAt), UpdatedAt: ms(p.CreatedAt)}
}

// createMyPhone adds an unverified phone number.
func (s *Server) createMyPhone(w http.ResponseWriter, r *http.Request) {
	s.phoneCall(w, r, func(ph myPhones, p params, sess *session.Session, u *users.User) (any, error) {
		np, err := ph.CreatePhone(r.Context(), u, sess, p["phone_number"])
		if err != nil {
			return nil, err
		}
		return newPhoneOf(np), nil
	})
}

// prepareMyPhone texts the number its code.
func (s *Server) prepareMyPhone(w http.ResponseWriter, r *http.Request) {
	s.phoneCall(w, r, func(ph myPhones, p params, sess *session.Session, u *users.User) (any, error) {
		strategy := p["strategy"]
		if strategy == "" {
			strategy = signin.StrategyPhoneCode // clerk-js's default for a phone
		}
		np, err := ph.PreparePhone(r.Context(), signInRequest(r, nil), u, sess, r.PathValue("id"), strategy)
		if err != nil {
			return nil, err
		}
		return newPhoneOf(np), nil
	})
}

// attemptMyPhone checks the code; the right one makes the number the
// user's, shown as the verified PhoneNumber it now is.
func (s *Server) attemptMyPhone(w http.ResponseWriter, r *http.Request) {
	s.phoneCall(w, r, func(ph myPhones, p params, sess *session.Session, u *users.User) (any, error) {
		id := r.PathValue("id")
		nu, err := ph.AttemptPhone(r.Context(), u, sess, id, p["code"])
		if err != nil {
			return nil, err
		}
		return s.myPhone(r, nu, id)
	})
}

// myPhone renders the user's verified phone id with its second-factor
// fields.
func (s *Server) myPhone(r *http.Request, u *users.User, id string) (any, error) {
	uj, err := s.userWithFactors(r.Context(), u)
	if err != nil {
		return nil, err
	}
	for _, ph := range uj.PhoneNumbers {
		if ph.ID == id {
			return ph, nil
		}
	}
	return nil, apierr.ResourceNotFound
}

// deleteMyPhone removes a phone number (Clerk's DeletedObject answer).
func (s *Server) deleteMyPhone(w http.ResponseWriter, r *http.Request) {
	s.phoneCall(w, r, func(ph myPhones, _ params, sess *session.Session, u *users.User) (any, error) {
		id := r.PathValue("id")
		if err := ph.DeletePhone(r.Context(), u, sess, id); err != nil {
			return nil, err
		}
		return map[string]any{"object": "phone_number", "id": id, "deleted": true}, nil
	})
}
