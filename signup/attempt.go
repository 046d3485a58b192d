package signup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authgate/authgate/internal/ids"
	"github.com/authgate/authgate/internal/record"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/users"
)

// Status is a sign-up attempt's status (Clerk's SignUp.status).
type Status string

// Statuses of a sign-up attempt. Clerk also has "abandoned"; an
// abandoned attempt here is simply gone (its store entry expired).
const (
	StatusMissingRequirements Status = "missing_requirements"
	StatusComplete            Status = "complete"
)

// Attempt is a stored sign-up attempt. It never says whether its email
// address or phone number already has an account: that is looked up when
// a code is sent, and kept only in the (then unmatchable) stored code.
type Attempt struct {
	ID       string `json:"id"`
	ClientID string `json:"client_id"`
	Status   Status `json:"status"`
	// EmailAddress and PhoneNumber are normalized (E.164 for a phone).
	EmailAddress string `json:"email_address,omitempty"`
	PhoneNumber  string `json:"phone_number,omitempty"`
	Username     string `json:"username,omitempty"`
	// PasswordDigest is the new password's hash (argon2id), checked
	// against the rules when it was given; the user gets it as is.
	PasswordDigest string `json:"password_digest,omitempty"`
	// Email and Phone are the verifications of EmailAddress and
	// PhoneNumber (nil: no identifier of that kind).
	Email *Verification `json:"email_verification,omitempty"`
	Phone *Verification `json:"phone_verification,omitempty"`

	CreatedUserID    string    `json:"created_user_id,omitempty"`
	CreatedSessionID string    `json:"created_session_id,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	AbandonAt        time.Time `json:"abandon_at"`
}

// Verification is the code verification of one identifier. Its Status is
// one of Clerk's Verification statuses, a sign-in's too (signin.VerUnverified
// and the rest). Strategy is set from the start (email_code or
// phone_code); Prepared says a code was sent (Clerk's next_action:
// needs_prepare, then needs_attempt).
type Verification struct {
	Strategy string    `json:"strategy"`
	Status   string    `json:"status"`
	Prepared bool      `json:"prepared,omitempty"`
	Attempts int       `json:"attempts"`
	ExpireAt time.Time `json:"expire_at,omitzero"`
}

// HasPassword reports whether a password was given (Clerk's has_password).
func (a *Attempt) HasPassword() bool { return a.PasswordDigest != "" }

// verification is the attempt's verification of kind k and the
// identifier it verifies ("" if none).
func (a *Attempt) verification(k users.Kind) (*Verification, string) {
	if k == users.KindPhone {
		return a.Phone, a.PhoneNumber
	}
	return a.Email, a.EmailAddress
}

func (a *Attempt) setVerification(k users.Kind, v *Verification) {
	if k == users.KindPhone {
		a.Phone = v
	} else {
		a.Email = v
	}
}

// verified reports whether the identifier of kind k is present and
// verified.
func (a *Attempt) verified(k users.Kind) bool {
	v, ident := a.verification(k)
	return ident != "" && v != nil && v.Status == signin.VerVerified
}

// margin keeps stored entries a little longer than their logical
// lifetime, so that expiry is decided by the (injectable) clock.
const margin = time.Minute

func attemptKey(id string) string       { return "sua:" + id }
func currentKey(clientID string) string { return "suacur:" + clientID }
func codeKey(id string, k users.Kind) string {
	return "suacode:" + id + ":" + string(k)
}
func triesKey(id string, k users.Kind) string {
	return "suatries:" + id + ":" + string(k)
}
func resendKey(id string, k users.Kind) string {
	return "suaresend:" + id + ":" + string(k)
}

// idPrefix is the prefix of sign-up ids (Clerk's sua_).
const idPrefix = "sua"

func (s *Service) ttl(a *Attempt) time.Duration { return a.AbandonAt.Sub(s.now()) + margin }

// stamp is the time now as the attempt records it (UTC, to the
// millisecond, as Clerk's timestamps are).
func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// save stores the attempt.
func (s *Service) save(ctx context.Context, a *Attempt) error {
	a.UpdatedAt = s.stamp()
	return record.Put(ctx, s.st, attemptKey(a.ID), "sign-up", a, s.ttl(a))
}

// load reads an attempt of the caller's client; another client's, an
// expired or a malformed id are all "not found".
func (s *Service) load(ctx context.Context, rq Request, id string) (*Attempt, error) {
	if rq.Client == nil || !ids.Valid(idPrefix, id) {
		return nil, ErrNotFound
	}
	a, err := store.GetJSON[Attempt](ctx, s.st, attemptKey(id), ErrNotFound, "sign-up")
	if err != nil {
		return nil, err
	}
	if a.ClientID != rq.Client.ID || !s.now().Before(a.AbandonAt) {
		return nil, ErrNotFound
	}
	return a, nil
}

// change applies fn to the stored attempt in one atomic update and
// returns the result, so that concurrent requests on one attempt (two
// right codes, a code and a PATCH) do not overwrite each other.
func (s *Service) change(ctx context.Context, a *Attempt, fn func(cur *Attempt) error) (*Attempt, error) {
	out := new(Attempt)
	err := record.Update(ctx, s.st, attemptKey(a.ID), "sign-up", func(stored *Attempt, exists bool) (*Attempt, time.Duration, error) {
		if !exists {
			return nil, 0, ErrNotFound
		}
		if err := fn(stored); err != nil {
			return nil, 0, err
		}
		stored.UpdatedAt = s.stamp()
		*out = *stored
		return stored, s.ttl(stored), nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// attach makes a the client's current sign-up (the client JSON's
// sign_up). It is kept here rather than in the client record: sign-up is
// optional, and the client's owner (session) need not know about it.
func (s *Service) attach(ctx context.Context, rq Request, a *Attempt) error {
	if err := s.st.Put(ctx, currentKey(rq.Client.ID), []byte(a.ID), s.ttl(a)); err != nil {
		return fmt.Errorf("attaching sign-up to client: %w", err)
	}
	return nil
}

// Current is the client's sign-up in progress (nil if none or complete),
// for the client JSON's sign_up. With sign-up off it is always nil.
func (s *Service) Current(ctx context.Context, rq Request) (*Result, error) {
	if !s.cfg.Enabled || rq.Client == nil {
		return nil, nil
	}
	id, err := s.st.Get(ctx, currentKey(rq.Client.ID))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the client's sign-up: %w", err)
	}
	a, err := s.load(ctx, rq, string(id))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if a.Status == StatusComplete {
		return nil, nil
	}
	return s.result(a), nil
}
