package users

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authgate/authgate/store"
)

// Maintenance: Migrate (layout 1 to 2, see legacy.go) and Repair (the
// leftovers of operations that died half-way, see claim.go). Both walk
// the store's keys (store.Lister, looked up through wrappers), which
// costs time in proportion to the whole key space: they are for the CLI
// or a start-up job, never a request path. Both are safe to run while
// instances serve, and on several machines at once.

// errNoLister is returned when no layer of the store lists keys.
var errNoLister = errors.New("users: the store cannot list its keys (no store.Lister below its wrappers)")

// migrateAttempts and migratePause bound the retries of one user whose
// identifier another operation is claiming at that moment.
const (
	migrateAttempts = 3
	migratePause    = 200 * time.Millisecond
)

// Migrate moves every user still in layout 1 (the single "{users}" hash
// tag of earlier versions) to layout 2 and then marks the store migrated,
// after which no instance reads layout 1 again. It is idempotent and
// resumable: each user is moved on its own (claims, record, then the old
// keys deleted), a user half-moved by an interrupted run is finished by
// the next, and concurrent runs agree on every key they write. It returns
// how many users this run moved. Users it could not move (an identifier
// another user holds in layout 2, which only instances of the old and new
// versions creating users side by side can cause) are named in the
// error; they stay readable in layout 1 and the marker is not set.
func (s *Service) Migrate(ctx context.Context) (int, error) {
	l, ok := store.ListerOf(s.st)
	if !ok {
		return 0, errNoLister
	}
	if _, err := s.st.Get(ctx, layoutKey); err == nil {
		s.migrated.Store(true)
		return 0, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return 0, fmt.Errorf("users: migrate: reading the layout marker: %w", err)
	}
	moved := 0
	var failed []error
	err := l.List(ctx, legacyRecordPrefix, func(key string) error {
		id := strings.TrimPrefix(key, legacyRecordPrefix)
		found, err := s.migrateOne(ctx, id)
		switch {
		case err != nil && (errors.Is(err, store.ErrUnavailable) || ctx.Err() != nil):
			return err // nothing else will work either
		case err != nil:
			failed = append(failed, fmt.Errorf("user %s: %w", id, err))
		case found:
			moved++
		}
		return nil
	})
	if err != nil {
		return moved, fmt.Errorf("users: migrate: %w", err)
	}
	if len(failed) > 0 {
		return moved, fmt.Errorf("users: migrate: %d users left in the old layout (run again; these need a look if they fail again): %w",
			len(failed), errors.Join(failed[:min(len(failed), 10)]...))
	}
	return moved, s.finishMigration(ctx, l)
}

// migrateOne migrates one user, retrying while another operation holds a
// claim on one of its identifiers.
func (s *Service) migrateOne(ctx context.Context, id string) (bool, error) {
	for attempt := 1; ; attempt++ {
		found, err := s.migrateUser(ctx, id)
		var taken *takenError
		retry := errors.Is(err, store.ErrConflict) || errors.As(err, &taken) && taken.busy
		if !retry || attempt == migrateAttempts {
			return found, err
		}
		t := time.NewTimer(time.Duration(attempt) * migratePause)
		select {
		case <-ctx.Done():
			t.Stop()
			return found, ctx.Err()
		case <-t.C:
		}
	}
}

// finishMigration checks that no layout 1 record is left (a walk may miss
// keys written during it), deletes the layout 1 indexes, which now name
// no record, and sets the marker.
func (s *Service) finishMigration(ctx context.Context, l store.Lister) error {
	left := 0
	if err := l.List(ctx, legacyRecordPrefix, func(string) error { left++; return nil }); err != nil {
		return fmt.Errorf("users: migrate: %w", err)
	}
	if left > 0 {
		return fmt.Errorf("users: migrate: %d old-layout users appeared during the run (is an instance of an earlier version creating users?); run again", left)
	}
	err := l.List(ctx, legacyTag, func(key string) error {
		kind, _, ok := strings.Cut(strings.TrimPrefix(key, legacyTag), ":")
		if !ok || (Kind(kind) != KindEmail && Kind(kind) != KindPhone && Kind(kind) != KindUsername) {
			return nil
		}
		return s.st.Delete(ctx, key)
	})
	if err != nil {
		return fmt.Errorf("users: migrate: deleting old-layout indexes: %w", err)
	}
	if err := s.st.Put(ctx, layoutKey, []byte("2"), 0); err != nil {
		return fmt.Errorf("users: migrate: setting the layout marker: %w", err)
	}
	s.migrated.Store(true)
	return nil
}

