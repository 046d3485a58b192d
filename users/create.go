package users

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/ids"
	"github.com/authgate/authgate/internal/record"
	"github.com/authgate/authgate/store"
)

// Create validates and stores a new user. Identifiers are normalized and
// claimed (claim.go): of concurrent creates with one identifier, on any
// instances, exactly one wins and the others get form_identifier_exists.
// The password is hashed before anything is claimed, so a claim is held
// only for the few store round trips of the create.
func (s *Service) Create(ctx context.Context, nu NewUser) (*User, error) {
	now := s.now().UTC().Truncate(time.Millisecond)
	u := &User{ID: ids.New("user"), CreatedAt: now, UpdatedAt: now}
	if err := setIdentifiers(u, nu.Emails, nu.Phones, nu.Username, nil); err != nil {
		return nil, err
	}
	if err := s.setPassword(ctx, u, nu); err != nil {
		return nil, err
	}
	list, err := s.keyed(ctx, u.idents())
	if err != nil {
		return nil, err
	}
	if err := s.insert(ctx, u, list); err != nil {
		return nil, publicError(err)
	}
	return u, nil
}

// insert stores the new user u with the identifiers list (keyed).
func (s *Service) insert(ctx context.Context, u *User, list []ident) error {
	data, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("encoding user: %w", err)
	}
	return s.claimAndWrite(ctx, u.ID, list,
		func(ctx context.Context) error { return s.createRecord(ctx, u.ID, data) },
		func(ctx context.Context) error { return s.st.Delete(ctx, recordKey(u.ID)) })
}

