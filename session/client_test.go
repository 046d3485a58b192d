package session_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/authgate/authgate/session"
)

// A signed-in client goes by a new token: the old one finds nothing, the
// new one finds the same client with its session (issue 9 §2).
func TestCreateRotatesTheClientToken(t *testing.T) {
	ctx := context.Background()
	m, _ := newManager(t)
	c, old := newClient(t, m)
	if c.RotatedToken() != "" {
		t.Fatal("a new client claims a rotation")
	}
	s, err := m.Create(ctx, c, session.NewSession{UserID: "user_1"})
	if err != nil {
		t.Fatal(err)
	}
	tok := c.RotatedToken()
	if tok == "" || tok == old {
		t.Fatalf("sign-in kept the token (rotated %q)", tok)
	}
	if _, err := m.Client(ctx, old); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("the token from before the sign-in still finds the client: %v", err)
	}
	got, err := m.Client(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != c.ID || got.LastActiveSessionID != s.ID || !slices.Equal(got.SessionIDs, []string{s.ID}) {
		t.Fatalf("rotated client %+v, want id %s with session %s", got, c.ID, s.ID)
	}
	if got.RotatedToken() != "" {
		t.Fatal("a client loaded by its token claims a rotation")
	}
	// Updating the rotated client in the same request writes the new key
	// and keeps the token the response must still send.
	if _, err := m.SetActive(ctx, c, s.ID); err != nil {
		t.Fatal(err)
	}
	if c.RotatedToken() != tok {
		t.Fatalf("an update lost the rotated token: %q", c.RotatedToken())
	}
}

func TestRotateKeepsTheClientAndKillsTheOldToken(t *testing.T) {
	ctx := context.Background()
	m, _ := newManager(t)
	c, list := signedInClient(t, m, 2)
	before := c.RotatedToken()
	tok, err := m.Rotate(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if tok == before || tok != c.RotatedToken() {
		t.Fatalf("Rotate returned %q, client has %q, before %q", tok, c.RotatedToken(), before)
	}
	if _, err := m.Client(ctx, before); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("the old token still finds the client: %v", err)
	}
	got, err := m.Client(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != c.ID || got.LastActiveSessionID != list[1].ID || len(got.SessionIDs) != 2 {
		t.Fatalf("rotated client %+v", got)
	}
	// A client found through a dead token cannot be rotated (or updated)
	// back to life.
	stale := *got
	if _, err := m.Rotate(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Rotate(ctx, &stale); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("rotating through a dead token: %v", err)
	}
	if err := m.UpdateClient(ctx, &stale, func(*session.Client) {}); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("updating through a dead token: %v", err)
	}
}
