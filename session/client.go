package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/authgate/authgate/internal/ids"
	"github.com/authgate/authgate/internal/record"
	"github.com/authgate/authgate/store"
)

// Clients: one per browser, found by the opaque __client cookie token,
// of which only the SHA-256 is stored; a sign-in rotates the token.

// Client is one browser (or API client).
type Client struct {
	ID                  string    `json:"id"`
	SessionIDs          []string  `json:"session_ids,omitempty"`
	SignInID            string    `json:"sign_in_id,omitempty"`
	LastActiveSessionID string    `json:"last_active_session_id,omitempty"`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`
	// key is the store key (derived from the cookie token's hash).
	key string
	// rotated is the cookie token a rotation in this process gave the
	// client (see Rotate); "" while it goes by the token it was found with.
	rotated string
}

// RotatedToken is the new cookie token of a client rotated in this
// process (by Rotate, or Create at a sign-in), which the HTTP layer must
// send to the browser: the token the client was found with is dead. It
// is "" when the client was not rotated.
func (c *Client) RotatedToken() string { return c.rotated }

func clientKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "client:" + hex.EncodeToString(sum[:])
}

// validClientToken bounds what reaches the hash: the cookie is 52
// base32 characters (256 bits).
func validClientToken(t string) bool { return len(t) >= 32 && len(t) <= 128 }

// NewClient creates a client and returns it with the secret cookie token
// that finds it. Only the token's SHA-256 is stored.
func (m *Manager) NewClient(ctx context.Context) (*Client, string, error) {
	token := ids.Random(32)
	now := m.now().UTC().Truncate(time.Millisecond)
	c := &Client{ID: ids.New("client"), CreatedAt: now, UpdatedAt: now, key: clientKey(token)}
	if err := m.putClient(ctx, c); err != nil {
		return nil, "", err
	}
	return c, token, nil
}

// Client finds the client of a cookie token.
func (m *Manager) Client(ctx context.Context, token string) (*Client, error) {
	if !validClientToken(token) {
		return nil, ErrNotFound
	}
	key := clientKey(token)
	c, err := store.GetJSON[Client](ctx, m.st, key, ErrNotFound, "client")
	if err != nil {
		return nil, err
	}
	c.key = key
	return c, nil
}

// UpdateClient applies fn to the stored client atomically; c is updated
// in place to the result.
func (m *Manager) UpdateClient(ctx context.Context, c *Client, fn func(c *Client)) error {
	var out *Client
	err := updateRecord(ctx, m.st, c.key, "client", func(cur *Client) (*Client, time.Duration, error) {
		fn(cur)
		cur.UpdatedAt = m.now().UTC().Truncate(time.Millisecond)
		out = cur
		return cur, m.clientTTL(cur), nil
	})
	if err != nil {
		return err
	}
	out.key, out.rotated = c.key, c.rotated
	*c = *out
	return nil
}

// Rotate gives c a new cookie token and kills the old one at once (Clerk's
// rotating_token): a __client value someone planted in the browser
// before a sign-in must not find the signed-in client afterwards. The
// client keeps its id, sessions and sign-in, so clerk-js sees the same
// client. c is updated in place; the new token is returned and is also
// c.RotatedToken().
func (m *Manager) Rotate(ctx context.Context, c *Client) (string, error) {
	if err := m.rotate(ctx, c, nil); err != nil {
		return "", err
	}
	return c.rotated, nil
}

// rotate moves c to a new token, applying fn (when set) to the record on
// the way. The old key is read and deleted in one atomic step before the
// new one is written: a concurrent request with the old token either
// comes before (and its change moves along) or finds nothing, and no
// state reached through the old token survives the rotation. If the
// write of the new key fails, the client is lost (the browser starts
// over as anonymous), never left reachable through the old token.
func (m *Manager) rotate(ctx context.Context, c *Client, fn func(c *Client)) error {
	var out *Client
	err := updateRecord(ctx, m.st, c.key, "client", func(cur *Client) (*Client, time.Duration, error) {
		out = cur
		return nil, 0, nil // a nil value deletes the old key
	})
	if err != nil {
		return err
	}
	token := ids.Random(32)
	out.key, out.rotated = clientKey(token), token
	if fn != nil {
		fn(out)
	}
	out.UpdatedAt = m.now().UTC().Truncate(time.Millisecond)
	if err := m.putClient(ctx, out); err != nil {
		return err
	}
	*c = *out
	return nil
}

func (m *Manager) putClient(ctx context.Context, c *Client) error {
	return record.Put(ctx, m.st, c.key, "client", c, m.clientTTL(c))
}

// anonymousClientTTL is how long a client without sessions is kept:
// anonymous visitors must not fill the store for a week.
const anonymousClientTTL = time.Hour

// clientTTL keeps a client as long as a session can live once it has
// one, and briefly before.
func (m *Manager) clientTTL(c *Client) time.Duration {
	if len(c.SessionIDs) == 0 {
		return min(anonymousClientTTL, m.lifetime)
	}
	return m.lifetime
}
