package signin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/ids"
	"github.com/authgate/authgate/internal/record"
	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/users"
)

// Sign-in statuses.
const (
	StatusNeedsIdentifier   = "needs_identifier"
	StatusNeedsFirstFactor  = "needs_first_factor"
	StatusNeedsSecondFactor = "needs_second_factor"
	StatusNeedsNewPassword  = "needs_new_password"
	StatusComplete          = "complete"
)

// Verification statuses.
const (
	VerUnverified = "unverified"
	VerVerified   = "verified"
	VerFailed     = "failed"
	VerExpired    = "expired"
)

// Verification is the verification of one factor of an attempt.
type Verification struct {
	Strategy string    `json:"strategy"`
	Status   string    `json:"status"`
	TargetID string    `json:"target_id,omitempty"`
	Target   string    `json:"target,omitempty"`
	Attempts int       `json:"attempts"`
	ExpireAt time.Time `json:"expire_at"`
}

// Attempt is a stored sign-in attempt.
type Attempt struct {
	ID         string     `json:"id"`
	ClientID   string     `json:"client_id"`
	Status     string     `json:"status"`
	Identifier string     `json:"identifier,omitempty"`
	Kind       users.Kind `json:"kind,omitempty"`
	UserID     string     `json:"user_id,omitempty"`
	Fake       bool       `json:"fake,omitempty"`
	// PasswordVerified is set when the (compromised) password was right:
	// the identity is known, so every factor of the user is offered.
	PasswordVerified bool          `json:"password_verified,omitempty"`
	FakeID           string        `json:"fake_id,omitempty"`
	Verification     *Verification `json:"verification,omitempty"`
	// SecondVerification is the second factor's, once the first is
	// verified for a user who has one.
	SecondVerification *Verification `json:"second_verification,omitempty"`
	CreatedSessionID   string        `json:"created_session_id,omitempty"`
	CreatedAt          time.Time     `json:"created_at"`
	AbandonAt          time.Time     `json:"abandon_at"`
}

// verificationOf is the attempt's verification of st's step (nil before
// it starts).
func (a *Attempt) verificationOf(st *strategy) *Verification {
	if st.second {
		return a.SecondVerification
	}
	return a.Verification
}

// setVerification starts the verification of st's step.
func (a *Attempt) setVerification(st *strategy, v *Verification) {
	if st.second {
		a.SecondVerification = v
	} else {
		a.Verification = v
	}
}

// Store keys of an attempt and of what hangs off it. Every one expires
// with the attempt (or sooner), so nothing outlives an abandoned sign-in.
func attemptKey(id string) string           { return "sia:" + id }
func codeKey(attemptID string) string       { return "code:" + attemptID }
func codeFailKey(attemptID string) string   { return "codefail:" + attemptID }
func resendKey(attemptID string) string     { return "resend:" + attemptID }
func resetClaimKey(attemptID string) string { return "resetclaim:" + attemptID }
func doneClaimKey(attemptID string) string  { return "doneclaim:" + attemptID }

// margin keeps stored codes a little longer than their logical TTL so
// that expiry is decided by the (injectable) clock, not by the store.
const margin = time.Minute

// Request carries what the HTTP layer knows about the caller.
type Request struct {
	Client *session.Client
	IP     string
}

// Result is an attempt with the user behind it (nil for unknown users).
type Result struct {
	Attempt *Attempt
	User    *users.User
	Session *session.Session
	// SecondFactors are what the user may finish signing in with once the
	// first factor is verified (supported_second_factors); set while the
	// attempt needs its second factor. None: the first factor is enough.
	SecondFactors []SecondFactor

	// mfa is the user's second factors (phones limited to the user's own)
	// once loaded (loaded is set).
	mfa    mfa.Status
	loaded bool
}

// SecondFactor is one way to finish a sign-in: an authenticator app, a
// backup code, or an SMS code to one of the user's phones.
type SecondFactor struct {
	Strategy string
	// PhoneNumberID and SafeIdentifier (masked) name the phone of a
	// phone_code factor.
	PhoneNumberID  string
	SafeIdentifier string
	Primary        bool
}

