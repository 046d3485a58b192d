package users

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/ids"
	"github.com/authgate/authgate/store"
)

// putLegacy writes u as earlier versions did: one CreateIndexed under
// the {users} hash tag, indexes holding the bare user id, no UsernameID.
func putLegacy(t *testing.T, st store.Store, u *User) {
	t.Helper()
	u.ID = ids.New("user")
	u.CreatedAt = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	data, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]string{}
	for _, x := range u.idents() {
		index[legacyIndexKey(x.kind, x.value)] = u.ID
	}
	if err := st.CreateIndexed(bg(), legacyRecordKey(u.ID), data, index); err != nil {
		t.Fatal(err)
	}
}

func legacyUser(email, username string) *User {
	u := &User{Username: username}
	if email != "" {
		u.Emails = []Identification{{ID: ids.New("idn"), Value: email}}
	}
	return u
}

// testLegacyLayout: users in the old layout are found, their identifiers
// stay unique, an update moves the user to the new layout, and a delete
// is final even for a migration that read the user before it.
func testLegacyLayout(t *testing.T, b backend) {
	sa, sb := b.pair(t)
	a, c := newTestService(b, sa), newTestService(b, sb)
	l1, l2, l3 := legacyUser("l1@example.com", "lone"), legacyUser("l2@example.com", ""), legacyUser("", "lthree")
	for _, u := range []*User{l1, l2, l3} {
		putLegacy(t, sa, u)
	}
	wantFound(t, c, KindEmail, "l1@example.com", l1.ID)
	wantFound(t, c, KindUsername, "lone", l1.ID)
	if got, err := c.Get(bg(), l2.ID); err != nil || got.PrimaryEmail() != "l2@example.com" {
		t.Fatalf("Get of an old-layout user = %v, %v", got, err)
	}
	_, err := a.Create(bg(), NewUser{Emails: []string{"L1@example.com"}})
	wantCode(t, err, "form_identifier_exists")
	_, err = a.Create(bg(), NewUser{Username: "lone"})
	wantCode(t, err, "form_identifier_exists")

	if _, err := a.Update(bg(), l2.ID, func(u *User) error { u.ResetRequired = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := sa.Get(bg(), legacyRecordKey(l2.ID)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old-layout record after Update: %v, want it moved", err)
	}
	if got, err := a.record(bg(), l2.ID); err != nil || !got.ResetRequired {
		t.Fatalf("l2's new-layout record = %v, %v", got, err)
	}
	if v, err := sa.Get(bg(), indexOf(t, a, KindEmail, "l2@example.com")); err != nil || !strings.HasPrefix(string(v), "held "+l2.ID) {
		t.Fatalf("l2's new-layout index entry = %q, %v", v, err)
	}

	stale, err := a.legacyRecord(bg(), l3.ID) // a migration reads l3 ...
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Delete(bg(), l3.ID); err != nil { // ... l3 is deleted ...
		t.Fatal(err)
	}
	wantNotFound(t, a, KindUsername, "lthree")
	if moved, err := a.moveRecord(bg(), stale); err != nil || moved { // ... and the migration goes on
		t.Fatalf("moving a deleted user = %v, %v; want refused by its tombstone", moved, err)
	}
	if _, err := a.Get(bg(), l3.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted user after the late migration: %v, want ErrNotFound", err)
	}
	mustCreate(t, a, NewUser{Username: "lthree"})
}

// testMigrate: Migrate, run on two instances at once with one user
// half-moved already, moves every user, deletes the old keys and sets
// the marker new instances go by.
func testMigrate(t *testing.T, b backend) {
	sa, sb := b.pair(t)
	a, c := newTestService(b, sa), newTestService(b, sb)
	l1, l4 := legacyUser("l1@example.com", "lone"), legacyUser("l4@example.com", "lfour")
	for _, u := range []*User{l1, l4} {
		putLegacy(t, sa, u)
	}
	// l4 half-moved: its new record and claims written, old keys still there.
	leg, err := a.legacyRecord(bg(), l4.ID)
	if err != nil {
		t.Fatal(err)
	}
	if moved, err := a.moveRecord(bg(), leg); err != nil || !moved {
		t.Fatalf("moveRecord = %v, %v", moved, err)
	}

	var wg sync.WaitGroup
	counts := make([]int, 2)
	for i, s := range []*Service{a, c} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.Migrate(bg())
			if err != nil {
				t.Errorf("Migrate on instance %d: %v", i, err)
			}
			counts[i] = n
		}()
	}
	wg.Wait()
	if total := counts[0] + counts[1]; total < 2 || total > 4 {
		t.Fatalf("Migrate moved %v users, want l1 and l4 moved once or twice", counts)
	}
	if n := countKeys(t, sa, legacyTag); n != 0 {
		t.Fatalf("%d old-layout keys left after Migrate", n)
	}
	fresh := newTestService(b, sb)
	if active, err := fresh.legacyActive(bg()); err != nil || active {
		t.Fatalf("a new instance after Migrate reads the old layout: %v, %v", active, err)
	}
	for _, u := range []*User{l1, l4} {
		for _, x := range u.idents() {
			wantFound(t, fresh, x.kind, x.value, u.ID)
		}
	}
	if n, err := c.Migrate(bg()); err != nil || n != 0 {
		t.Fatalf("Migrate again = %d, %v; want nothing to do", n, err)
	}
	// Once migrated, a delete leaves no tombstone.
	if _, err := fresh.Delete(bg(), l1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := sa.Get(bg(), recordKey(l1.ID)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("record key after a delete in the migrated store: %v, want none", err)
	}
}
