package signup

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/ids"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/users"
)

// Create starts a sign-up attempt for the caller's client and makes it the
// client's current one. The password is checked against the rules (the
// breach check included) and hashed now. Whether the email address or
// phone number already has an account is not looked at: every answer up
// to the code is the same for a new and a known identifier.
func (s *Service) Create(ctx context.Context, rq Request, p CreateParams) (*Result, error) {
	if !s.cfg.Enabled {
		return nil, ErrDisabled
	}
	if rq.Client == nil {
		return nil, ErrNotFound
	}
	if err := s.limits.request(ctx, actionCreate, rq.IP); err != nil {
		return nil, err
	}
	if p.Strategy != "" && p.Strategy != StrategyEmailCode && p.Strategy != StrategyPhoneCode {
		return nil, errStrategy()
	}
	now := s.stamp()
	a := &Attempt{
		ID: ids.New(idPrefix), ClientID: rq.Client.ID, Status: StatusMissingRequirements,
		CreatedAt: now, AbandonAt: now.Add(s.cfg.Limits.AttemptLifetime),
	}
	ch := changes{email: given(p.EmailAddress), phone: given(p.PhoneNumber), username: given(p.Username), password: given(p.Password)}
	if err := s.apply(ctx, a, ch); err != nil {
		return nil, err
	}
	if err := s.save(ctx, a); err != nil {
		return nil, err
	}
	if err := s.attach(ctx, rq, a); err != nil {
		return nil, err
	}
	s.emit(ctx, "sign_up", zap.String("result", "started"), zap.String("sign_up_id", a.ID))
	return s.result(a), nil
}

// Get loads a sign-up attempt of the caller's client.
func (s *Service) Get(ctx context.Context, rq Request, id string) (*Result, error) {
	if !s.cfg.Enabled {
		return nil, ErrDisabled
	}
	a, err := s.load(ctx, rq, id)
	if err != nil {
		return nil, err
	}
	return s.result(a), nil
}

