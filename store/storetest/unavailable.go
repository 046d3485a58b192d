package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authgate/authgate/store"
)

// Subtests of a store's health: Ping on a working store, and every method
// on a closed one.

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testClosed(t *testing.T, s store.Store) {
	c := ctx(t)
	mustPut(t, s, "k", []byte("v"), 0)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for name, err := range CallEach(c, s) {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s after Close = %v, want ErrUnavailable", name, err)
		}
	}
}

// CallEach calls every method of s except Close once, with valid arguments,
// and returns each method's error by name. It is for tests that break the
// store (close it, stop its server) and check that every method reports
// it; keeping the list here means a method added to store.Store is
// checked by all of them at once.
func CallEach(ctx context.Context, s store.Store) map[string]error {
	checks := map[string]error{}
	_, checks["Get"] = s.Get(ctx, "k")
	checks["Put"] = s.Put(ctx, "k", []byte("v"), 0)
	checks["Create"] = s.Create(ctx, "new", []byte("v"), 0)
	checks["Delete"] = s.Delete(ctx, "k")
	_, checks["CompareAndDelete"] = s.CompareAndDelete(ctx, "k", []byte("v"))
	checks["Update"] = s.Update(ctx, "k", func([]byte, bool) ([]byte, time.Duration, error) { return []byte("x"), 0, nil })
	_, checks["Incr"] = s.Incr(ctx, "n", time.Minute)
	checks["CreateIndexed"] = s.CreateIndexed(ctx, "{u}:r", []byte("v"), map[string]string{"{u}:i": "r"})
	checks["DeleteIndexed"] = s.DeleteIndexed(ctx, "{u}:r", []string{"{u}:i"})
	checks["AddMember"] = s.AddMember(ctx, "s", "m", 0)
	checks["RemoveMember"] = s.RemoveMember(ctx, "s", "m")
	_, checks["Members"] = s.Members(ctx, "s")
	_, checks["Allow"] = s.Allow(ctx, "rl", 3, time.Minute)
	checks["Ping"] = s.Ping(ctx)
	if l, ok := s.(store.Lister); ok {
		checks["List"] = l.List(ctx, "", func(string) error { return nil })
	}
	return checks
}
