// Package notify delivers authgate's verification codes (password reset,
// sign-in codes) and security notices (password changed, password found in a
// breach) by email or SMS.
//
// A Message names what to send (its Kind), to whom, and the data the
// templates need. Templates turn it into an email (subject, text and HTML
// bodies) or an SMS body; the defaults are embedded in the binary and a
// deployer may override any of them with LoadTemplates.
//
// Senders implement Emailer or Texter:
//
//   - SMTP sends mail through an SMTP server (github.com/wneessen/go-mail).
//   - Log writes the message, code included, to the log. It is the
//     development default ("email log" / "sms log") and the only place in
//     authgate where a code is logged, by design.
//   - Webhook POSTs {"to", "body"} JSON to a URL.
//   - Twilio sends through Twilio's Messages API.
//
// Notices never carry a code: Validate rejects a notice Message with a Code,
// and the templates for notices have no access to one.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/authgate/authgate/internal/defaults"
)

// Kind is the purpose of a message; it selects the templates.
type Kind string

// The message kinds authgate sends.
const (
	// KindResetCode carries a code that lets the user reset their password.
	KindResetCode Kind = "reset_code"
	// KindSignInCode carries a one-time sign-in code.
	KindSignInCode Kind = "sign_in_code"
	// KindPasswordChanged tells the user their password was changed. No code.
	KindPasswordChanged Kind = "password_changed"
	// KindPasswordCompromised tells the user their password was found in a
	// breach and must be reset. No code.
	KindPasswordCompromised Kind = "password_compromised"
	// KindSignUpCode carries the code that verifies a new account's email
	// address or phone number.
	KindSignUpCode Kind = "sign_up_code"
	// KindSignUpExisting tells the owner of an address or number that
	// someone tried to sign up with it (sent instead of a code, so a
	// sign-up does not tell whether an account exists). No code.
	KindSignUpExisting Kind = "sign_up_existing"
)

// Kinds lists every Kind, in a stable order.
func Kinds() []Kind {
	return []Kind{KindResetCode, KindSignInCode, KindPasswordChanged, KindPasswordCompromised, KindSignUpCode, KindSignUpExisting}
}

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool {
	switch k {
	case KindResetCode, KindSignInCode, KindPasswordChanged, KindPasswordCompromised, KindSignUpCode, KindSignUpExisting:
		return true
	}
	return false
}

// HasCode reports whether messages of this kind carry a verification code.
func (k Kind) HasCode() bool {
	return k == KindResetCode || k == KindSignInCode || k == KindSignUpCode
}

// Message is one email or SMS to send.
type Message struct {
	// Kind selects the templates.
	Kind Kind
	// To is the recipient: a bare email address (no display name) for
	// Emailer, an E.164 phone number ("+15555550100") for Texter.
	To string
	// Code is the verification code for KindResetCode and KindSignInCode:
	// 6 to 12 ASCII digits. It must be empty for notices.
	Code string
	// AppName is the name of the application shown to the user. Empty means
	// DefaultAppName.
	AppName string
	// ExpiresIn is how long the code stays valid, shown to the user. Zero
	// leaves the expiry sentence out. Ignored for notices.
	ExpiresIn time.Duration
}

// DefaultAppName is shown when Message.AppName is empty.
// (internal/defaults holds the value).
const DefaultAppName = defaults.AppName

// maxAppNameLen bounds Message.AppName (in bytes); it ends up in subjects.
const maxAppNameLen = 100

// Sentinel errors; senders wrap them so callers can use errors.Is.
var (
	// ErrInvalidMessage means the Message is malformed (unknown kind, bad
	// code, code on a notice, bad app name).
	ErrInvalidMessage = errors.New("notify: invalid message")
	// ErrInvalidRecipient means Message.To is not a single valid email
	// address or E.164 number, or contains control characters.
	ErrInvalidRecipient = errors.New("notify: invalid recipient")
)

