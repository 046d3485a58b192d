package users

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/authgate/authgate/internal/ids"
	"github.com/authgate/authgate/store"
)

// Layout 1, written by earlier versions: every user key under the one
// hash tag "{users}", so a whole user base sat in one Redis Cluster slot.
//
//	{users}:user:<id>                 the record
//	{users}:<kind>:<normalized>       the user id owning the identifier
//
// Until Migrate has run, the service reads both layouts: Get and Find
// read layout 1 as well as layout 2 (hit or miss, so that a known and an
// unknown identifier cost the same store reads), Create and
// SetIdentifiers also refuse identifiers layout 1 holds, and every write
// to a layout 1 user (Update, SetIdentifiers, Delete) first moves that
// user to layout 2 or removes it from both. Migrate moves the rest and
// then sets the marker key. An instance looks for the marker once (in
// Load, or on first use): one started before the migration finished keeps
// reading both layouts, which stays correct, until it is restarted or its
// config reloaded. Load also marks a store that has no layout 1 user as
// migrated, so a new deployment never reads layout 1. Nothing writes
// layout 1 any more, so an instance still running an earlier version
// during an upgrade does not see users the new ones create, and loses
// the users Migrate moves: upgrade every instance, then migrate.
const (
	legacyTag          = "{users}:"
	legacyRecordPrefix = legacyTag + "user:"
	// layoutKey holds "2" once Migrate has finished.
	layoutKey = "users:layout"
)

func legacyRecordKey(id string) string       { return legacyRecordPrefix + id }
func legacyIndexKey(k Kind, v string) string { return legacyTag + string(k) + ":" + v }

// legacyActive reports whether layout 1 may still hold users. The marker
// is looked for once per Service; see above.
func (s *Service) legacyActive(ctx context.Context) (bool, error) {
	if s.migrated.Load() {
		return false, nil
	}
	if s.checked.Load() {
		return true, nil
	}
	_, err := s.st.Get(ctx, layoutKey)
	switch {
	case err == nil:
		s.migrated.Store(true)
		return false, nil
	case errors.Is(err, store.ErrNotFound):
		s.checked.Store(true)
		return true, nil
	default:
		return false, fmt.Errorf("reading the users layout marker: %w", err)
	}
}

// errStop ends a List walk early.
var errStop = errors.New("stop")

// Load reads the identifier key and the layout marker, so that no request
// pays for them (and the first request about a known identifier costs
// what one about an unknown identifier does). A store without the marker
// and without any layout 1 user (a new deployment, or one whose old users
// were all deleted) is marked migrated here. Call it at start; without it
// the same happens lazily, except the marking.
func (s *Service) Load(ctx context.Context) error {
	if _, err := s.hmacKey(ctx); err != nil {
		return err
	}
	legacy, err := s.legacyActive(ctx)
	if err != nil || !legacy {
		return err
	}
	l, ok := store.ListerOf(s.st)
	if !ok {
		return nil // read both layouts until Migrate runs where a Lister is
	}
	found := false
	err = l.List(ctx, legacyRecordPrefix, func(string) error { found = true; return errStop })
	if err != nil && !errors.Is(err, errStop) {
		return fmt.Errorf("looking for users in the old layout: %w", err)
	}
	if found {
		return nil
	}
	if err := s.st.Put(ctx, layoutKey, []byte("2"), 0); err != nil {
		return fmt.Errorf("setting the users layout marker: %w", err)
	}
	s.migrated.Store(true)
	return nil
}

// legacyToken is the claim token given to a layout 1 identifier, which
// has none (usernames) or may lack one. Derived from the user and the
// identifier, so concurrent migrations of one user on several instances
// write the same record and accept each other's claims.
func legacyToken(k Kind, user, value string) string {
	sum := sha256.Sum256([]byte(string(k) + "\x00" + user + "\x00" + value))
	return ids.FromBytes("idn", sum[:])
}

// legacyRecord reads a layout 1 record, with tokens filled in.
func (s *Service) legacyRecord(ctx context.Context, id string) (*User, error) {
	u, err := store.GetJSON[User](ctx, s.st, legacyRecordKey(id), ErrNotFound, "user "+id)
	if err != nil {
		return nil, err
	}
	for i, e := range u.Emails {
		if e.ID == "" {
			u.Emails[i].ID = legacyToken(KindEmail, id, e.Value)
		}
	}
	for i, p := range u.Phones {
		if p.ID == "" {
			u.Phones[i].ID = legacyToken(KindPhone, id, p.Value)
		}
	}
	if u.Username != "" && u.UsernameID == "" {
		u.UsernameID = legacyToken(KindUsername, id, u.Username)
	}
	return u, nil
}

// legacyOwner returns the user id layout 1 gives the identifier, or ""
// (also once layout 1 is no longer read).
func (s *Service) legacyOwner(ctx context.Context, k Kind, v string) (string, error) {
	if legacy, err := s.legacyActive(ctx); err != nil || !legacy {
		return "", err
	}
	id, err := s.st.Get(ctx, legacyIndexKey(k, v))
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading identifier index: %w", err)
	}
	return string(id), nil
}

