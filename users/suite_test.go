package users

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/authgate/authgate/internal/ids"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/store"
)

// TestSuite runs the user service's storage behaviour on bbolt, one
// redis-server and a real 3-master Redis Cluster.
func TestSuite(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				fn   func(*testing.T, backend)
			}{
				{"ConcurrentCreatesOnTwoInstances", testConcurrentCreates},
				{"DeleteAndRecreate", testDeleteAndRecreate},
				{"SetIdentifiers", testSetIdentifiers},
				{"ConcurrentSetIdentifiers", testConcurrentSetIdentifiers},
				{"StaleClaim", testStaleClaim},
				{"FailedCreateReleasesClaims", testFailedCreate},
				{"OrphanIndex", testOrphanIndex},
				{"RepairLapsedClaims", testRepairLapsed},
				{"LegacyLayout", testLegacyLayout},
				{"Migrate", testMigrate},
			} {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, b) })
			}
		})
	}
}

// testConcurrentCreates: 20 creates of one email (in two spellings) at
// once, split over two instances with their own store clients, make
// exactly one user, and both instances find it.
func testConcurrentCreates(t *testing.T, b backend) {
	sa, sb := b.pair(t)
	svcs := []*Service{newTestService(b, sa), newTestService(b, sb)}
	var mu sync.Mutex
	var created []*User
	taken := 0
	testenv.Together(20, func(i int) {
		email := []string{"alice@example.com", " Alice@Example.COM "}[i%2]
		u, err := svcs[i%2].Create(bg(), NewUser{Emails: []string{email}, Password: "long-enough-pw"})
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			created = append(created, u)
		case publicCode(err) == "form_identifier_exists":
			taken++
		default:
			t.Errorf("create: %v", err)
		}
	})
	if len(created) != 1 || taken != 19 {
		t.Fatalf("%d created, %d taken; want 1 and 19", len(created), taken)
	}
	for _, s := range svcs {
		wantFound(t, s, KindEmail, "alice@example.com", created[0].ID)
	}
	key := indexOf(t, svcs[0], KindEmail, "alice@example.com")
	if key != indexOf(t, svcs[1], KindEmail, "alice@example.com") {
		t.Fatal("the two instances key the same email differently: the identifier key is not shared")
	}
	v, err := sa.Get(bg(), key)
	want := heldOf(created[0].ID, ident{token: created[0].Emails[0].ID})
	if err != nil || string(v) != string(want) {
		t.Fatalf("index entry = %q, %v; want %q (permanent, no TTL)", v, err, want)
	}
}

func testDeleteAndRecreate(t *testing.T, b backend) {
	sa, sb := b.pair(t)
	a, c := newTestService(b, sa), newTestService(b, sb)
	nu := NewUser{Emails: []string{"bob@example.com"}, Phones: []string{"+14155552671"}, Username: "bob"}
	u := mustCreate(t, a, nu)
	wantFound(t, c, KindPhone, "+14155552671", u.ID)
	if _, err := c.Delete(bg(), u.ID); err != nil {
		t.Fatal(err)
	}
	for _, x := range u.idents() {
		wantNotFound(t, a, x.kind, x.value)
		if _, err := sa.Get(bg(), indexOf(t, a, x.kind, x.value)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("index of %s left after Delete: %v", x.value, err)
		}
	}
	if _, err := a.Get(bg(), u.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
	}
	if _, err := a.Delete(bg(), u.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete = %v, want ErrNotFound", err)
	}
	again := mustCreate(t, a, nu)
	if again.ID == u.ID {
		t.Fatal("re-create reused the deleted id")
	}
	for _, x := range again.idents() {
		wantFound(t, c, x.kind, x.value, again.ID)
	}
}

