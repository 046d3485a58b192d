package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/authgate/authgate/store"
)

// Subtest of store.Lister, run for stores that implement it.

// listKeys is more than one batch of the bbolt walk (1000 keys), so the
// walk's resumption between batches is exercised.
const listKeys = 1201

func testList(t *testing.T, s store.Store) {
	l, ok := s.(store.Lister)
	if !ok {
		t.Fatalf("%T does not implement store.Lister", s)
	}
	c := ctx(t)
	want := make([]string, 0, listKeys)
	for i := range listKeys {
		// Keys carry hash tags of their own, so on a cluster they spread
		// over every master and the walk must visit all of them.
		k := fmt.Sprintf("l{%d}", i)
		if i%2 == 0 {
			k = fmt.Sprintf("l:%d", i)
		}
		want = append(want, k)
	}
	// Every key of the walk is under prefix "l" except the decoys: a key
	// outside it, a set and a key whose name holds glob characters.
	for _, k := range want {
		mustPut(t, s, k, []byte("v"), 0)
	}
	mustPut(t, s, "m:outside", []byte("v"), 0)
	mustPut(t, s, "x*[?]\\", []byte("v"), 0)
	if err := s.AddMember(c, "l:set", "m", 0); err != nil {
		t.Fatal(err)
	}

	var got []string
	if err := l.List(c, "l", func(k string) error { got = append(got, k); return nil }); err != nil {
		t.Fatalf("List: %v", err)
	}
	// SCAN may report a key twice; the contract is "at least once".
	slices.Sort(got)
	got = slices.Compact(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("List(l) gave %d keys, want the %d under the prefix (first got %q)", len(got), len(want), got[:min(3, len(got))])
	}

	// Glob characters in the prefix are taken literally.
	got = nil
	if err := l.List(c, "x*", func(k string) error { got = append(got, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"x*[?]\\"}) {
		t.Fatalf("List(x*) = %q, want only the key starting with x*", got)
	}
	if err := l.List(c, "l:none", func(k string) error { t.Errorf("List(l:none) reported %q", k); return nil }); err != nil {
		t.Fatal(err)
	}

	// fn may write to the store: delete every key as it is reported.
	if err := l.List(c, "l", func(k string) error { return s.Delete(c, k) }); err != nil {
		t.Fatalf("List deleting each key: %v", err)
	}
	wantNotFound(t, s, want[0])
	wantNotFound(t, s, want[len(want)-1])

	// An error from fn stops the walk and comes back as is.
	mustPut(t, s, "l:a", []byte("v"), 0)
	mustPut(t, s, "l:b", []byte("v"), 0)
	stop := errors.New("stop")
	calls := 0
	err := l.List(c, "l", func(string) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Fatalf("List with a failing fn = %v after %d calls, want the fn's error after 1", err, calls)
	}
}
