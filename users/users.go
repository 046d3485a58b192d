// Package users keeps authgate's user records: identifiers (emails, phone
// numbers, username) unique across the whole user base, the password
// digest and the compromised / reset-required flags.
package users

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/ids"
	"github.com/authgate/authgate/store"
)

// Identification is one email address or phone number of a user.
type Identification struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// User is the stored user record.
type User struct {
	ID                  string           `json:"id"`
	Emails              []Identification `json:"emails,omitempty"`
	Phones              []Identification `json:"phones,omitempty"`
	Username            string           `json:"username,omitempty"`
	PasswordDigest      string           `json:"password_digest,omitempty"`
	PasswordCompromised bool             `json:"password_compromised,omitempty"`
	// ResetRequired forces the reset-password task at the next sign-in
	// without marking the password compromised.
	ResetRequired bool      `json:"reset_required,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// PrimaryEmail is the first email address, or "".
func (u *User) PrimaryEmail() string {
	if len(u.Emails) == 0 {
		return ""
	}
	return u.Emails[0].Value
}

// PrimaryPhone is the first phone number, or "".
func (u *User) PrimaryPhone() string {
	if len(u.Phones) == 0 {
		return ""
	}
	return u.Phones[0].Value
}

// Identifiers lists every identifier of the user (for the rule that a
// password must not equal one).
func (u *User) Identifiers() []string {
	out := make([]string, 0, len(u.Emails)+len(u.Phones)+1)
	for _, e := range u.Emails {
		out = append(out, e.Value)
	}
	for _, p := range u.Phones {
		out = append(out, p.Value)
	}
	if u.Username != "" {
		out = append(out, u.Username)
	}
	return out
}

// NeedsReset reports whether the user must set a new password before a
// session can become active.
func (u *User) NeedsReset() bool { return u.PasswordCompromised || u.ResetRequired }

// IdentificationOf finds the user's email (KindEmail) or phone number
// (KindPhone) equal to the normalized value; the zero value if none.
func (u *User) IdentificationOf(kind Kind, value string) Identification {
	list := u.Emails
	if kind == KindPhone {
		list = u.Phones
	}
	for _, idn := range list {
		if idn.Value == value {
			return idn
		}
	}
	return Identification{}
}

// Passwords hashes and checks passwords for the user service. Validate
// returns an *apierr.Error for a password that breaks a rule.
type Passwords interface {
	Hash(ctx context.Context, pw string) (string, error)
	Validate(ctx context.Context, pw string, identifiers []string) error
	CheckDigest(hasher, digest string) error
}

// NewUser is what an admin gives to create a user.
type NewUser struct {
	Emails         []string
	Phones         []string
	Username       string
	Password       string
	PasswordDigest string
	PasswordHasher string
}

// Service reads and writes users.
type Service struct {
	st  store.Store
	pw  Passwords
	now func() time.Time
}

// NewService returns a user service over st.
func NewService(st store.Store, pw Passwords, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{st: st, pw: pw, now: now}
}

// All user keys share the {users} hash tag so that the atomic multi-key
// create works on Redis Cluster.
func userKey(id string) string                  { return "{users}:user:" + id }
func indexKey(k Kind, normalized string) string { return "{users}:" + string(k) + ":" + normalized }

// ErrNotFound is returned when no user matches.
var ErrNotFound = errors.New("user not found")

// Create validates and stores a new user. Identifiers are normalized and
// claimed atomically: of concurrent creates with one email, exactly one
// wins and the others get form_identifier_exists.
func (s *Service) Create(ctx context.Context, nu NewUser) (*User, error) {
	now := s.now().UTC().Truncate(time.Millisecond)
	u := &User{ID: ids.New("user"), CreatedAt: now, UpdatedAt: now}
	index := map[string]string{}
	// claim normalizes raw and reserves its index key. An identifier
	// given twice in one request is refused as if another user held it.
	claim := func(k Kind, raw string, normalize func(string) (string, error)) (string, error) {
		v, err := normalize(raw)
		if err != nil {
			return "", err
		}
		key := indexKey(k, v)
		if _, dup := index[key]; dup {
			return "", apierr.FormIdentifierExists.WithParam(string(k))
		}
		index[key] = u.ID
		return v, nil
	}
	for _, raw := range nu.Emails {
		v, err := claim(KindEmail, raw, NormalizeEmail)
		if err != nil {
			return nil, err
		}
		u.Emails = append(u.Emails, Identification{ID: ids.New("idn"), Value: v})
	}
	for _, raw := range nu.Phones {
		v, err := claim(KindPhone, raw, NormalizePhone)
		if err != nil {
			return nil, err
		}
		u.Phones = append(u.Phones, Identification{ID: ids.New("idn"), Value: v})
	}
	if nu.Username != "" {
		v, err := claim(KindUsername, nu.Username, NormalizeUsername)
		if err != nil {
			return nil, err
		}
		u.Username = v
	}
	if len(index) == 0 {
		return nil, apierr.FormParamMissing.WithParam("email_address").
			WithLongMessage("A user needs an email address, a phone number or a username.")
	}
	switch {
	case nu.Password != "" && nu.PasswordDigest != "":
		return nil, apierr.FormParamValueInvalid.WithParam("password_digest").
			WithLongMessage("Give either password or password_digest, not both.")
	case nu.Password != "":
		if err := s.pw.Validate(ctx, nu.Password, u.Identifiers()); err != nil {
			return nil, err
		}
		digest, err := s.pw.Hash(ctx, nu.Password)
		if err != nil {
			return nil, fmt.Errorf("hashing password: %w", err)
		}
		u.PasswordDigest = digest
	case nu.PasswordDigest != "":
		if err := s.pw.CheckDigest(nu.PasswordHasher, nu.PasswordDigest); err != nil {
			return nil, apierr.FormParamFormatInvalid.WithParam("password_digest").
				WithLongMessage("password_digest is not a valid " + nu.PasswordHasher + " digest.")
		}
		u.PasswordDigest = nu.PasswordDigest
	}
	data, err := json.Marshal(u)
	if err != nil {
		return nil, fmt.Errorf("encoding user: %w", err)
	}
	if err := s.st.CreateIndexed(ctx, userKey(u.ID), data, index); err != nil {
		var taken *store.IndexTakenError
		if errors.As(err, &taken) {
			return nil, apierr.FormIdentifierExists.WithParam(paramOfIndex(taken.Key))
		}
		return nil, fmt.Errorf("storing user: %w", err)
	}
	return u, nil
}

func paramOfIndex(key string) string {
	for _, k := range []Kind{KindEmail, KindPhone, KindUsername} {
		if len(key) > len(indexKey(k, "")) && key[:len(indexKey(k, ""))] == indexKey(k, "") {
			return string(k)
		}
	}
	return "identifier"
}

// Get returns the user with id, or ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (*User, error) {
	if !ids.Valid("user", id) {
		return nil, ErrNotFound
	}
	data, err := s.st.Get(ctx, userKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading user: %w", err)
	}
	u := new(User)
	if err := json.Unmarshal(data, u); err != nil {
		return nil, fmt.Errorf("decoding user %s: %w", id, err)
	}
	return u, nil
}

// Find returns the user owning an already normalized identifier.
func (s *Service) Find(ctx context.Context, k Kind, normalized string) (*User, error) {
	id, err := s.st.Get(ctx, indexKey(k, normalized))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading identifier index: %w", err)
	}
	return s.Get(ctx, string(id))
}

// Delete removes a user and frees its identifiers.
func (s *Service) Delete(ctx context.Context, id string) (*User, error) {
	u, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, 4)
	for _, e := range u.Emails {
		keys = append(keys, indexKey(KindEmail, e.Value))
	}
	for _, p := range u.Phones {
		keys = append(keys, indexKey(KindPhone, p.Value))
	}
	if u.Username != "" {
		keys = append(keys, indexKey(KindUsername, u.Username))
	}
	if err := s.st.DeleteIndexed(ctx, userKey(id), keys); err != nil {
		return nil, fmt.Errorf("deleting user: %w", err)
	}
	return u, nil
}

// Update applies fn to the stored user atomically and returns the result.
// Identifiers must not be changed by fn.
func (s *Service) Update(ctx context.Context, id string, fn func(u *User) error) (*User, error) {
	if !ids.Valid("user", id) {
		return nil, ErrNotFound
	}
	var out *User
	err := s.st.Update(ctx, userKey(id), func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		if !exists {
			return nil, 0, ErrNotFound
		}
		u := new(User)
		if err := json.Unmarshal(cur, u); err != nil {
			return nil, 0, fmt.Errorf("decoding user %s: %w", id, err)
		}
		if err := fn(u); err != nil {
			return nil, 0, err
		}
		u.UpdatedAt = s.now().UTC().Truncate(time.Millisecond)
		next, err := json.Marshal(u)
		if err != nil {
			return nil, 0, fmt.Errorf("encoding user: %w", err)
		}
		out = u
		return next, 0, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
