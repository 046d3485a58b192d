package signup

import (
	"github.com/authgate/authgate/users"
)

// Fields are the requirement lists of Clerk's SignUp object, derived from
// the configuration and what the attempt has so far.
type Fields struct {
	Required   []string
	Optional   []string
	Missing    []string
	Unverified []string
}

// Field names, as Clerk spells them.
const (
	fieldEmail    = string(users.KindEmail)
	fieldPhone    = string(users.KindPhone)
	fieldUsername = string(users.KindUsername)
	fieldPassword = "password"
)

// identifierKinds are the kinds a new user may sign up with: email when
// configured, phone when configured and some country is open to it.
func (c Config) identifierKinds() []users.Kind {
	var out []users.Kind
	if c.Allows(users.KindEmail) {
		out = append(out, users.KindEmail)
	}
	if c.Allows(users.KindPhone) && len(c.PhoneCountries) > 0 {
		out = append(out, users.KindPhone)
	}
	return out
}

// firstKind is the identifier kind a sign-up without one is missing: the
// first usable kind, else the first configured one (a kind that cannot
// be given then, so such a sign-up never completes).
func (c Config) firstKind() users.Kind {
	if ks := c.identifierKinds(); len(ks) > 0 {
		return ks[0]
	}
	if len(c.Identifiers) > 0 {
		return c.Identifiers[0]
	}
	return users.KindEmail
}

// fields computes the attempt's requirement lists. One identifier kind is
// required when only one is on; with both, either will do (both are
// optional, and the first is missing while neither is given). A password
// is always required; a username as configured. Every identifier given
// must be verified.
func (s *Service) fields(a *Attempt) Fields {
	var f Fields
	kinds := s.cfg.identifierKinds()
	if len(kinds) == 1 {
		f.Required = append(f.Required, string(kinds[0]))
	} else {
		for _, k := range kinds {
			f.Optional = append(f.Optional, string(k))
		}
	}
	f.Required = append(f.Required, fieldPassword)
	switch s.cfg.Username {
	case UsernameRequired:
		f.Required = append(f.Required, fieldUsername)
	case UsernameOptional:
		f.Optional = append(f.Optional, fieldUsername)
	}
	if a.EmailAddress == "" && a.PhoneNumber == "" {
		// Always missing, even when no kind is usable (phone alone with
		// no phone_countries): a sign-up completes only with an email
		// or phone it verified, never with a username and password
		// alone.
		f.Missing = append(f.Missing, string(s.cfg.firstKind()))
	}
	if !a.HasPassword() {
		f.Missing = append(f.Missing, fieldPassword)
	}
	if s.cfg.Username == UsernameRequired && a.Username == "" {
		f.Missing = append(f.Missing, fieldUsername)
	}
	for _, k := range []users.Kind{users.KindEmail, users.KindPhone} {
		if _, ident := a.verification(k); ident != "" && !a.verified(k) {
			f.Unverified = append(f.Unverified, string(k))
		}
	}
	return f
}

// ready reports whether the attempt has everything to create the user.
func (f Fields) ready() bool { return len(f.Missing) == 0 && len(f.Unverified) == 0 }

// result wraps an attempt with its requirement lists.
func (s *Service) result(a *Attempt) *Result {
	return &Result{Attempt: a, Fields: s.fields(a)}
}
