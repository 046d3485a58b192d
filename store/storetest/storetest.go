// Package storetest is the conformance suite every store.Store backend must
// pass. A backend's test calls Run with a constructor that returns a fresh,
// empty store for each subtest:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { ... })
//	}
//
// The suite uses real time: its TTL checks sleep about two seconds in
// total. Keys of multi-key calls share a hash tag ("{u}:...") so the suite
// runs unchanged against Redis Cluster. Stores that implement store.Lister
// also run the List subtest.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/authgate/authgate/store"
)

// Run runs the conformance suite. newStore must return a new, empty store
// that the subtest owns; Run closes it when the subtest ends.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	open := func(t *testing.T) store.Store {
		t.Helper()
		s := newStore(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"GetPutDelete", testGetPutDelete},
		{"Create", testCreate},
		{"CompareAndDelete", testCompareAndDelete},
		{"CompareAndDeleteRace", testCompareAndDeleteRace},
		{"Incr", testIncr},
		{"IncrRace", testIncrRace},
		{"Update", testUpdate},
		{"UpdateRace", testUpdateRace},
		{"CreateIndexed", testCreateIndexed},
		{"CreateIndexedRace", testCreateIndexedRace},
		{"DeleteIndexed", testDeleteIndexed},
		{"Sets", testSets},
		{"Allow", testAllow},
		{"Ping", testPing},
		{"Closed", testClosed},
	}
	// TTL is the only subtest that sleeps (about 1.6 s of real time). It
	// runs first, before the racing subtests load the machine.
	t.Run("TTL", func(t *testing.T) { testTTL(t, open(t)) })
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
	// Lister is optional (wrappers such as store/guard do not list): the
	// backends assert they implement it at compile time.
	probe := open(t)
	if _, ok := probe.(store.Lister); ok {
		t.Run("List", func(t *testing.T) { testList(t, open(t)) })
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustPut(t *testing.T, s store.Store, key string, value []byte, ttl time.Duration) {
	t.Helper()
	if err := s.Put(ctx(t), key, value, ttl); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func wantValue(t *testing.T, s store.Store, key string, want []byte) {
	t.Helper()
	got, err := s.Get(ctx(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v, want %q", key, err, want)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

func wantNotFound(t *testing.T, s store.Store, key string) {
	t.Helper()
	got, err := s.Get(ctx(t), key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", key, got, err)
	}
}

func wantMembers(t *testing.T, s store.Store, key string, want ...string) {
	t.Helper()
	got, err := s.Members(ctx(t), key)
	if err != nil {
		t.Fatalf("Members(%q): %v", key, err)
	}
	if got == nil {
		t.Fatalf("Members(%q) returned a nil slice, want non-nil", key)
	}
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("Members(%q) = %q, want %q", key, got, want)
	}
}

func testGetPutDelete(t *testing.T, s store.Store) {
	c := ctx(t)
	wantNotFound(t, s, "missing")

	mustPut(t, s, "a", []byte("one"), 0)
	wantValue(t, s, "a", []byte("one"))
	mustPut(t, s, "a", []byte("two"), time.Hour)
	wantValue(t, s, "a", []byte("two"))

	// Binary values and empty values round-trip.
	bin := []byte{0, 1, 2, 0xff, 0, '\n', '"'}
	mustPut(t, s, "bin", bin, 0)
	wantValue(t, s, "bin", bin)
	mustPut(t, s, "empty", []byte{}, 0)
	got, err := s.Get(c, "empty")
	if err != nil || len(got) != 0 {
		t.Fatalf("Get(empty) = %q, %v; want empty value", got, err)
	}

	// The returned slice is the caller's: changing it changes nothing stored.
	got, err = s.Get(c, "a")
	if err != nil {
		t.Fatal(err)
	}
	got[0] = 'X'
	wantValue(t, s, "a", []byte("two"))

	if err := s.Put(c, "neg", []byte("x"), -time.Second); err == nil {
		t.Fatal("Put with a negative ttl succeeded")
	}

	mustPut(t, s, "{d}:1", []byte("1"), 0)
	mustPut(t, s, "{d}:2", []byte("2"), 0)
	mustPut(t, s, "{d}:3", []byte("3"), 0)
	if err := s.Delete(c, "{d}:1", "{d}:2", "{d}:missing"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantNotFound(t, s, "{d}:1")
	wantNotFound(t, s, "{d}:2")
	wantValue(t, s, "{d}:3", []byte("3"))
	if err := s.Delete(c, "missing"); err != nil {
		t.Fatalf("Delete(missing): %v", err)
	}
	if err := s.Delete(c); err != nil {
		t.Fatalf("Delete(): %v", err)
	}
}

func testCreate(t *testing.T, s store.Store) {
	c := ctx(t)
	if err := s.Create(c, "k", []byte("first"), time.Hour); err != nil {
		t.Fatalf("Create: %v", err)
	}
	err := s.Create(c, "k", []byte("second"), time.Hour)
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("second Create = %v, want ErrExists", err)
	}
	if errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("second Create = %v, must not match ErrUnavailable", err)
	}
	wantValue(t, s, "k", []byte("first"))

	// After Delete the key can be created again.
	if err := s.Delete(c, "k"); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(c, "k", []byte("third"), 0); err != nil {
		t.Fatalf("Create after Delete: %v", err)
	}
	wantValue(t, s, "k", []byte("third"))

	// Create also refuses to overwrite a value written by Put.
	mustPut(t, s, "p", []byte("put"), 0)
	if err := s.Create(c, "p", []byte("x"), 0); !errors.Is(err, store.ErrExists) {
		t.Fatalf("Create over Put = %v, want ErrExists", err)
	}
}

func testCompareAndDelete(t *testing.T, s store.Store) {
	c := ctx(t)
	ok, err := s.CompareAndDelete(c, "missing", []byte("x"))
	if err != nil || ok {
		t.Fatalf("CompareAndDelete(missing) = %v, %v; want false, nil", ok, err)
	}
	mustPut(t, s, "code", []byte("secret-hmac"), time.Hour)
	for _, wrong := range [][]byte{[]byte("secret-hmaX"), []byte("secret"), []byte("secret-hmac-longer"), {}, nil} {
		ok, err = s.CompareAndDelete(c, "code", wrong)
		if err != nil || ok {
			t.Fatalf("CompareAndDelete(wrong %q) = %v, %v; want false, nil", wrong, ok, err)
		}
	}
	wantValue(t, s, "code", []byte("secret-hmac"))
	ok, err = s.CompareAndDelete(c, "code", []byte("secret-hmac"))
	if err != nil || !ok {
		t.Fatalf("CompareAndDelete(right) = %v, %v; want true, nil", ok, err)
	}
	wantNotFound(t, s, "code")
	ok, err = s.CompareAndDelete(c, "code", []byte("secret-hmac"))
	if err != nil || ok {
		t.Fatalf("second CompareAndDelete = %v, %v; want false, nil", ok, err)
	}
}

func testIncr(t *testing.T, s store.Store) {
	c := ctx(t)
	for want := int64(1); want <= 3; want++ {
		got, err := s.Incr(c, "ctr", time.Hour)
		if err != nil || got != want {
			t.Fatalf("Incr = %d, %v; want %d", got, err, want)
		}
	}
	// Counters are decimal text, readable with Get and settable with Put.
	wantValue(t, s, "ctr", []byte("3"))
	mustPut(t, s, "ctr", []byte("41"), 0)
	if got, err := s.Incr(c, "ctr", 0); err != nil || got != 42 {
		t.Fatalf("Incr after Put(41) = %d, %v; want 42", got, err)
	}
	mustPut(t, s, "text", []byte("abc"), 0)
	if got, err := s.Incr(c, "text", 0); err == nil {
		t.Fatalf("Incr of a non-integer = %d, nil; want an error", got)
	} else if errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Incr of a non-integer = %v, must not match ErrUnavailable", err)
	}
	wantValue(t, s, "text", []byte("abc"))
}

func testUpdate(t *testing.T, s store.Store) {
	c := ctx(t)

	// Absent key: fn sees exists=false and creates it.
	err := s.Update(c, "u", func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		if exists || cur != nil {
			return nil, 0, fmt.Errorf("absent key seen as %q, exists=%v", cur, exists)
		}
		return []byte("v1"), time.Hour, nil
	})
	if err != nil {
		t.Fatalf("Update(create): %v", err)
	}
	wantValue(t, s, "u", []byte("v1"))

	// Present key: fn sees the value.
	err = s.Update(c, "u", func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		if !exists || string(cur) != "v1" {
			return nil, 0, fmt.Errorf("present key seen as %q, exists=%v", cur, exists)
		}
		return append(cur, "+v2"...), 0, nil
	})
	if err != nil {
		t.Fatalf("Update(modify): %v", err)
	}
	wantValue(t, s, "u", []byte("v1+v2"))

	// Abort: the error comes back as is and nothing is written.
	abort := errors.New("abort by fn")
	err = s.Update(c, "u", func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		return []byte("must not be written"), 0, abort
	})
	if err != abort {
		t.Fatalf("Update(abort) = %v, want the fn's error as is", err)
	}
	wantValue(t, s, "u", []byte("v1+v2"))

	// A nil next deletes the key.
	err = s.Update(c, "u", func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		return nil, 0, nil
	})
	if err != nil {
		t.Fatalf("Update(delete): %v", err)
	}
	wantNotFound(t, s, "u")

	// A nil next on an absent key is a no-op.
	err = s.Update(c, "u", func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		return nil, 0, nil
	})
	if err != nil {
		t.Fatalf("Update(delete absent): %v", err)
	}
	wantNotFound(t, s, "u")
}