// legacyFree fails with a takenError when layout 1 gives one of list to
// a user other than user. Create and SetIdentifiers call it after their
// claims: a migration claims in layout 2 before it deletes layout 1, so
// one of the two always sees the other.
func (s *Service) legacyFree(ctx context.Context, user string, list []ident) error {
	legacy, err := s.legacyActive(ctx)
	if err != nil || !legacy {
		return err
	}
	for _, id := range list {
		owner, err := s.legacyOwner(ctx, id.kind, id.value)
		if err != nil {
			return err
		}
		if owner == "" || owner == user {
			continue
		}
		u, err := s.Get(ctx, owner)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if u.lists(id.kind, id.value) {
			return &takenError{kind: id.kind}
		}
	}
	return nil
}

// deleteLegacy removes the user's layout 1 record and indexes, if any
// (one slot, so in one call).
func (s *Service) deleteLegacy(ctx context.Context, id string) error {
	u, err := s.legacyRecord(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var index []string
	for _, x := range u.idents() {
		index = append(index, legacyIndexKey(x.kind, x.value))
	}
	if err := s.st.DeleteIndexed(ctx, legacyRecordKey(id), index); err != nil {
		return fmt.Errorf("deleting the old-layout user %s: %w", id, err)
	}
	return nil
}

// migrating runs op on the layout 2 record of id and, when op finds none
// (errAbsent), migrates the user from layout 1 and runs op once more: how
// a write reaches a user still in layout 1. An id that cannot be a user's
// is ErrNotFound without a store read, and so is a deleted user.
func (s *Service) migrating(ctx context.Context, id string, op func() (*User, error)) (*User, error) {
	if !ids.Valid("user", id) {
		return nil, ErrNotFound
	}
	for range 2 {
		out, err := op()
		if errors.Is(err, errDeleted) {
			return nil, ErrNotFound
		}
		if !errors.Is(err, errAbsent) {
			return out, err
		}
		found, err := s.migrateUser(ctx, id)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, ErrNotFound
		}
	}
	return nil, ErrNotFound
}

// migrateUser moves one user from layout 1 to layout 2 and reports
// whether the user exists. It is idempotent and safe to run on several
// instances at once: a run that finds the layout 2 record already written
// makes sure its claims are held, then deletes the layout 1 keys; a
// tombstone (the user was deleted meanwhile) only deletes them.
func (s *Service) migrateUser(ctx context.Context, id string) (bool, error) {
	active, err := s.legacyActive(ctx)
	if err != nil || !active {
		return false, err
	}
	for range 2 {
		rec, err := s.record(ctx, id)
		switch {
		case err == nil:
			if err := s.holdAll(ctx, rec); err != nil {
				return true, err
			}
			return true, s.deleteLegacy(ctx, id)
		case errors.Is(err, errDeleted):
			return false, s.deleteLegacy(ctx, id)
		case !errors.Is(err, errAbsent):
			return false, err
		}
		leg, err := s.legacyRecord(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		moved, err := s.moveRecord(ctx, leg)
		if err != nil {
			return true, err
		}
		if moved {
			return true, s.deleteLegacy(ctx, id)
		}
		// Another run wrote the record (or a delete its tombstone)
		// first: the next turn sees it.
	}
	return true, fmt.Errorf("migrating user %s: %w", id, store.ErrConflict)
}

// moveRecord claims leg's identifiers, creates its layout 2 record and
// holds the claims; moved is false when the record existed already. On
// failure it releases only its own pending claims: a held one names a
// record that lists it, and a concurrent run of the same migration may
// share a claim (same user, same token) and takes it back in its hold.
func (s *Service) moveRecord(ctx context.Context, leg *User) (moved bool, err error) {
	list, err := s.keyed(ctx, leg.idents())
	if err != nil {
		return false, err
	}
	var claimed []ident
	defer func() {
		if err == nil && moved {
			return
		}
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		var errs []error
		for _, id := range claimed {
			if _, e := s.st.CompareAndDelete(cctx, id.key, pendingOf(leg.ID, id)); e != nil {
				errs = append(errs, e)
			}
		}
		if err != nil {
			err = undone(err, errors.Join(errs...))
		}
	}()
	for _, id := range list {
		mine, err := s.claim(ctx, id, leg.ID)
		if err != nil {
			return false, err
		}
		if mine {
			claimed = append(claimed, id)
		}
	}
	data, err := json.Marshal(leg)
	if err != nil {
		return false, fmt.Errorf("encoding user: %w", err)
	}
	err = s.st.Create(ctx, recordKey(leg.ID), data, 0)
	if errors.Is(err, store.ErrExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storing user: %w", err)
	}
	claimed = nil // the record lists them now: they are its claims
	for _, id := range list {
		if err := s.hold(ctx, id, leg.ID); err != nil {
			return false, err
		}
	}
	return true, nil
}

// holdAll makes sure every identifier of rec is held for it.
func (s *Service) holdAll(ctx context.Context, rec *User) error {
	list, err := s.keyed(ctx, rec.idents())
	if err != nil {
		return err
	}
	for _, id := range list {
		if _, err := s.claim(ctx, id, rec.ID); err != nil {
			return err
		}
		if err := s.hold(ctx, id, rec.ID); err != nil {
			return err
		}
	}
	return nil
}
