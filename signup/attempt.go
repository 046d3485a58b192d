package signup

import (
	"time"
)

// Status is a sign-up attempt's status (Clerk's SignUp.status).
type Status string

// Statuses of a sign-up attempt. Clerk also has "abandoned"; an
// abandoned attempt here is simply gone (its store entry expired).
const (
	StatusMissingRequirements Status = "missing_requirements"
	StatusComplete            Status = "complete"
)

// Verification statuses (Clerk's Verification.status).
const (
	VerUnverified = "unverified"
	VerVerified   = "verified"
	VerFailed     = "failed"
	VerExpired    = "expired"
)

// Attempt is a stored sign-up attempt. It never says whether its email
// address or phone number already has an account: that is decided when a
// code is sent, and kept only in the (unmatchable) code.
type Attempt struct {
	ID       string `json:"id"`
	ClientID string `json:"client_id"`
	Status   Status `json:"status"`
	// EmailAddress and PhoneNumber are normalized (users.Classify).
	EmailAddress string `json:"email_address,omitempty"`
	PhoneNumber  string `json:"phone_number,omitempty"`
	Username     string `json:"username,omitempty"`
	// PasswordDigest is the new password's hash (argon2id), checked
	// against the rules when it was given; the user gets it as is.
	PasswordDigest string `json:"password_digest,omitempty"`
	// Email and Phone are the verifications of EmailAddress and
	// PhoneNumber (nil: none started).
	Email *Verification `json:"email_verification,omitempty"`
	Phone *Verification `json:"phone_verification,omitempty"`

	CreatedUserID    string    `json:"created_user_id,omitempty"`
	CreatedSessionID string    `json:"created_session_id,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	AbandonAt        time.Time `json:"abandon_at"`
}

// Verification is the code verification of one identifier.
type Verification struct {
	Strategy string    `json:"strategy"`
	Status   string    `json:"status"`
	Attempts int       `json:"attempts"`
	ExpireAt time.Time `json:"expire_at"`
}

// HasPassword reports whether a password was given (Clerk's has_password
// / password_enabled).
func (a *Attempt) HasPassword() bool { return a.PasswordDigest != "" }
