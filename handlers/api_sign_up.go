package handlers

import (
	"context"
	"net/http"
	"strings"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/signup"
	"github.com/authgate/authgate/users"
)

// The sign-up endpoints (Clerk's /v1/client/sign_ups): each runs one call
// of the sign-up service for the caller's client and answers the attempt
// in the {response, client} envelope of the sign-in endpoints. With
// sign-up off (no sign_up block) every one answers 403 sign_up_disabled.

// signUpVerificationJSON is Clerk's Verification object of a sign-up
// field.
type signUpVerificationJSON struct {
	verificationCoreJSON
	NextAction          string   `json:"next_action"`
	SupportedStrategies []string `json:"supported_strategies"`
}

type signUpVerificationsJSON struct {
	EmailAddress    *signUpVerificationJSON `json:"email_address"`
	PhoneNumber     *signUpVerificationJSON `json:"phone_number"`
	ExternalAccount *signUpVerificationJSON `json:"external_account"`
	Web3Wallet      *signUpVerificationJSON `json:"web3_wallet"`
}

// signUpJSON is Clerk's SignUp object (FAPI "sign_up_attempt"), with the
// fields clerk-js 6.x reads (SignUp.fromJSON); has_password is its name
// there, password_enabled the spec's older one.
type signUpJSON struct {
	Object           string                  `json:"object"`
	ID               string                  `json:"id"`
	Status           string                  `json:"status"`
	RequiredFields   []string                `json:"required_fields"`
	OptionalFields   []string                `json:"optional_fields"`
	MissingFields    []string                `json:"missing_fields"`
	UnverifiedFields []string                `json:"unverified_fields"`
	Verifications    signUpVerificationsJSON `json:"verifications"`
	Username         *string                 `json:"username"`
	EmailAddress     *string                 `json:"email_address"`
	PhoneNumber      *string                 `json:"phone_number"`
	Web3Wallet       *string                 `json:"web3_wallet"`
	HasPassword      bool                    `json:"has_password"`
	PasswordEnabled  bool                    `json:"password_enabled"`
	FirstName        *string                 `json:"first_name"`
	LastName         *string                 `json:"last_name"`
	UnsafeMetadata   map[string]any          `json:"unsafe_metadata"`
	PublicMetadata   map[string]any          `json:"public_metadata"`
	CustomAction     bool                    `json:"custom_action"`
	ExternalID       *string                 `json:"external_id"`
	CreatedSessionID *string                 `json:"created_session_id"`
	CreatedUserID    *string                 `json:"created_user_id"`
	AbandonAt        int64                   `json:"abandon_at"`
	LegalAcceptedAt  *int64                  `json:"legal_accepted_at"`
	Locale           *string                 `json:"locale"`
}

