// Package session keeps clients (one per browser, found by the opaque
// __client cookie) and sessions (one per sign-in), and decides what a
// session's status and tasks are.
package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/authgate/authgate/internal/ids"
	"github.com/authgate/authgate/internal/record"
	"github.com/authgate/authgate/store"
)

// Session statuses (Clerk's names).
const (
	StatusActive  = "active"
	StatusPending = "pending"
	StatusEnded   = "ended"
	StatusRemoved = "removed"
	StatusRevoked = "revoked"
	StatusExpired = "expired"
)

// Session is one signed-in session of a user on a client.
type Session struct {
	ID           string    `json:"id"`
	ClientID     string    `json:"client_id"`
	UserID       string    `json:"user_id"`
	Status       string    `json:"status"`
	Tasks        []string  `json:"tasks,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	LastActiveAt time.Time `json:"last_active_at"`
	ExpireAt     time.Time `json:"expire_at"`
	// FirstFactorAt is when the user last proved a first factor on this
	// session (signing in, or a reverification); zero for sessions from
	// before it was recorded (FirstFactorVerifiedAt falls back to
	// CreatedAt). SecondFactorAt is when they proved a second factor;
	// zero: never.
	FirstFactorAt  time.Time `json:"first_factor_at,omitzero"`
	SecondFactorAt time.Time `json:"second_factor_at,omitzero"`
}

// FirstFactorVerifiedAt is when the user last proved a first factor on
// the session.
func (s *Session) FirstFactorVerifiedAt() time.Time {
	if s.FirstFactorAt.IsZero() {
		return s.CreatedAt
	}
	return s.FirstFactorAt
}

// NewSession describes a session to create: whose, with which tasks (a
// session with tasks is pending), and whether the sign-in proved a second
// factor.
type NewSession struct {
	UserID       string
	Tasks        []string
	SecondFactor bool
}

// SignedIn reports whether the session may be used (active or pending)
// at time now.
func (s *Session) SignedIn(now time.Time) bool {
	return (s.Status == StatusActive || s.Status == StatusPending) && now.Before(s.ExpireAt)
}

// ErrNotFound is returned for unknown, expired or foreign ids.
var ErrNotFound = errors.New("session: not found")

// Manager reads and writes clients and sessions.
type Manager struct {
	st       store.Store
	lifetime time.Duration
	now      func() time.Time
}

// NewManager returns a manager; lifetime is the maximum session lifetime.
func NewManager(st store.Store, lifetime time.Duration, now func() time.Time) *Manager {
	if now == nil {
		now = time.Now
	}
	return &Manager{st: st, lifetime: lifetime, now: now}
}

// Lifetime is the maximum session lifetime.
func (m *Manager) Lifetime() time.Duration { return m.lifetime }

func sessionKey(id string) string       { return "sess:" + id }
func userSessionsKey(uid string) string { return "usess:" + uid }

// Create starts a session on client c for ns.UserID, with ns.Tasks (a
// session with tasks is pending), and makes it the client's active one.
// The sign-in that creates it has just proved a first factor (and a second
// when ns.SecondFactor).
// Signing in rotates the client (see Rotate) in the same step that
// attaches the session, so every sign-in path gets a new handle and the
// old one never sees the session: c.RotatedToken() is the cookie to send.
func (m *Manager) Create(ctx context.Context, c *Client, ns NewSession) (*Session, error) {
	now := m.now().UTC().Truncate(time.Millisecond)
	userID := ns.UserID
	s := &Session{
		ID: ids.New("sess"), ClientID: c.ID, UserID: userID, Status: StatusActive,
		CreatedAt: now, UpdatedAt: now, LastActiveAt: now, ExpireAt: now.Add(m.lifetime),
		FirstFactorAt: now,
	}
	if ns.SecondFactor {
		s.SecondFactorAt = now
	}
	if len(ns.Tasks) > 0 {
		s.Status = StatusPending
		s.Tasks = slices.Clone(ns.Tasks)
	}
	if err := record.Put(ctx, m.st, sessionKey(s.ID), "session", s, m.lifetime); err != nil {
		return nil, err
	}
	if err := m.st.AddMember(ctx, userSessionsKey(userID), s.ID, m.lifetime); err != nil {
		return nil, fmt.Errorf("indexing session: %w", err)
	}
	err := m.rotate(ctx, c, func(c *Client) {
		// Keep the client's list short: drop sessions that are gone.
		c.SessionIDs = append(slices.DeleteFunc(c.SessionIDs, func(id string) bool { return id == s.ID }), s.ID)
		if len(c.SessionIDs) > 10 {
			c.SessionIDs = c.SessionIDs[len(c.SessionIDs)-10:]
		}
		c.LastActiveSessionID = s.ID
		c.SignInID = ""
	})
	if err != nil {
		return nil, fmt.Errorf("attaching session to client: %w", err)
	}
	return s, nil
}

// Get reads a session (any status), or ErrNotFound.
func (m *Manager) Get(ctx context.Context, id string) (*Session, error) {
	if !ids.Valid("sess", id) {
		return nil, ErrNotFound
	}
	s, err := store.GetJSON[Session](ctx, m.st, sessionKey(id), ErrNotFound, "session")
	if err != nil {
		return nil, err
	}
	if s.SignedIn(time.Time{}) && !m.now().Before(s.ExpireAt) {
		s.Status = StatusExpired
	}
	return s, nil
}

// Update applies fn to a stored session atomically.
func (m *Manager) Update(ctx context.Context, id string, fn func(s *Session) error) (*Session, error) {
	if !ids.Valid("sess", id) {
		return nil, ErrNotFound
	}
	var out *Session
	err := updateRecord(ctx, m.st, sessionKey(id), "session", func(s *Session) (*Session, time.Duration, error) {
		if err := fn(s); err != nil {
			return nil, 0, err
		}
		now := m.now().UTC().Truncate(time.Millisecond)
		s.UpdatedAt = now
		ttl := s.ExpireAt.Sub(now)
		if ttl <= 0 {
			return nil, 0, nil // gone for good
		}
		out = s
		return s, ttl, nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, ErrNotFound
	}
	return out, nil
}

// updateRecord changes the JSON record at key with next (a nil next
// value deletes the key) in one atomic store update; a missing record is
// ErrNotFound. The store may call next more than once when it loses a
// race, each time with a freshly decoded record.
func updateRecord[T any](ctx context.Context, st store.Store, key, what string, next func(v *T) (*T, time.Duration, error)) error {
	return record.Update(ctx, st, key, what, func(v *T, exists bool) (*T, time.Duration, error) {
		if !exists {
			return nil, 0, ErrNotFound
		}
		return next(v)
	})
}

// End moves a signed-in session to status (ended, removed or revoked).
// Ending a session that is already over is not an error.
func (m *Manager) End(ctx context.Context, id, status string) (*Session, error) {
	return m.Update(ctx, id, func(s *Session) error {
		if s.Status == StatusActive || s.Status == StatusPending {
			s.Status = status
			s.Tasks = nil
		}
		return nil
	})
}

// CompleteTask removes task from a session; a session with no tasks left
// becomes active.
func (m *Manager) CompleteTask(ctx context.Context, id, task string) (*Session, error) {
	return m.updateSignedIn(ctx, id, func(s *Session) {
		s.Tasks = slices.DeleteFunc(s.Tasks, func(t string) bool { return t == task })
		if len(s.Tasks) == 0 {
			s.Tasks = nil
			s.Status = StatusActive
		}
	})
}

// Reverified records that the session's user proved a first factor again
// just now (Clerk's session reverification), which adding or removing a
// second factor asks for.
func (m *Manager) Reverified(ctx context.Context, id string) (*Session, error) {
	return m.updateSignedIn(ctx, id, func(s *Session) {
		s.FirstFactorAt = m.now().UTC().Truncate(time.Millisecond)
	})
}

// Touch records activity on a session.
func (m *Manager) Touch(ctx context.Context, id string) (*Session, error) {
	return m.updateSignedIn(ctx, id, func(s *Session) {
		s.LastActiveAt = m.now().UTC().Truncate(time.Millisecond)
	})
}

// updateSignedIn is Update for a change that only a signed-in session
// takes: one that is over is ErrNotFound, checked inside the atomic
// update so that a concurrent sign-out is not undone.
func (m *Manager) updateSignedIn(ctx context.Context, id string, fn func(s *Session)) (*Session, error) {
	return m.Update(ctx, id, func(s *Session) error {
		if !s.SignedIn(m.now()) {
			return ErrNotFound
		}
		fn(s)
		return nil
	})
}

// ListByUser returns the user's sessions that still exist in the store.
func (m *Manager) ListByUser(ctx context.Context, userID string) ([]*Session, error) {
	sids, err := m.st.Members(ctx, userSessionsKey(userID))
	if err != nil {
		return nil, fmt.Errorf("listing sessions: %w", err)
	}
	slices.Sort(sids)
	out := make([]*Session, 0, len(sids))
	var gone []string
	for _, id := range sids {
		s, err := m.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			gone = append(gone, id)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(gone) > 0 {
		_ = m.st.RemoveMember(ctx, userSessionsKey(userID), gone...) // best-effort cleanup
	}
	slices.SortFunc(out, func(a, b *Session) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// RevokeUser revokes every signed-in session of the user except keep
// (which may be ""), and returns how many it revoked.
func (m *Manager) RevokeUser(ctx context.Context, userID, keep string) (int, error) {
	return m.eachSignedIn(ctx, userID, keep, "revoking", func(id string) error {
		_, err := m.End(ctx, id, StatusRevoked)
		return err
	})
}

// RequireTask adds task to every signed-in session of the user: active
// sessions become pending at their next token refresh. It returns how
// many sessions were signed in when it listed them, counting those that
// already had the task and those that ended meanwhile (so not how many
// it changed).
func (m *Manager) RequireTask(ctx context.Context, userID, task string) (int, error) {
	return m.eachSignedIn(ctx, userID, "", "adding task to", func(id string) error {
		_, err := m.Update(ctx, id, func(s *Session) error {
			if !s.SignedIn(m.now()) || slices.Contains(s.Tasks, task) {
				return nil
			}
			s.Tasks = append(s.Tasks, task)
			s.Status = StatusPending
			return nil
		})
		return err
	})
}

// eachSignedIn applies fn to every session of the user that is signed in
// when listed, except keep, and counts them; a session that ends in
// between (fn fails with ErrNotFound) still counts. The first other error
// stops it, prefixed with doing and the session's id.
func (m *Manager) eachSignedIn(ctx context.Context, userID, keep, doing string, fn func(id string) error) (int, error) {
	list, err := m.ListByUser(ctx, userID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range list {
		if s.ID == keep || !s.SignedIn(m.now()) {
			continue
		}
		if err := fn(s.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return n, fmt.Errorf("%s session %s: %w", doing, s.ID, err)
		}
		n++
	}
	return n, nil
}

// SetActive records activity on a signed-in session of c and makes it the
// client's active one (Clerk's "touch"). c is updated in place.
func (m *Manager) SetActive(ctx context.Context, c *Client, id string) (*Session, error) {
	s, err := m.Touch(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := m.UpdateClient(ctx, c, func(c *Client) { c.LastActiveSessionID = s.ID }); err != nil {
		return nil, err
	}
	return s, nil
}

// SignOut ends one session of c with status (ended or removed) and
// updates the client: a removed session leaves the client's list, and
// the client no longer names it as active. c is updated in place. Once
// the session has ended it is returned, also with an error updating the
// client, so that the caller can forget it wherever it cached it.
func (m *Manager) SignOut(ctx context.Context, c *Client, id, status string) (*Session, error) {
	s, err := m.End(ctx, id, status)
	if err != nil {
		return nil, err
	}
	err = m.UpdateClient(ctx, c, func(c *Client) {
		if status == StatusRemoved {
			c.SessionIDs = slices.DeleteFunc(c.SessionIDs, func(sid string) bool { return sid == s.ID })
		}
		if c.LastActiveSessionID == s.ID {
			c.LastActiveSessionID = ""
		}
	})
	return s, err
}

// SignOutClient ends every session of c (sessions already gone are
// skipped) and clears the client: no sessions, no active session, no
// sign-in in progress. It returns the sessions it ended, also with an
// error, so that the caller can forget them wherever it cached them.
func (m *Manager) SignOutClient(ctx context.Context, c *Client) ([]*Session, error) {
	var ended []*Session
	for _, id := range c.SessionIDs {
		s, err := m.End(ctx, id, StatusEnded)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return ended, err
		}
		ended = append(ended, s)
	}
	err := m.UpdateClient(ctx, c, func(c *Client) {
		c.SessionIDs, c.LastActiveSessionID, c.SignInID = nil, "", ""
	})
	return ended, err
}

// ClientSessions returns the client's sessions that still exist.
func (m *Manager) ClientSessions(ctx context.Context, c *Client) ([]*Session, error) {
	out := make([]*Session, 0, len(c.SessionIDs))
	for _, id := range c.SessionIDs {
		s, err := m.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if s.ClientID != c.ID {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// ActiveSession returns the client's last active session if it is still
// signed in, or ErrNotFound.
func (m *Manager) ActiveSession(ctx context.Context, c *Client) (*Session, error) {
	if c.LastActiveSessionID == "" {
		return nil, ErrNotFound
	}
	s, err := m.Get(ctx, c.LastActiveSessionID)
	if err != nil {
		return nil, err
	}
	if s.ClientID != c.ID || !s.SignedIn(m.now()) {
		return nil, ErrNotFound
	}
	return s, nil
}