func testSetIdentifiers(t *testing.T, b backend) {
	sa, sb := b.pair(t)
	a, c := newTestService(b, sa), newTestService(b, sb)
	u := mustCreate(t, a, NewUser{Emails: []string{"carol@example.com"}, Username: "carol"})
	out, err := c.SetIdentifiers(bg(), u.ID, []string{"Carol@New.example"}, []string{"+14155552671"}, "carol2")
	if err != nil {
		t.Fatal(err)
	}
	if out.PrimaryEmail() != "carol@new.example" || out.Username != "carol2" || out.PrimaryPhone() != "+14155552671" {
		t.Fatalf("SetIdentifiers gave %+v", out)
	}
	wantFound(t, a, KindEmail, "carol@new.example", u.ID)
	wantFound(t, a, KindUsername, "carol2", u.ID)
	wantFound(t, a, KindPhone, "+14155552671", u.ID)
	wantNotFound(t, a, KindEmail, "carol@example.com")
	wantNotFound(t, a, KindUsername, "carol")
	// The old identifiers are free for someone else, the new ones are not.
	other := mustCreate(t, c, NewUser{Emails: []string{"carol@example.com"}, Username: "carol"})
	_, err = a.Create(bg(), NewUser{Emails: []string{"carol@new.example"}})
	wantCode(t, err, "form_identifier_exists")
	_, err = a.SetIdentifiers(bg(), u.ID, []string{"carol@example.com"}, nil, "")
	wantCode(t, err, "form_identifier_exists")
	wantFound(t, a, KindEmail, "carol@example.com", other.ID)
	if got, err := a.Get(bg(), u.ID); err != nil || got.PrimaryEmail() != "carol@new.example" {
		t.Fatalf("a refused change altered the user: %v, %v", got, err)
	}
	// A kept identifier keeps its id; Update cannot change identifiers.
	kept, err := a.SetIdentifiers(bg(), u.ID, []string{"x@new.example", "carol@new.example"}, nil, "carol2")
	if err != nil || kept.Emails[1].ID != out.Emails[0].ID || kept.UsernameID != out.UsernameID {
		t.Fatalf("SetIdentifiers keeping carol@new.example = %+v, %v; want its id %s kept", kept, err, out.Emails[0].ID)
	}
	wantNotFound(t, a, KindPhone, "+14155552671")
	_, err = a.Update(bg(), u.ID, func(u *User) error { u.Username = "sneaky"; return nil })
	if !errors.Is(err, errIdentifiersChanged) {
		t.Fatalf("Update changing the username = %v, want errIdentifiersChanged", err)
	}
	wantNotFound(t, a, KindUsername, "sneaky")
	_, err = a.SetIdentifiers(bg(), u.ID, nil, nil, "")
	wantCode(t, err, "form_param_missing")
}

// testConcurrentSetIdentifiers: ten changes of one user's email at once
// leave exactly one email on the record, findable, and no index entry of
// the emails the other changes added.
func testConcurrentSetIdentifiers(t *testing.T, b backend) {
	sa, sb := b.pair(t)
	svcs := []*Service{newTestService(b, sa), newTestService(b, sb)}
	u := mustCreate(t, svcs[0], NewUser{Emails: []string{"dave@example.com"}})
	testenv.Together(10, func(i int) {
		_, err := svcs[i%2].SetIdentifiers(bg(), u.ID, []string{fmt.Sprintf("dave%d@example.com", i)}, nil, "")
		if err != nil && !errors.Is(err, store.ErrConflict) {
			t.Errorf("SetIdentifiers #%d: %v", i, err)
		}
	})
	final, err := svcs[1].Get(bg(), u.ID)
	if err != nil || len(final.Emails) != 1 {
		t.Fatalf("after the changes: %+v, %v", final, err)
	}
	wantFound(t, svcs[0], KindEmail, final.PrimaryEmail(), u.ID)
	wantNotFound(t, svcs[0], KindEmail, "dave@example.com")
	// A change that lost the race after writing its record leaves the
	// first email's entry, which it did not get to release, as an orphan
	// at worst; Repair deletes it.
	if _, err := svcs[0].Repair(bg()); err != nil {
		t.Fatal(err)
	}
	if _, err := sa.Get(bg(), indexOf(t, svcs[0], KindEmail, "dave@example.com")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("index of dave@example.com left after Repair: %v", err)
	}
	for i := range 10 {
		if v := fmt.Sprintf("dave%d@example.com", i); v != final.PrimaryEmail() {
			if _, err := sa.Get(bg(), indexOf(t, svcs[0], KindEmail, v)); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("index of %s, which the user does not have, is left: %v", v, err)
			}
		}
	}
}

