// Package users keeps authgate's user records: identifiers (emails, phone
// numbers, username) unique across the whole user base, the password
// digest and the compromised / reset-required flags.
//
// Records and identifier indexes are keyed one hash tag each (keys.go), so
// on Redis Cluster they spread over every node, and uniqueness holds
// without multi-key transactions by a claim protocol (claim.go): claim
// each identifier's index with create-if-absent and a short TTL, write the
// record, then make the claims permanent. Data written by earlier
// versions, all under one "{users}" tag, is read until Migrate has moved
// it (legacy.go); Repair cleans what failed operations leave (repair.go).
package users

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/authgate/authgate/internal/ids"
	"github.com/authgate/authgate/internal/record"
	"github.com/authgate/authgate/internal/secret"
	"github.com/authgate/authgate/store"
)

// Identification is one email address or phone number of a user.
type Identification struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// User is the stored user record.
type User struct {
	ID       string           `json:"id"`
	Emails   []Identification `json:"emails,omitempty"`
	Phones   []Identification `json:"phones,omitempty"`
	Username string           `json:"username,omitempty"`
	// UsernameID is the claim token of the username, as Identification.ID
	// is for an email or phone: the index entry carries it, so a username
	// dropped and added again gets a new one, and a late release of the
	// old claim cannot free the new.
	UsernameID          string `json:"username_id,omitempty"`
	PasswordDigest      string `json:"password_digest,omitempty"`
	PasswordCompromised bool   `json:"password_compromised,omitempty"`
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
	st       store.Store
	pw       Passwords
	now      func() time.Time
	key      Key
	keyCache atomic.Pointer[[]byte]
	// claimTTL is how long an unconfirmed claim blocks its identifier.
	claimTTL time.Duration
	// layout 1 reads (legacy.go): migrated is set for good once the
	// marker is seen; checked once it was looked for and found absent.
	migrated atomic.Bool
	checked  atomic.Bool
}

// Option configures NewService.
type Option func(*Service)

// WithKey sets the secret the identifier indexes are keyed with (default:
// internal/secret's key under KeyName in st, created on first use). Every
// instance must use the same key, for good.
func WithKey(k Key) Option { return func(s *Service) { s.key = k } }

// defaultClaimTTL bounds how long a create or identifier change that died
// half-way keeps its new identifiers taken. A live operation needs three
// store round trips between its claim and making it permanent.
const defaultClaimTTL = 30 * time.Second

// NewService returns a user service over st. It does no I/O.
func NewService(st store.Store, pw Passwords, now func() time.Time, opts ...Option) *Service {
	if now == nil {
		now = time.Now
	}
	s := &Service{st: st, pw: pw, now: now, claimTTL: defaultClaimTTL}
	for _, o := range opts {
		o(s)
	}
	if s.key == nil {
		s.key = secret.New(st, KeyName)
	}
	return s
}

// ErrNotFound is returned when no user matches.
var ErrNotFound = errors.New("user not found")

// errAbsent and errDeleted tell why a layout 2 record was not found: a
// missing record may still exist in layout 1, a tombstone means deleted.
var (
	errAbsent  = fmt.Errorf("%w (no record)", ErrNotFound)
	errDeleted = fmt.Errorf("%w (deleted)", ErrNotFound)
)

// record reads the layout 2 record of id: errAbsent, errDeleted or the
// user.
func (s *Service) record(ctx context.Context, id string) (*User, error) {
	data, err := s.st.Get(ctx, recordKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errAbsent
	}
	if err != nil {
		return nil, fmt.Errorf("reading user: %w", err)
	}
	return decodeRecord(id, data)
}

func decodeRecord(id string, data []byte) (*User, error) {
	if isTombstone(data) {
		return nil, errDeleted
	}
	u := new(User)
	if err := json.Unmarshal(data, u); err != nil {
		return nil, fmt.Errorf("decoding user %s: %w", id, err)
	}
	return u, nil
}

// Get returns the user with id, or ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (*User, error) {
	if !ids.Valid("user", id) {
		return nil, ErrNotFound
	}
	u, err := s.record(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	legacy, lerr := s.legacyActive(ctx)
	if lerr != nil {
		return nil, lerr
	}
	if legacy {
		// While layout 1 is read, a hit reads it too: a known user then
		// costs the store reads an unknown one does, which the sign-in
		// flow's defence against account enumeration relies on.
		old, lerr := s.legacyRecord(ctx, id)
		if lerr != nil && !errors.Is(lerr, ErrNotFound) {
			return nil, lerr
		}
		if errors.Is(err, errAbsent) {
			u, err = old, lerr
		}
	}
	if err != nil {
		return nil, ErrNotFound
	}
	return u, nil
}