// createRecord writes a new record. ErrExists for a fresh id means the
// Redis client retried a Create whose reply was lost: if the record is
// byte for byte ours, the write happened.
func (s *Service) createRecord(ctx context.Context, id string, data []byte) error {
	err := s.st.Create(ctx, recordKey(id), data, 0)
	if errors.Is(err, store.ErrExists) {
		cur, gerr := s.st.Get(ctx, recordKey(id))
		if gerr == nil && bytes.Equal(cur, data) {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("storing user: %w", err)
	}
	return nil
}

// setIdentifiers normalizes the identifiers into u. An identifier that
// prev (the user before a change) has keeps its token; a new one gets a
// new token. An identifier given twice is refused as if another user held
// it, and at least one is needed.
func setIdentifiers(u *User, emails, phones []string, username string, prev *User) error {
	seen := map[ident]bool{}
	token := func(k Kind, v string) (string, error) {
		if seen[ident{kind: k, value: v}] {
			return "", apierr.FormIdentifierExists.WithParam(string(k))
		}
		seen[ident{kind: k, value: v}] = true
		if prev != nil {
			for _, id := range prev.idents() {
				if id.kind == k && id.value == v {
					return id.token, nil
				}
			}
		}
		return ids.New("idn"), nil
	}
	add := func(k Kind, raws []string, normalize func(string) (string, error)) ([]Identification, error) {
		var out []Identification
		for _, raw := range raws {
			v, err := normalize(raw)
			if err != nil {
				return nil, err
			}
			tok, err := token(k, v)
			if err != nil {
				return nil, err
			}
			out = append(out, Identification{ID: tok, Value: v})
		}
		return out, nil
	}
	var err error
	if u.Emails, err = add(KindEmail, emails, NormalizeEmail); err != nil {
		return err
	}
	if u.Phones, err = add(KindPhone, phones, NormalizePhone); err != nil {
		return err
	}
	u.Username, u.UsernameID = "", ""
	if username != "" {
		names, err := add(KindUsername, []string{username}, NormalizeUsername)
		if err != nil {
			return err
		}
		u.Username, u.UsernameID = names[0].Value, names[0].ID
	}
	if len(seen) == 0 {
		return apierr.FormParamMissing.WithParam("email_address").
			WithLongMessage("A user needs an email address, a phone number or a username.")
	}
	return nil
}

// setPassword checks and hashes the new user's password or digest.
func (s *Service) setPassword(ctx context.Context, u *User, nu NewUser) error {
	switch {
	case nu.Password != "" && nu.PasswordDigest != "":
		return apierr.FormParamValueInvalid.WithParam("password_digest").
			WithLongMessage("Give either password or password_digest, not both.")
	case nu.Password != "":
		if err := s.pw.Validate(ctx, nu.Password, u.Identifiers()); err != nil {
			return err
		}
		digest, err := s.pw.Hash(ctx, nu.Password)
		if err != nil {
			return fmt.Errorf("hashing password: %w", err)
		}
		u.PasswordDigest = digest
	case nu.PasswordDigest != "":
		if err := s.pw.CheckDigest(nu.PasswordHasher, nu.PasswordDigest); err != nil {
			return apierr.FormParamFormatInvalid.WithParam("password_digest").
				WithLongMessage("password_digest is not a valid " + nu.PasswordHasher + " digest.")
		}
		u.PasswordDigest = nu.PasswordDigest
	}
	return nil
}

// errConcurrentChange is returned by SetIdentifiers when another change
// of the same user's identifiers landed between its read and its write.
var errConcurrentChange = fmt.Errorf("users: the identifiers changed meanwhile: %w", store.ErrConflict)

// SetIdentifiers replaces the user's emails, phones and username (the
// first email and phone are primary). It claims the added identifiers,
// writes the record only if no other change of the user's identifiers
// came in between (else an error wrapping store.ErrConflict), makes the
// claims permanent and then releases the removed identifiers. Kept
// identifiers keep their ids. If everything but the release worked, the
// user is returned with an error: the removed identifier's index is an
// orphan that Find ignores, a create of it takes over and Repair deletes.
func (s *Service) SetIdentifiers(ctx context.Context, id string, emails, phones []string, username string) (*User, error) {
	cur, err := s.currentRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	next := *cur
	if err := setIdentifiers(&next, emails, phones, username, cur); err != nil {
		return nil, err
	}
	added, removed := diffIdents(cur.idents(), next.idents())
	if added, err = s.keyed(ctx, added); err != nil {
		return nil, err
	}
	out, err := s.changeIdentifiers(ctx, cur, &next, added)
	if err != nil {
		return nil, publicError(err)
	}
	if err := s.releaseHeld(ctx, id, removed); err != nil {
		return out, fmt.Errorf("identifiers of %s changed, but freeing the old ones failed (left for Repair): %w", id, err)
	}
	return out, nil
}

// currentRecord returns the user's layout 2 record, migrating it first if it
// is still in layout 1.
func (s *Service) currentRecord(ctx context.Context, id string) (*User, error) {
	return s.migrating(ctx, id, func() (*User, error) { return s.record(ctx, id) })
}

// changeIdentifiers claims added, writes next over cur and holds added,
// undoing its own steps on failure (claimAndWrite).
func (s *Service) changeIdentifiers(ctx context.Context, cur, next *User, added []ident) (*User, error) {
	var out *User
	err := s.claimAndWrite(ctx, cur.ID, added,
		func(ctx context.Context) (err error) {
			out, err = s.writeIdentifiers(ctx, cur, next)
			return err
		},
		func(ctx context.Context) error {
			_, err := s.writeIdentifiers(ctx, next, cur)
			return err
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// writeIdentifiers sets the record's identifiers to to's if they are
// still from's.
func (s *Service) writeIdentifiers(ctx context.Context, from, to *User) (*User, error) {
	return s.updateRecord(ctx, from.ID, func(u *User) error {
		switch {
		case sameIdents(u.idents(), to.idents()):
			// Already written: the client retried an update whose
			// reply was lost (to's new tokens are this call's alone).
			return record.Unchanged
		case !sameIdents(u.idents(), from.idents()):
			return errConcurrentChange
		}
		u.Emails, u.Phones, u.Username, u.UsernameID = to.Emails, to.Phones, to.Username, to.UsernameID
		return nil
	}, true)
}

// diffIdents returns the identifiers of next that cur lacks and those of
// cur that next lacks (compared with their tokens).
func diffIdents(cur, next []ident) (added, removed []ident) {
	for _, id := range next {
		if !identIn(cur, id) {
			added = append(added, id)
		}
	}
	for _, id := range cur {
		if !identIn(next, id) {
			removed = append(removed, id)
		}
	}
	return added, removed
}