func testSets(t *testing.T, s store.Store) {
	c := ctx(t)
	wantMembers(t, s, "set")
	if err := s.RemoveMember(c, "set", "x"); err != nil {
		t.Fatalf("RemoveMember on an absent set: %v", err)
	}
	for _, m := range []string{"a", "b", "a", "c", "with space", ""} {
		if err := s.AddMember(c, "set", m, time.Hour); err != nil {
			t.Fatalf("AddMember(%q): %v", m, err)
		}
	}
	wantMembers(t, s, "set", "a", "b", "c", "with space", "")
	if err := s.RemoveMember(c, "set", "b", "missing", ""); err != nil {
		t.Fatalf("RemoveMember: %v", err)
	}
	wantMembers(t, s, "set", "a", "c", "with space")
	if err := s.RemoveMember(c, "set"); err != nil {
		t.Fatalf("RemoveMember(): %v", err)
	}
	if err := s.RemoveMember(c, "set", "a", "c", "with space"); err != nil {
		t.Fatalf("RemoveMember(all): %v", err)
	}
	wantMembers(t, s, "set")

	// Sets are independent of each other, and Delete removes a set.
	if err := s.AddMember(c, "set2", "z", 0); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(c, "set3", "y", 0); err != nil {
		t.Fatal(err)
	}
	wantMembers(t, s, "set2", "z")
	if err := s.Delete(c, "set2"); err != nil {
		t.Fatal(err)
	}
	wantMembers(t, s, "set2")
	wantMembers(t, s, "set3", "y")
}
