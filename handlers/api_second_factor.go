package handlers

import (
	"net/http"
	"strings"

	"github.com/authgate/authgate/signin"
)

// The second step of a sign-in (Clerk's needs_second_factor): the
// attempt lists supported_second_factors; prepare_second_factor sends an
// SMS code, attempt_second_factor checks an authenticator code, a backup
// code or that SMS code and completes the sign-in (withSignIn then signs
// the browser in, as after a first factor).

func (s *Server) prepareSecondFactor(w http.ResponseWriter, r *http.Request) {
	s.withSignIn(w, r, false, func(rq signin.Request, p params) (*signin.Result, error) {
		return s.d.SignIn.PrepareSecondFactor(r.Context(), rq, r.PathValue("id"), signin.PrepareParams{
			Strategy: p["strategy"], PhoneNumberID: p["phone_number_id"],
		})
	})
}

func (s *Server) attemptSecondFactor(w http.ResponseWriter, r *http.Request) {
	s.withSignIn(w, r, false, func(rq signin.Request, p params) (*signin.Result, error) {
		return s.d.SignIn.AttemptSecondFactor(r.Context(), rq, r.PathValue("id"), signin.AttemptParams{
			Strategy: p["strategy"], Code: strings.TrimSpace(p["code"]),
		})
	})
}

// secondFactors renders the attempt's supported_second_factors (null
// unless it waits for its second factor) and second_factor_verification.
func secondFactors(res *signin.Result) ([]factorJSON, *verificationJSON) {
	var out []factorJSON
	for _, f := range res.SecondFactors {
		out = append(out, factorJSON{
			Strategy: f.Strategy, PhoneNumberID: f.PhoneNumberID, SafeIdentifier: f.SafeIdentifier, Primary: f.Primary,
		})
	}
	return out, renderVerification(res.Attempt.SecondVerification)
}

// verificationObject is the object name of a verification of strategy.
func verificationObject(strategy string) string {
	switch strategy {
	case signin.StrategyPassword:
		return "verification_password"
	case signin.StrategyTOTP:
		return "verification_totp"
	case signin.StrategyBackupCode:
		return "verification_backup_code"
	}
	return "verification_otp"
}
