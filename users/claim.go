package users

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/store"
)

// The claim protocol. Uniqueness of an identifier rests on its one index
// key, which lives on whatever node its hash tag picks; the record lives
// elsewhere. So no operation writes both at once. Instead, in this order:
//
//  1. claim: Create the index key (create-if-absent) with the value
//     "claim <user> <token>" and a TTL of claimTTL. Of concurrent claims on
//     any instances exactly one wins; the others see ErrExists and the
//     identifier is taken.
//  2. write the record, which lists the identifier under the same token.
//  3. hold: an Update that rewrites the index as "held <user> <token>"
//     without TTL, only if it still holds this claim.
//
// On any failure the operation deletes what it wrote and releases its
// claims with CompareAndDelete, so it never frees anyone else's. Removing
// an identifier (Delete, SetIdentifiers) goes the same way round: write
// the record first, then release the old index if it is still this
// user's with the same token (claimed or held).
//
// A reader trusts an index entry only if it is held and the record it
// names lists the identifier under the same token (Find). So a pending
// claim reads as absent, and one whose operation died is gone once its
// TTL passes; a held entry whose record no longer lists it (an orphan,
// left by a delete or change that died half-way) reads as absent too, is
// taken over by the next claim of the identifier, and is deleted by
// Repair. A record whose claim lapsed before it was made permanent (the
// operation and its undo both failed) is finished by Repair, or loses the
// identifier if another user took it meanwhile. The token, new for every
// identifier added, keeps a late release from freeing a newer claim of
// the same identifier by the same user.

// claimAttempts bounds claim's loop: each turn either wins, finds the
// identifier taken, or removed an orphan (or saw the key vanish) and
// tries again.
const claimAttempts = 3

// takenError says an identifier belongs to another user. busy means it is
// only claimed so far (an operation in progress, or one that died and
// whose claim has not expired yet).
type takenError struct {
	kind Kind
	busy bool
}

func (e *takenError) Error() string {
	if e.busy {
		return fmt.Sprintf("users: %s is being claimed by another operation", e.kind)
	}
	return fmt.Sprintf("users: %s belongs to another user", e.kind)
}

// publicError turns a takenError into the API's form_identifier_exists.
func publicError(err error) error {
	var taken *takenError
	if errors.As(err, &taken) {
		return apierr.FormIdentifierExists.WithParam(string(taken.kind))
	}
	return err
}

// claim reserves id for user (step 1). mine is true when the claim is
// this operation's (the caller must release it on failure); an entry
// already held for this user and token (another run of the same
// migration) is accepted with mine false. A held orphan is removed and
// claimed anew.
func (s *Service) claim(ctx context.Context, id ident, user string) (mine bool, err error) {
	want := pendingOf(user, id)
	for range claimAttempts {
		err := s.st.Create(ctx, id.key, want, s.claimTTL)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, store.ErrExists) {
			return false, fmt.Errorf("claiming %s: %w", id.kind, err)
		}
		cur, err := s.st.Get(ctx, id.key)
		if errors.Is(err, store.ErrNotFound) {
			continue // released or expired since
		}
		if err != nil {
			return false, fmt.Errorf("reading %s claim: %w", id.kind, err)
		}
		o, err := parseOwner(cur)
		switch {
		case bytes.Equal(cur, want):
			// Our own claim: a Create whose reply was lost and that the
			// Redis client retried (tokens are new per operation), or a
			// concurrent run of the same migration, whose hold takes the
			// claim back if we release it.
			return true, nil
		case err != nil:
			return false, &takenError{kind: id.kind} // not ours to judge: Repair reports it
		case o.user == user && o.token == id.token:
			return false, nil
		case !o.held:
			return false, &takenError{kind: id.kind, busy: true}
		}
		live, err := s.ownerHolds(ctx, o, id)
		if err != nil {
			return false, err
		}
		if live {
			return false, &takenError{kind: id.kind}
		}
		if _, err := s.st.CompareAndDelete(ctx, id.key, cur); err != nil {
			return false, fmt.Errorf("removing an orphan %s index: %w", id.kind, err)
		}
	}
	return false, &takenError{kind: id.kind, busy: true}
}

