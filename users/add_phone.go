package users

import (
	"context"
	"fmt"
	"slices"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/ids"
)

// AddPhone gives the user id the phone number phone (already verified by
// the caller) under the identification id phoneID, which becomes its
// claim token, so the id a client saw while it was unverified stays the
// id of the verified number. This is the moment the number becomes an
// identifier: it is claimed by the claim protocol, so of concurrent
// additions of one number to any users exactly one wins, and the others
// get 422 form_identifier_exists. A number the user already has is
// answered with the user as it is.
func (s *Service) AddPhone(ctx context.Context, id, phoneID, phone string) (*User, error) {
	if !ids.Valid("idn", phoneID) {
		return nil, apierr.FormParamValueInvalid.WithParam("id")
	}
	v, err := NormalizePhone(phone)
	if err != nil {
		return nil, err
	}
	cur, err := s.currentRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	if cur.lists(KindPhone, v) {
		return cur, nil
	}
	next := *cur
	next.Phones = append(slices.Clone(cur.Phones), Identification{ID: phoneID, Value: v})
	added, err := s.keyed(ctx, []ident{{kind: KindPhone, value: v, token: phoneID}})
	if err != nil {
		return nil, err
	}
	out, err := s.changeIdentifiers(ctx, cur, &next, added)
	if err != nil {
		return nil, publicError(err)
	}
	return out, nil
}

// RemovePhone drops the user's phone number phoneID and frees it, as
// SetIdentifiers does. The last identifier of a user is refused (422
// form_param_value_invalid): an account must keep a way to be found.
func (s *Service) RemovePhone(ctx context.Context, id, phoneID string) (*User, error) {
	cur, err := s.currentRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	next := *cur
	next.Phones = slices.DeleteFunc(slices.Clone(cur.Phones), func(p Identification) bool { return p.ID == phoneID })
	switch {
	case len(next.Phones) == len(cur.Phones):
		return nil, fmt.Errorf("phone %s: %w", phoneID, ErrNotFound)
	case len(next.Phones)+len(next.Emails) == 0 && next.Username == "":
		return nil, ErrLastIdentifier
	}
	// Written over cur itself (changeIdentifiers refuses if the
	// identifiers changed since it was read), so that a number added
	// meanwhile is not dropped with this one.
	out, err := s.changeIdentifiers(ctx, cur, &next, nil)
	if err != nil {
		return nil, publicError(err)
	}
	_, removed := diffIdents(cur.idents(), next.idents())
	if err := s.releaseHeld(ctx, id, removed); err != nil {
		return out, fmt.Errorf("phone %s of %s removed, but freeing it failed (left for Repair): %w", phoneID, id, err)
	}
	return out, nil
}

// ErrLastIdentifier refuses removing the last identifier of a user.
var ErrLastIdentifier = apierr.FormParamValueInvalid.WithParam("id").
	WithLongMessage("You cannot remove the last email address or phone number of your account.")