// testStaleClaim: a claim whose create died (no record) reads as absent,
// blocks other creates of the identifier only until its TTL passes, and
// then none.
func testStaleClaim(t *testing.T, b backend) {
	sa, sb := b.pair(t)
	a, c := withShortClaims(newTestService(b, sa)), newTestService(b, sb)
	dead := ident{kind: KindEmail, value: "stale@example.com", token: ids.New("idn")}
	dead.key = indexOf(t, a, dead.kind, dead.value)
	if mine, err := a.claim(bg(), dead, ids.New("user")); err != nil || !mine {
		t.Fatalf("claim = %v, %v", mine, err)
	}
	wantNotFound(t, c, KindEmail, "stale@example.com")
	_, err := c.Create(bg(), NewUser{Emails: []string{"stale@example.com"}})
	wantCode(t, err, "form_identifier_exists")
	b.passTTL(t, sa, dead.key)
	u := mustCreate(t, c, NewUser{Emails: []string{"stale@example.com"}})
	wantFound(t, a, KindEmail, "stale@example.com", u.ID)
}

// testFailedCreate: a create whose record write or confirmation fails
// releases its claims and deletes its record at once, not at the TTL.
func testFailedCreate(t *testing.T, b backend) {
	sa, _ := b.pair(t)
	f := &faulty{Store: sa}
	a := newTestService(b, f)
	indexOf(t, a, KindEmail, "x") // the identifier key exists before the faults start
	for _, fault := range []struct {
		name string
		fail func(op, key string) bool
	}{
		{"record write", func(op, key string) bool { return op == "create" && isRecord(key) }},
		{"confirmation", func(op, key string) bool { return op == "update" && isIndex(key) }},
	} {
		nu := NewUser{Emails: []string{"erin@example.com"}, Username: "erin"}
		f.set(fault.fail)
		if _, err := a.Create(bg(), nu); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("%s failing: Create = %v, want ErrUnavailable", fault.name, err)
		}
		f.set(nil)
		for _, k := range []string{indexOf(t, a, KindEmail, "erin@example.com"), indexOf(t, a, KindUsername, "erin")} {
			if _, err := sa.Get(bg(), k); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("%s failing: claim %s left behind: %v", fault.name, k, err)
			}
		}
		if n := countRecords(t, sa); n != 0 {
			t.Fatalf("%s failing: %d records left behind", fault.name, n)
		}
	}
	u := mustCreate(t, a, NewUser{Emails: []string{"erin@example.com"}, Username: "erin"})
	wantFound(t, a, KindUsername, "erin", u.ID)
}

func countKeys(t *testing.T, st store.Store, prefix string) int {
	t.Helper()
	l, ok := store.ListerOf(st)
	if !ok {
		t.Fatalf("%T lists no keys", st)
	}
	seen := map[string]bool{}
	if err := l.List(bg(), prefix, func(k string) error { seen[k] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	return len(seen)
}

// countRecords counts the user records, not deletion tombstones.
func countRecords(t *testing.T, st store.Store) int {
	t.Helper()
	l, _ := store.ListerOf(st)
	n := 0
	err := l.List(bg(), recordPrefix, func(k string) error {
		v, err := st.Get(bg(), k)
		if err == nil && !isTombstone(v) {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