// Emailer sends a Message by email.
type Emailer interface {
	SendEmail(ctx context.Context, m Message) error
}

// Texter sends a Message by SMS.
type Texter interface {
	SendSMS(ctx context.Context, m Message) error
}

// Validate checks everything about m except the recipient, which
// ValidateEmailRecipient and ValidatePhoneRecipient check per channel.
// Errors match ErrInvalidMessage and never include the code.
func (m Message) Validate() error {
	if !m.Kind.Valid() {
		return fmt.Errorf("%w: unknown kind %q", ErrInvalidMessage, sanitizeForError(string(m.Kind)))
	}
	if m.Kind.HasCode() {
		if !validCode(m.Code) {
			return fmt.Errorf("%w: %s needs a code of 6 to 12 digits", ErrInvalidMessage, m.Kind)
		}
	} else if m.Code != "" {
		return fmt.Errorf("%w: %s is a notice and must not carry a code", ErrInvalidMessage, m.Kind)
	}
	if len(m.AppName) > maxAppNameLen {
		return fmt.Errorf("%w: app name longer than %d bytes", ErrInvalidMessage, maxAppNameLen)
	}
	if !utf8.ValidString(m.AppName) || hasControl(m.AppName) {
		return fmt.Errorf("%w: app name contains control characters or invalid UTF-8", ErrInvalidMessage)
	}
	if m.ExpiresIn < 0 {
		return fmt.Errorf("%w: negative expiry", ErrInvalidMessage)
	}
	return nil
}

// ValidateEmailRecipient checks that to is one bare email address (no
// display name, no list, no control characters anywhere, in particular no
// CR or LF). Errors match ErrInvalidRecipient.
func ValidateEmailRecipient(to string) error {
	if to == "" {
		return fmt.Errorf("%w: empty email address", ErrInvalidRecipient)
	}
	if hasControl(to) || !utf8.ValidString(to) {
		return fmt.Errorf("%w: email address contains control characters", ErrInvalidRecipient)
	}
	if len(to) > 254 {
		return fmt.Errorf("%w: email address longer than 254 bytes", ErrInvalidRecipient)
	}
	addr, err := mail.ParseAddress(to)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRecipient, err)
	}
	if addr.Name != "" || addr.Address != to {
		return fmt.Errorf("%w: want a bare email address without display name", ErrInvalidRecipient)
	}
	if !strings.Contains(addr.Address, "@") {
		return fmt.Errorf("%w: email address has no domain", ErrInvalidRecipient)
	}
	return nil
}

// ValidatePhoneRecipient checks that to is an E.164 number: "+", a non-zero
// digit, then 6 to 14 more digits. Errors match ErrInvalidRecipient.
func ValidatePhoneRecipient(to string) error {
	if len(to) < 8 || len(to) > 16 || to[0] != '+' || to[1] < '1' || to[1] > '9' {
		return fmt.Errorf("%w: want an E.164 phone number like +15555550100", ErrInvalidRecipient)
	}
	for i := 2; i < len(to); i++ {
		if to[i] < '0' || to[i] > '9' {
			return fmt.Errorf("%w: want an E.164 phone number like +15555550100", ErrInvalidRecipient)
		}
	}
	return nil
}

func validCode(code string) bool {
	if len(code) < 6 || len(code) > 12 {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// hasControl reports whether s contains a control character (including CR,
// LF, TAB and NUL) or a Unicode line/paragraph separator.
func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return true
		}
	}
	return false
}

// sanitizeForError makes attacker-influenced text safe and short for an
// error message.
func sanitizeForError(s string) string {
	return sanitizeN(s, 64)
}

// sanitizeN replaces control characters and invalid UTF-8 in s with "?"
// and cuts it after maxLen bytes.
func sanitizeN(s string, maxLen int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= maxLen {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			b.WriteRune('?')
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// appName returns the name to show for m.
func (m Message) appName() string {
	if m.AppName == "" {
		return DefaultAppName
	}
	return m.AppName
}