// ownerHolds reports whether the index entry o of id is live: its
// user's record lists the identifier under o's token.
func (s *Service) ownerHolds(ctx context.Context, o owner, id ident) (bool, error) {
	u, err := s.record(ctx, o.user)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	id.token = o.token
	return u.holds(id), nil
}

// errClaimLost is returned by hold when the claim is gone: its TTL passed
// (the operation stalled for longer than claimTTL) or a concurrent change
// of the same user released it. The operation fails rather than take the
// identifier back, so a release never races a hold into an orphan (see
// release).
var errClaimLost = fmt.Errorf("users: the claim expired or was released before it was confirmed: %w", store.ErrConflict)

// hold makes user's claim of id permanent (step 3): only if the index
// still holds this claim. A claim another user took after this one
// lapsed is a takenError.
func (s *Service) hold(ctx context.Context, id ident, user string) error {
	pending, held := pendingOf(user, id), heldOf(user, id)
	err := s.st.Update(ctx, id.key, func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		switch {
		case !exists:
			return nil, 0, errClaimLost
		case !bytes.Equal(cur, pending) && !bytes.Equal(cur, held):
			return nil, 0, &takenError{kind: id.kind}
		}
		return held, 0, nil
	})
	var taken *takenError
	if err != nil && !errors.As(err, &taken) && !errors.Is(err, errClaimLost) {
		return fmt.Errorf("confirming %s claim: %w", id.kind, err)
	}
	return err
}

// release frees user's claims of list, pending or held, each only if it
// is still this operation's (same user and token). The pending value goes
// first: a hold running meanwhile either comes before (and the held value
// is deleted next) or finds the claim gone and fails, so a change that
// removes an identifier another change of the same user is just adding
// leaves no orphan.
func (s *Service) release(ctx context.Context, user string, list []ident) error {
	var errs []error
	for _, id := range list {
		for _, v := range [][]byte{pendingOf(user, id), heldOf(user, id)} {
			if _, err := s.st.CompareAndDelete(ctx, id.key, v); err != nil {
				errs = append(errs, err)
				break
			}
		}
	}
	return errors.Join(errs...)
}

// cleanupTimeout bounds the undo of a failed operation. It runs on a
// context detached from the caller's, so a client that hangs up half-way
// does not leave claims and records behind.
const cleanupTimeout = 5 * time.Second

func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}

// undone adds the failure of an undo to the error that caused it.
func undone(err, undoErr error) error {
	if undoErr == nil {
		return err
	}
	return fmt.Errorf("%w; undoing it failed too, Repair cleans what is left: %v", err, undoErr)
}

// claimAndWrite gives the identifiers list to user owner: claim each,
// check layout 1 does not hold it, write the record (write), hold each.
// On failure it undoes its own steps: releases its claims and, once
// write succeeded, calls undo (both on a cleanup context, so a cancelled
// caller does not leave them half done).
func (s *Service) claimAndWrite(ctx context.Context, owner string, list []ident, write, undo func(context.Context) error) (err error) {
	var claimed []ident
	written := false
	defer func() {
		if err == nil {
			return
		}
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		var undoErr error
		if written {
			undoErr = undo(cctx)
		}
		err = undone(err, errors.Join(undoErr, s.release(cctx, owner, claimed)))
	}()
	for _, id := range list {
		mine, err := s.claim(ctx, id, owner)
		if err != nil {
			return err
		}
		if mine {
			claimed = append(claimed, id)
		}
	}
	if err := s.legacyFree(ctx, owner, list); err != nil {
		return err
	}
	if err := write(ctx); err != nil {
		return err
	}
	written = true
	for _, id := range list {
		if err := s.hold(ctx, id, owner); err != nil {
			return err
		}
	}
	return nil
}