// Update changes the fields of an attempt that is not complete (PATCH).
// A changed email address or phone number starts its verification over:
// a code sent to the old one is bound to it and verifies nothing else.
// When nothing is missing any more it completes the sign-up (complete.go).
func (s *Service) Update(ctx context.Context, rq Request, id string, p UpdateParams) (*Result, error) {
	if !s.cfg.Enabled {
		return nil, ErrDisabled
	}
	if err := s.limits.request(ctx, actionUpdate, rq.IP); err != nil {
		return nil, err
	}
	a, err := s.load(ctx, rq, id)
	if err != nil {
		return nil, err
	}
	if a.Status == StatusComplete {
		return nil, errComplete
	}
	// The checks (and the password's hashing) run on a copy outside the
	// store update, which only writes the result if nothing finished the
	// attempt meanwhile.
	next := *a
	ch := changes{email: p.EmailAddress, phone: p.PhoneNumber, username: p.Username, password: p.Password}
	if err := s.apply(ctx, &next, ch); err != nil {
		return nil, err
	}
	out, err := s.change(ctx, a, func(cur *Attempt) error {
		if cur.Status == StatusComplete {
			return errComplete
		}
		changed(a, &next, cur)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A PATCH that brings the last missing field (a required username
	// after the code) completes the sign-up, as Clerk's does.
	return s.finish(ctx, rq, out)
}

// changed copies into cur (the stored attempt) the fields that next
// changed from a (what the PATCH read), and only those: a code verified
// meanwhile by a concurrent request stays verified.
func changed(a, next, cur *Attempt) {
	if next.EmailAddress != a.EmailAddress {
		cur.EmailAddress, cur.Email = next.EmailAddress, next.Email
	}
	if next.PhoneNumber != a.PhoneNumber {
		cur.PhoneNumber, cur.Phone = next.PhoneNumber, next.Phone
	}
	if next.Username != a.Username {
		cur.Username = next.Username
	}
	if next.PasswordDigest != a.PasswordDigest {
		cur.PasswordDigest = next.PasswordDigest
	}
}

var errComplete = apierr.ClientStateInvalid.WithLongMessage("This sign-up is already complete.")

func errStrategy() error {
	return apierr.FormParamValueInvalid.WithParam("strategy").
		WithLongMessage("strategy must be email_code or phone_code.")
}

// changes are the fields a create or PATCH sets (nil: left alone).
type changes struct {
	email, phone, username, password *string
}

// given is the change of a create's field: set when not empty.
func given(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

// apply sets the changed fields of a, each checked: identifiers first, so
// that a new password is compared with the identifiers it goes with. A
// password kept from before is only a hash, which cannot be compared with
// a new email address or phone number (the rules compare
// case-insensitively, with an email's local part, and rate the strength
// against the identifiers): changing either without a new password drops
// it, and it is asked for again (missing_fields). A username added later
// (Clerk's progressive sign-up: the code first, then the missing
// username) keeps the password; that one pair goes unchecked.
func (s *Service) apply(ctx context.Context, a *Attempt, ch changes) error {
	before := [2]string{a.EmailAddress, a.PhoneNumber}
	defer func() {
		if ch.password == nil && before != [2]string{a.EmailAddress, a.PhoneNumber} {
			a.PasswordDigest = ""
		}
	}()
	if ch.email != nil {
		if err := s.setIdentifier(a, users.KindEmail, *ch.email); err != nil {
			return err
		}
	}
	if ch.phone != nil {
		if err := s.setIdentifier(a, users.KindPhone, *ch.phone); err != nil {
			return err
		}
	}
	if ch.username != nil {
		if err := s.setUsername(ctx, a, *ch.username); err != nil {
			return err
		}
	}
	if ch.password != nil {
		return s.setPassword(ctx, a, *ch.password)
	}
	return nil
}

// setIdentifier sets (or with "" clears) the email address or phone
// number. A new value gets a new, unverified verification.
func (s *Service) setIdentifier(a *Attempt, k users.Kind, raw string) error {
	if raw == "" {
		a.setVerification(k, nil)
		s.setValue(a, k, "")
		return nil
	}
	if !s.kindOn(k) {
		return apierr.FormParamValueInvalid.WithParam(string(k)).
			WithLongMessage("Signing up with a " + kindWords(k) + " is not enabled.")
	}
	norm := users.NormalizeEmail
	strategy := StrategyEmailCode
	if k == users.KindPhone {
		norm, strategy = users.NormalizePhone, StrategyPhoneCode
	}
	v, err := norm(raw)
	if err != nil {
		return err
	}
	if k == users.KindPhone {
		if _, err := s.phoneRegion(v); err != nil {
			return err
		}
	}
	if _, cur := a.verification(k); cur == v {
		return nil
	}
	s.setValue(a, k, v)
	a.setVerification(k, &Verification{Strategy: strategy, Status: signin.VerUnverified})
	return nil
}

func (s *Service) setValue(a *Attempt, k users.Kind, v string) {
	if k == users.KindPhone {
		a.PhoneNumber = v
	} else {
		a.EmailAddress = v
	}
}

func (s *Service) kindOn(k users.Kind) bool {
	for _, x := range s.cfg.identifierKinds() {
		if x == k {
			return true
		}
	}
	return false
}

func kindWords(k users.Kind) string {
	if k == users.KindPhone {
		return "phone number"
	}
	return "email address"
}

// setUsername sets (or clears) the username. A taken username is told at
// once, as Clerk does: usernames are public names, not contact details,
// and enumeration protection does not cover them.
func (s *Service) setUsername(ctx context.Context, a *Attempt, raw string) error {
	if raw == "" {
		a.Username = ""
		return nil
	}
	if s.cfg.Username == UsernameOff {
		return apierr.FormParamValueInvalid.WithParam(fieldUsername).
			WithLongMessage("Signing up with a username is not enabled.")
	}
	v, err := users.NormalizeUsername(raw)
	if err != nil {
		return err
	}
	_, err = s.users.Find(ctx, users.KindUsername, v)
	switch {
	case err == nil:
		return apierr.FormIdentifierExists.WithParam(fieldUsername).
			WithLongMessage("That username is taken. Please try another.")
	case !errors.Is(err, users.ErrNotFound):
		return err
	}
	a.Username = v
	return nil
}

// setPassword checks a new password with the rules of a reset (length,
// strength, breach, not an identifier) and keeps its hash.
func (s *Service) setPassword(ctx context.Context, a *Attempt, pw string) error {
	if pw == "" {
		a.PasswordDigest = ""
		return nil
	}
	var idents []string
	for _, v := range []string{a.EmailAddress, a.PhoneNumber, a.Username} {
		if v != "" {
			idents = append(idents, v)
		}
	}
	if err := s.pw.Validate(ctx, pw, idents); err != nil {
		return err
	}
	digest, err := s.pw.Hash(ctx, pw)
	if err != nil {
		return fmt.Errorf("hashing password: %w", err)
	}
	a.PasswordDigest = digest
	return nil
}
