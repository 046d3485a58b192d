package users

// EmailJSON is an email address as the APIs show it.
type EmailJSON struct {
	Object       string           `json:"object"`
	ID           string           `json:"id"`
	EmailAddress string           `json:"email_address"`
	Verification VerificationJSON `json:"verification"`
}

// PhoneJSON is a phone number as the APIs show it.
type PhoneJSON struct {
	Object       string           `json:"object"`
	ID           string           `json:"id"`
	PhoneNumber  string           `json:"phone_number"`
	Verification VerificationJSON `json:"verification"`
}

// VerificationJSON is an identifier's verification as Clerk shows it.
// Every identifier authgate stores is verified: an admin vouched for it
// (the admin API, an import) or its owner proved it with a code (sign-up),
// so the status is always "verified"; how is not recorded (strategy null).
type VerificationJSON struct {
	Object   string  `json:"object"`
	Status   string  `json:"status"`
	Strategy *string `json:"strategy"`
}

var verified = VerificationJSON{Object: "verification", Status: "verified"}

// JSON is a user as the admin API and the Frontend API show it.
type JSON struct {
	Object                string      `json:"object"`
	ID                    string      `json:"id"`
	EmailAddresses        []EmailJSON `json:"email_addresses"`
	PhoneNumbers          []PhoneJSON `json:"phone_numbers"`
	Username              *string     `json:"username"`
	PrimaryEmailAddressID *string     `json:"primary_email_address_id"`
	PrimaryPhoneNumberID  *string     `json:"primary_phone_number_id"`
	PasswordEnabled       bool        `json:"password_enabled"`
	PasswordCompromised   bool        `json:"password_compromised"`
	ResetRequired         bool        `json:"reset_required"`
	CreatedAt             int64       `json:"created_at"`
	UpdatedAt             int64       `json:"updated_at"`
}

// ToJSON renders u without its password digest.
func (u *User) ToJSON() JSON {
	j := JSON{
		Object:              "user",
		ID:                  u.ID,
		EmailAddresses:      make([]EmailJSON, 0, len(u.Emails)),
		PhoneNumbers:        make([]PhoneJSON, 0, len(u.Phones)),
		PasswordEnabled:     u.PasswordDigest != "",
		PasswordCompromised: u.PasswordCompromised,
		ResetRequired:       u.ResetRequired,
		CreatedAt:           u.CreatedAt.UnixMilli(),
		UpdatedAt:           u.UpdatedAt.UnixMilli(),
	}
	for _, e := range u.Emails {
		j.EmailAddresses = append(j.EmailAddresses, EmailJSON{Object: "email_address", ID: e.ID, EmailAddress: e.Value, Verification: verified})
	}
	for _, p := range u.Phones {
		j.PhoneNumbers = append(j.PhoneNumbers, PhoneJSON{Object: "phone_number", ID: p.ID, PhoneNumber: p.Value, Verification: verified})
	}
	if u.Username != "" {
		name := u.Username
		j.Username = &name
	}
	if len(u.Emails) > 0 {
		id := u.Emails[0].ID
		j.PrimaryEmailAddressID = &id
	}
	if len(u.Phones) > 0 {
		id := u.Phones[0].ID
		j.PrimaryPhoneNumberID = &id
	}
	return j
}