func optString(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// renderSignUpVerification renders one field's verification (nil: the
// field is not given).
func renderSignUpVerification(v *signup.Verification) *signUpVerificationJSON {
	if v == nil {
		return nil
	}
	j := &signUpVerificationJSON{
		verificationCoreJSON: verificationCoreJSON{Object: "verification", Status: v.Status, Strategy: v.Strategy},
		SupportedStrategies:  []string{v.Strategy},
	}
	switch {
	case v.Status == signin.VerVerified:
	case v.Prepared:
		j.NextAction = "needs_attempt"
	default:
		j.NextAction = "needs_prepare"
	}
	if v.Prepared {
		j.codeSent(v.Attempts, v.ExpireAt)
	}
	return j
}

func renderSignUp(res *signup.Result) *signUpJSON {
	a, f := res.Attempt, res.Fields
	return &signUpJSON{
		Object: "sign_up_attempt", ID: a.ID, Status: string(a.Status),
		RequiredFields: orEmpty(f.Required), OptionalFields: orEmpty(f.Optional),
		MissingFields: orEmpty(f.Missing), UnverifiedFields: orEmpty(f.Unverified),
		Verifications: signUpVerificationsJSON{
			EmailAddress: renderSignUpVerification(a.Email), PhoneNumber: renderSignUpVerification(a.Phone),
		},
		Username: optString(a.Username), EmailAddress: optString(a.EmailAddress), PhoneNumber: optString(a.PhoneNumber),
		HasPassword: a.HasPassword(), PasswordEnabled: a.HasPassword(),
		UnsafeMetadata: map[string]any{}, PublicMetadata: map[string]any{},
		CreatedSessionID: optString(a.CreatedSessionID), CreatedUserID: optString(a.CreatedUserID),
		AbandonAt: ms(a.AbandonAt),
	}
}

// withSignUp runs a sign-up call for the caller's client; needClient
// creates the client when there is none (starting a sign-up), otherwise
// the attempt cannot exist.
func (s *Server) withSignUp(w http.ResponseWriter, r *http.Request, needClient bool,
	call func(rq signup.Request, p params) (*signup.Result, error)) {
	if !s.signUpOn() {
		s.writeErr(w, r, apierr.SignUpDisabled)
		return
	}
	runFlow(s, w, r, needClient, signup.ErrNotFound, call, func(res *signup.Result) (*session.Session, any) {
		// Only the request that completed the sign-up signs the browser
		// in, exactly as a completed sign-in does.
		var signedIn *session.Session
		if res.Session != nil && res.Attempt.Status == signup.StatusComplete {
			signedIn = res.Session
		}
		return signedIn, renderSignUp(res)
	})
}

func (s *Server) createSignUp(w http.ResponseWriter, r *http.Request) {
	s.withSignUp(w, r, true, func(rq signup.Request, p params) (*signup.Result, error) {
		return s.d.SignUp.Create(r.Context(), rq, signup.CreateParams{
			EmailAddress: p["email_address"], PhoneNumber: p["phone_number"], Password: p["password"],
			Username: p["username"], Strategy: p["strategy"],
		})
	})
}

func (s *Server) getSignUp(w http.ResponseWriter, r *http.Request) {
	s.withSignUp(w, r, false, func(rq signup.Request, _ params) (*signup.Result, error) {
		return s.d.SignUp.Get(r.Context(), rq, r.PathValue("id"))
	})
}

// updateSignUp is PATCH: a parameter present (even empty) changes its
// field, an absent one leaves it.
func (s *Server) updateSignUp(w http.ResponseWriter, r *http.Request) {
	s.withSignUp(w, r, false, func(rq signup.Request, p params) (*signup.Result, error) {
		field := func(name string) *string {
			if v, ok := p[name]; ok {
				return &v
			}
			return nil
		}
		return s.d.SignUp.Update(r.Context(), rq, r.PathValue("id"), signup.UpdateParams{
			EmailAddress: field("email_address"), PhoneNumber: field("phone_number"),
			Password: field("password"), Username: field("username"),
		})
	})
}

func (s *Server) prepareSignUpVerification(w http.ResponseWriter, r *http.Request) {
	s.withSignUp(w, r, false, func(rq signup.Request, p params) (*signup.Result, error) {
		return s.d.SignUp.PrepareVerification(r.Context(), rq, r.PathValue("id"), signup.PrepareParams{Strategy: p["strategy"]})
	})
}

func (s *Server) attemptSignUpVerification(w http.ResponseWriter, r *http.Request) {
	s.withSignUp(w, r, false, func(rq signup.Request, p params) (*signup.Result, error) {
		return s.d.SignUp.AttemptVerification(r.Context(), rq, r.PathValue("id"), signup.AttemptParams{
			Strategy: p["strategy"], Code: strings.TrimSpace(p["code"]),
		})
	})
}

// currentSignUp is the client JSON's sign_up: the client's sign-up in
// progress, or null.
func (s *Server) currentSignUp(ctx context.Context, c *session.Client) (any, error) {
	if !s.signUpOn() {
		return nil, nil
	}
	res, err := s.d.SignUp.Current(ctx, signup.Request{Client: c})
	if err != nil || res == nil {
		return nil, err
	}
	return renderSignUp(res), nil
}

// signUpWith reports whether a new user can sign up with an identifier of
// kind k (the environment's verify_at_sign_up): sign-up on, the kind
// configured, and for a phone some country open to it.
func (s *Server) signUpWith(k users.Kind) bool {
	if !s.signUpOn() {
		return false
	}
	cfg := s.d.SignUp.Config()
	return cfg.Allows(k) && (k != users.KindPhone || len(cfg.PhoneCountries) > 0)
}

// signUpSettings is the environment's user_settings.sign_up: Clerk's
// "public" mode when sign-up is on, "restricted" (no self-service
// sign-up) when off; no captcha, no custom action, no legal consent.
func (s *Server) signUpSettings() map[string]any {
	mode := "restricted"
	if s.signUpOn() {
		mode = "public"
	}
	return map[string]any{
		"mode": mode, "progressive": true, "captcha_enabled": false, "captcha_widget_type": "smart",
		"custom_action_required": false, "legal_consent_enabled": false,
	}
}