// ErrNotFound is returned for unknown or foreign sign-in ids.
var ErrNotFound = apierr.ResourceNotFound.WithLongMessage("No sign in was found with this id.")

// Get loads an attempt of the caller's client.
func (s *Service) Get(ctx context.Context, rq Request, id string) (*Result, error) {
	if !ids.Valid("sia", id) {
		return nil, ErrNotFound
	}
	a, err := store.GetJSON[Attempt](ctx, s.st, attemptKey(id), ErrNotFound, "sign-in")
	if err != nil {
		return nil, err
	}
	if a.ClientID != rq.Client.ID || !s.now().Before(a.AbandonAt) {
		return nil, ErrNotFound
	}
	res := &Result{Attempt: a}
	if a.Fake {
		// The read a known identifier's user costs; it finds nothing.
		if _, err := s.users.Get(ctx, macUserID(a)); err != nil && !errors.Is(err, users.ErrNotFound) {
			return nil, err
		}
	} else if a.UserID != "" {
		u, err := s.users.Get(ctx, a.UserID)
		if errors.Is(err, users.ErrNotFound) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		res.User = u
	}
	if a.CreatedSessionID != "" {
		if sess, err := s.sessions.Get(ctx, a.CreatedSessionID); err == nil && sess.SignedIn(s.now()) {
			res.Session = sess
		}
	}
	if a.Status == StatusNeedsSecondFactor {
		if err := s.loadSecondFactors(ctx, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (s *Service) save(ctx context.Context, a *Attempt) error {
	return record.Put(ctx, s.st, attemptKey(a.ID), "sign-in", a, s.ttl(a))
}

// ttl is how long the store keeps an attempt: a margin past the time it
// is abandoned, which the clock decides.
func (s *Service) ttl(a *Attempt) time.Duration { return a.AbandonAt.Sub(s.now()) + margin }

// stamp is the time now as attempts and codes record it (UTC, to the
// millisecond, as Clerk's timestamps are).
func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// recordCodeFailure stores the try count (and the failed status) in the
// attempt and copies the stored verification into a. It updates only the
// counters: a concurrent request that used the right code may have
// completed the attempt meanwhile, which it reports as advanced.
func (s *Service) recordCodeFailure(ctx context.Context, a *Attempt, st *strategy, n int64, failed bool) (advanced bool, err error) {
	err = record.Update(ctx, s.st, attemptKey(a.ID), "sign-in", func(stored *Attempt, exists bool) (*Attempt, time.Duration, error) {
		if !exists {
			return nil, 0, ErrNotFound
		}
		v, mine := stored.verificationOf(st), a.verificationOf(st)
		if stored.Status != st.awaits() || (v == nil && !st.second) {
			advanced = true
			return stored, s.ttl(stored), nil
		}
		if st.second && (v == nil || v.Strategy != mine.Strategy) {
			// An authenticator or backup code needs nothing prepared: this
			// request started its verification, which is stored now, with
			// the step's tries so far.
			cp := *mine
			if v != nil {
				cp.Attempts = max(cp.Attempts, v.Attempts)
			}
			v = &cp
			stored.setVerification(st, v)
		}
		v.Attempts = max(v.Attempts, int(n))
		if failed {
			v.Status = VerFailed
		}
		*mine = *v
		return stored, s.ttl(stored), nil
	})
	if err != nil {
		return false, fmt.Errorf("recording code failure: %w", err)
	}
	return advanced, nil
}

// Mask hides most of an email address or phone number.
func Mask(kind users.Kind, v string) string {
	switch kind {
	case users.KindEmail:
		at := strings.LastIndexByte(v, '@')
		if at < 1 {
			return "*****"
		}
		return v[:1] + "*****" + v[at:]
	case users.KindPhone:
		if len(v) < 6 {
			return "********"
		}
		return v[:3] + strings.Repeat("*", len(v)-5) + v[len(v)-2:]
	}
	return v
}
