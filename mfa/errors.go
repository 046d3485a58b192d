package mfa

import "github.com/authgate/authgate/apierr"

// The errors a user can cause, in Clerk's envelope (the HTTP layer
// answers them as they are).
var (
	ErrTOTPOff        = apierr.FormParamValueInvalid.WithLongMessage("Authenticator apps are not enabled.")
	ErrBackupCodesOff = apierr.FormParamValueInvalid.WithLongMessage("Backup codes are not enabled.")
	ErrPhoneCodeOff   = apierr.FormParamValueInvalid.WithLongMessage("Text-message codes are not enabled as a second factor.")
	ErrTOTPExists     = apierr.FormParamValueInvalid.WithLongMessage("An authenticator app is set up already: remove it before adding another.")
	ErrNoTOTP         = apierr.ResourceNotFound.WithLongMessage("No authenticator app is set up.")
	ErrNoEnrollment   = apierr.ResourceNotFound.WithLongMessage("No authenticator app is being set up: start again.")
	ErrNoFactor       = apierr.FormParamValueInvalid.WithLongMessage("Backup codes need another second factor: set up an authenticator app or a phone number first.")
	ErrFactorRequired = apierr.FormParamValueInvalid.WithLongMessage("A second factor is required: add another before removing this one.")
	ErrCodeIncorrect  = apierr.FormCodeIncorrect.WithParam("code")
)
