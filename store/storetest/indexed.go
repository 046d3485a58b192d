package storetest

import (
	"errors"
	"testing"

	"github.com/authgate/authgate/store"
)

// Subtests of the unique secondary indexes: CreateIndexed and
// DeleteIndexed.

func testCreateIndexed(t *testing.T, s store.Store) {
	c := ctx(t)
	idx := map[string]string{"{u}:email:a@example.com": "user_1", "{u}:phone:+15550100": "user_1"}
	if err := s.CreateIndexed(c, "{u}:user:1", []byte("rec1"), idx); err != nil {
		t.Fatalf("CreateIndexed: %v", err)
	}
	wantValue(t, s, "{u}:user:1", []byte("rec1"))
	wantValue(t, s, "{u}:email:a@example.com", []byte("user_1"))
	wantValue(t, s, "{u}:phone:+15550100", []byte("user_1"))

	// One index key taken: nothing of the second record is written.
	err := s.CreateIndexed(c, "{u}:user:2", []byte("rec2"), map[string]string{
		"{u}:email:b@example.com": "user_2",
		"{u}:phone:+15550100":     "user_2",
	})
	var taken *store.IndexTakenError
	if !errors.Is(err, store.ErrExists) || !errors.As(err, &taken) {
		t.Fatalf("CreateIndexed with a taken index = %v, want *IndexTakenError matching ErrExists", err)
	}
	if taken.Key != "{u}:phone:+15550100" {
		t.Fatalf("IndexTakenError.Key = %q, want %q", taken.Key, "{u}:phone:+15550100")
	}
	wantNotFound(t, s, "{u}:user:2")
	wantNotFound(t, s, "{u}:email:b@example.com")
	wantValue(t, s, "{u}:phone:+15550100", []byte("user_1"))

	// The record key itself taken: ErrExists, no index written.
	err = s.CreateIndexed(c, "{u}:user:1", []byte("rec3"), map[string]string{"{u}:email:c@example.com": "user_1"})
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateIndexed over an existing record = %v, want ErrExists", err)
	}
	wantValue(t, s, "{u}:user:1", []byte("rec1"))
	wantNotFound(t, s, "{u}:email:c@example.com")

	// No index at all works like Create.
	if err := s.CreateIndexed(c, "{u}:user:4", []byte("rec4"), nil); err != nil {
		t.Fatalf("CreateIndexed without index: %v", err)
	}
	wantValue(t, s, "{u}:user:4", []byte("rec4"))
}

func testDeleteIndexed(t *testing.T, s store.Store) {
	c := ctx(t)
	idx := map[string]string{"{u}:email:d@example.com": "user_d", "{u}:name:d": "user_d"}
	if err := s.CreateIndexed(c, "{u}:user:d", []byte("recd"), idx); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "{u}:other", []byte("stays"), 0)
	if err := s.DeleteIndexed(c, "{u}:user:d", []string{"{u}:email:d@example.com", "{u}:name:d", "{u}:missing"}); err != nil {
		t.Fatalf("DeleteIndexed: %v", err)
	}
	wantNotFound(t, s, "{u}:user:d")
	wantNotFound(t, s, "{u}:email:d@example.com")
	wantNotFound(t, s, "{u}:name:d")
	wantValue(t, s, "{u}:other", []byte("stays"))
	// The freed index keys can be taken again.
	if err := s.CreateIndexed(c, "{u}:user:e", []byte("rece"), idx); err != nil {
		t.Fatalf("CreateIndexed after DeleteIndexed: %v", err)
	}
	if err := s.DeleteIndexed(c, "{u}:absent", nil); err != nil {
		t.Fatalf("DeleteIndexed(absent): %v", err)
	}
}