// RepairReport counts what Repair found and did.
type RepairReport struct {
	// OrphanIndexes are permanent index entries whose record does not
	// list them (a delete or identifier change that died before releasing
	// them), deleted.
	OrphanIndexes int
	// Reclaimed are identifiers a record lists whose claim had lapsed
	// (the operation died before making it permanent), claimed again.
	Reclaimed int
	// Dropped are identifiers removed from a record because another user
	// holds them by now.
	Dropped int
	// EmptyUsers are records that Dropped left without any identifier
	// (creates that failed and were retried), deleted.
	EmptyUsers int
	// Busy are identifiers left alone because a claim on them is in
	// progress (it finishes or expires by itself).
	Busy int
	// Malformed are index values no version writes, left for a human.
	Malformed int
}

// Repair walks every layout 2 record, then every index entry, and puts
// the two back in step (see RepairReport). Readers already ignore what it
// cleans, so it is housekeeping, not a fix readers wait for; run it after
// store outages or on a schedule. It needs a store.Lister.
func (s *Service) Repair(ctx context.Context) (RepairReport, error) {
	var r RepairReport
	l, ok := store.ListerOf(s.st)
	if !ok {
		return r, errNoLister
	}
	err := l.List(ctx, recordPrefix, func(key string) error {
		id, ok := strings.CutSuffix(strings.TrimPrefix(key, recordPrefix), recordSuffix)
		if !ok {
			return nil
		}
		return s.repairRecord(ctx, id, &r)
	})
	if err != nil {
		return r, fmt.Errorf("users: repair: %w", err)
	}
	if err := l.List(ctx, indexPrefix, func(key string) error { return s.repairIndex(ctx, key, &r) }); err != nil {
		return r, fmt.Errorf("users: repair: %w", err)
	}
	return r, nil
}

// repairRecord makes sure each identifier of the record is held for it:
// reclaimed if its claim lapsed, dropped if another user holds it.
func (s *Service) repairRecord(ctx context.Context, id string, r *RepairReport) error {
	u, err := s.record(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	list, err := s.keyed(ctx, u.idents())
	if err != nil {
		return err
	}
	var lost []ident
	for _, x := range list {
		cur, err := s.st.Get(ctx, x.key)
		switch {
		case err == nil && bytes.Equal(cur, heldOf(id, x)):
			continue
		case err == nil && bytes.Equal(cur, pendingOf(id, x)):
			r.Busy++
			continue
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
		_, err = s.claim(ctx, x, id)
		var taken *takenError
		switch {
		case errors.As(err, &taken) && taken.busy:
			r.Busy++
		case errors.As(err, &taken):
			lost = append(lost, x)
		case err != nil:
			return err
		default:
			if err := s.reclaim(ctx, id, x, r); err != nil {
				return err
			}
		}
	}
	if len(lost) == 0 {
		return nil
	}
	return s.drop(ctx, id, lost, r)
}

// reclaim holds a claim Repair just made if the record still lists the
// identifier (it may have changed since it was read), else releases it.
func (s *Service) reclaim(ctx context.Context, id string, x ident, r *RepairReport) error {
	fresh, err := s.record(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil || !fresh.holds(x) {
		_, err := s.st.CompareAndDelete(ctx, x.key, pendingOf(id, x))
		return err
	}
	var taken *takenError
	switch err := s.hold(ctx, x, id); {
	case errors.Is(err, errClaimLost) || errors.As(err, &taken):
		r.Busy++ // something else moved the identifier meanwhile: next pass
		return nil
	case err != nil:
		return err
	}
	r.Reclaimed++
	return nil
}

// drop removes identifiers other users hold from the record, and deletes
// the user when none is left.
func (s *Service) drop(ctx context.Context, id string, lost []ident, r *RepairReport) error {
	empty := false
	u, err := s.updateRecord(ctx, id, func(u *User) error {
		keep := func(list []Identification, k Kind) []Identification {
			var out []Identification
			for _, e := range list {
				if !identIn(lost, ident{kind: k, value: e.Value, token: e.ID}) {
					out = append(out, e)
				}
			}
			return out
		}
		u.Emails, u.Phones = keep(u.Emails, KindEmail), keep(u.Phones, KindPhone)
		if identIn(lost, ident{kind: KindUsername, value: u.Username, token: u.UsernameID}) {
			u.Username, u.UsernameID = "", ""
		}
		empty = len(u.idents()) == 0
		return nil
	}, true)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	r.Dropped += len(lost)
	if empty {
		if _, err := s.Delete(ctx, u.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		r.EmptyUsers++
	}
	return nil
}

// repairIndex deletes a held index entry whose record does not list it.
func (s *Service) repairIndex(ctx context.Context, key string, r *RepairReport) error {
	cur, err := s.st.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	o, err := parseOwner(cur)
	if err != nil {
		r.Malformed++
		return nil
	}
	if !o.held {
		return nil // a pending claim ends by itself
	}
	u, err := s.record(ctx, o.user)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if err == nil {
		list, err := s.keyed(ctx, u.idents())
		if err != nil {
			return err
		}
		for _, x := range list {
			if x.key == key && x.token == o.token {
				return nil
			}
		}
	}
	deleted, err := s.st.CompareAndDelete(ctx, key, cur)
	if deleted {
		r.OrphanIndexes++
	}
	return err
}
