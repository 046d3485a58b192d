package users

import (
	"net/mail"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"

	"github.com/authgate/authgate/apierr"
)

// Kind is the kind of an identifier.
type Kind string

// Identifier kinds.
const (
	KindEmail    Kind = "email_address"
	KindPhone    Kind = "phone_number"
	KindUsername Kind = "username"
)

const (
	maxEmailLen    = 254
	maxLocalLen    = 64
	maxIdentifier  = 320
	minUsernameLen = 3
	maxUsernameLen = 64
)

// NormalizeEmail trims and lower-cases an email address and checks it is
// one plain ASCII addr-spec (no display name, no lists, no control
// characters, no homoglyphs from other scripts).
func NormalizeEmail(raw string) (string, error) {
	bad := apierr.FormParamFormatInvalid.WithParam(string(KindEmail)).
		WithLongMessage("email_address must be a valid email address.")
	s := strings.TrimSpace(raw)
	if s == "" || len(s) > maxEmailLen || !isPrintableASCII(s) {
		return "", bad
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return "", bad
	}
	at := strings.LastIndexByte(s, '@')
	if !validLocalPart(s[:at]) || !validDomain(s[at+1:]) {
		return "", bad
	}
	return strings.ToLower(s), nil
}

// isPrintableASCII reports whether s is only visible ASCII. ASCII only
// rejects CR/LF, NUL, zero-width and RTL controls, Cyrillic and full-width
// look-alikes; IDN domains must be given in punycode (xn--).
func isPrintableASCII(s string) bool {
	for _, r := range s {
		if r > unicode.MaxASCII || r < 0x21 || r == 0x7f {
			return false
		}
	}
	return true
}

// validLocalPart checks the part before the '@': present, at most 64
// bytes (RFC 5321) and not a quoted string, although net/mail accepts
// quoted local parts.
func validLocalPart(local string) bool {
	return local != "" && len(local) <= maxLocalLen && !strings.HasPrefix(local, `"`)
}

// validDomain wants a dotted host name: no bare hosts, no trailing-dot
// or empty labels and no [IP literal].
func validDomain(domain string) bool {
	if !strings.Contains(domain, ".") || strings.HasSuffix(domain, ".") || strings.HasPrefix(domain, ".") ||
		strings.Contains(domain, "..") || strings.ContainsAny(domain, "[]") {
		return false
	}
	for _, label := range strings.Split(domain, ".") {
		if !validLabel(label) {
			return false
		}
	}
	return true
}

// validLabel checks one DNS label: 1 to 63 letters, digits and inner
// hyphens.
func validLabel(label string) bool {
	if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
		return false
	}
	for _, r := range label {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// NormalizePhone parses a phone number in international form (leading +)
// and returns it as E.164.
func NormalizePhone(raw string) (string, error) {
	bad := apierr.FormParamFormatInvalid.WithParam(string(KindPhone)).
		WithLongMessage("phone_number must be a valid phone number in international format, e.g. +15555550100.")
	s := strings.TrimSpace(raw)
	if s == "" || len(s) > 64 {
		return "", bad
	}
	for _, r := range s {
		// Letters (vanity numbers, extensions) and control characters are
		// refused rather than silently mapped to digits.
		if unicode.IsLetter(r) || unicode.IsControl(r) || r == ';' || r == ',' {
			return "", bad
		}
	}
	if !strings.HasPrefix(s, "+") && !strings.HasPrefix(s, "＋") {
		return "", bad
	}
	num, err := phonenumbers.Parse(s, "ZZ")
	if err != nil || num.GetExtension() != "" || !phonenumbers.IsPossibleNumber(num) {
		return "", bad
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if len(e164) > 16 { // + and at most 15 digits
		return "", bad
	}
	// The library strips one national trunk prefix per parse
	// ("+31 0 0612345678" -> "+310612345678" -> "+31612345678"): accept
	// only numbers whose E.164 form normalises to itself, so a stored
	// number typed again (or re-normalised) finds the same account.
	again, err := phonenumbers.Parse(e164, "ZZ")
	if err != nil || phonenumbers.Format(again, phonenumbers.E164) != e164 {
		return "", bad
	}
	return e164, nil
}

// NormalizeUsername lower-cases a username and checks it is 3 to 64 of
// a-z, 0-9, '_', '-' and '.'.
func NormalizeUsername(raw string) (string, error) {
	bad := apierr.FormParamFormatInvalid.WithParam(string(KindUsername)).
		WithLongMessage("username must be 3 to 64 characters of letters, digits, '_', '-' and '.'.")
	s := strings.ToLower(strings.TrimSpace(raw))
	if len(s) < minUsernameLen || len(s) > maxUsernameLen {
		return "", bad
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return "", bad
		}
	}
	return s, nil
}

// Classify normalizes an identifier typed into a sign-in form: an email
// when it has an '@', a phone number when it starts with '+', otherwise a
// username.
func Classify(raw string) (Kind, string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", "", apierr.FormParamMissing.WithParam("identifier").WithLongMessage("identifier must be included.")
	}
	if len(s) > maxIdentifier {
		return "", "", apierr.FormParamFormatInvalid.WithParam("identifier").WithLongMessage("identifier is too long.")
	}
	switch {
	case strings.Contains(s, "@"):
		v, err := NormalizeEmail(s)
		return KindEmail, v, reparam(err)
	case strings.HasPrefix(s, "+") || strings.HasPrefix(s, "＋"):
		v, err := NormalizePhone(s)
		return KindPhone, v, reparam(err)
	default:
		v, err := NormalizeUsername(s)
		return KindUsername, v, reparam(err)
	}
}

func reparam(err error) error {
	if err == nil {
		return nil
	}
	return apierr.From(err).WithParam("identifier")
}