// Find returns the user owning an already normalized identifier. An index
// entry counts only when it is held (permanent) and the record it names
// lists the identifier under the same token: a pending claim (a create or
// change in progress, or one that died and whose TTL has not passed yet)
// and an entry left behind by a delete or change read as absent. While
// layout 1 is read, Find reads both layouts' index and both layouts'
// record, hit or miss, so that known and unknown identifiers cost the
// same (see Get).
func (s *Service) Find(ctx context.Context, k Kind, normalized string) (*User, error) {
	key, err := s.indexKey(ctx, k, normalized)
	if err != nil {
		return nil, err
	}
	o, err := s.heldOwner(ctx, key)
	if err != nil {
		return nil, err
	}
	old, err := s.legacyOwner(ctx, k, normalized)
	if err != nil {
		return nil, err
	}
	if o.user != "" {
		u, err := s.Get(ctx, o.user)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if err == nil && u.holds(ident{kind: k, value: normalized, token: o.token}) {
			return u, nil
		}
		if old == "" || old == o.user {
			return nil, ErrNotFound // an orphan entry
		}
	}
	if old == "" {
		return nil, ErrNotFound
	}
	u, err := s.Get(ctx, old)
	if err != nil {
		return nil, err
	}
	if !u.lists(k, normalized) {
		return nil, ErrNotFound
	}
	return u, nil
}

// heldOwner returns the owner of a held index entry; the zero owner when
// there is none or it is only claimed.
func (s *Service) heldOwner(ctx context.Context, key string) (owner, error) {
	cur, err := s.st.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return owner{}, nil
	}
	if err != nil {
		return owner{}, fmt.Errorf("reading identifier index: %w", err)
	}
	o, err := parseOwner(cur)
	if err != nil {
		return owner{}, err
	}
	if !o.held {
		return owner{}, nil
	}
	return o, nil
}

// errIdentifiersChanged is returned by Update when fn touched an
// identifier: they change only through SetIdentifiers, which keeps the
// indexes in step.
var errIdentifiersChanged = errors.New("users: Update must not change identifiers (use SetIdentifiers)")

// Update applies fn to the stored user atomically and returns the result.
// fn must not change identifiers (Update fails if it does) and may be
// called more than once. A user still in layout 1 is migrated first.
func (s *Service) Update(ctx context.Context, id string, fn func(u *User) error) (*User, error) {
	return s.migrating(ctx, id, func() (*User, error) { return s.updateRecord(ctx, id, fn, false) })
}

// updateRecord is Update on the layout 2 record alone (errAbsent when
// there is none). Only Repair's drop (which removes identifiers whose
// index another user holds) and SetIdentifiers' write let fn change
// identifiers (identsMayChange). fn returns record.Unchanged when what
// it would write is there already: nothing is written, and the stored
// user is the answer.
func (s *Service) updateRecord(ctx context.Context, id string, fn func(u *User) error, identsMayChange bool) (*User, error) {
	var out *User
	err := s.st.Update(ctx, recordKey(id), func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		if !exists {
			return nil, 0, errAbsent
		}
		u, err := decodeRecord(id, cur)
		if err != nil {
			return nil, 0, err
		}
		before := u.idents()
		out = u
		if err := fn(u); err != nil {
			return nil, 0, err
		}
		if !identsMayChange && !sameIdents(before, u.idents()) {
			return nil, 0, errIdentifiersChanged
		}
		u.UpdatedAt = s.now().UTC().Truncate(time.Millisecond)
		next, err := json.Marshal(u)
		if err != nil {
			return nil, 0, fmt.Errorf("encoding user: %w", err)
		}
		return next, 0, nil
	})
	if err != nil && !errors.Is(err, record.Unchanged) {
		return nil, err
	}
	return out, nil
}

// tombstoneTTL is how long a deleted user's tombstone stays while layout
// 1 data may exist: far longer than a migration of one user takes.
const tombstoneTTL = 24 * time.Hour

// Delete removes a user, then frees its identifiers. While layout 1 data
// may exist the record is replaced by a tombstone rather than removed
// (see tombstone). If the user is gone but freeing an identifier failed,
// Delete returns the user and an error: the identifier's index is then an
// orphan, which Find ignores, a create of the identifier takes over and
// Repair deletes.
func (s *Service) Delete(ctx context.Context, id string) (*User, error) {
	u, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	legacy, err := s.legacyActive(ctx)
	if err != nil {
		return nil, err
	}
	if legacy {
		err = s.st.Put(ctx, recordKey(id), tombstone, tombstoneTTL)
		if err == nil {
			err = s.deleteLegacy(ctx, id)
		}
	} else {
		err = s.st.Delete(ctx, recordKey(id))
	}
	if err != nil {
		return nil, fmt.Errorf("deleting user: %w", err)
	}
	if err := s.releaseHeld(ctx, id, u.idents()); err != nil {
		return u, fmt.Errorf("user %s deleted, but freeing its identifiers failed (left for Repair): %w", id, err)
	}
	return u, nil
}

// releaseHeld frees the index entries of list that are still user's
// with the same token, claimed or held (see release).
func (s *Service) releaseHeld(ctx context.Context, user string, list []ident) error {
	list, err := s.keyed(ctx, list)
	if err != nil {
		return err
	}
	return s.release(ctx, user, list)
}
