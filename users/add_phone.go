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
	var phones []string
	found := false
	for _, p := range cur.Phones {
		if p.ID == phoneID {
			found = true
			continue
		}
		phones = append(phones, p.Value)
	}
	if !found {
		return nil, fmt.Errorf("phone %s: %w", phoneID, ErrNotFound)
	}
	if len(phones)+len(cur.Emails) == 0 && cur.Username == "" {
		return nil, ErrLastIdentifier
	}
	emails := make([]string, 0, len(cur.Emails))
	for _, e := range cur.Emails {
		emails = append(emails, e.Value)
	}
	return s.SetIdentifiers(ctx, id, emails, phones, cur.Username)
}

// ErrLastIdentifier refuses removing the last identifier of a user.
var ErrLastIdentifier = apierr.FormParamValueInvalid.WithParam("id").
	WithLongMessage("You cannot remove the last email address or phone number of your account.")
