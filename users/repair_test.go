package users

import (
	"errors"
	"strings"
	"testing"

	"github.com/authgate/authgate/store"
)

// testOrphanIndex: a delete that dies before freeing the identifiers
// leaves held entries without a record; Find ignores them, a create of
// the identifier takes one over, and Repair deletes the rest.
func testOrphanIndex(t *testing.T, b backend) {
	sa, sb := b.pair(t)
	f := &faulty{Store: sa}
	a, c := newTestService(b, f), newTestService(b, sb)
	u := mustCreate(t, a, NewUser{Emails: []string{"frank@example.com"}, Username: "frank"})
	f.set(func(op, key string) bool { return op == "cad" && isIndex(key) })
	if got, err := a.Delete(bg(), u.ID); !errors.Is(err, store.ErrUnavailable) || got == nil || got.ID != u.ID {
		t.Fatalf("Delete with the releases failing = %v, %v; want the user and an ErrUnavailable error", got, err)
	}
	f.set(nil)
	nameKey := indexOf(t, a, KindUsername, "frank")
	if v, err := sa.Get(bg(), nameKey); err != nil || !strings.HasPrefix(string(v), "held "+u.ID) {
		t.Fatalf("username entry after the failed release = %q, %v; want it still held by %s", v, err, u.ID)
	}
	wantNotFound(t, c, KindUsername, "frank")
	wantNotFound(t, c, KindEmail, "frank@example.com")
	v := mustCreate(t, c, NewUser{Emails: []string{"frank@example.com"}})
	wantFound(t, a, KindEmail, "frank@example.com", v.ID)

	r, err := c.Repair(bg())
	if err != nil || r != (RepairReport{OrphanIndexes: 1}) {
		t.Fatalf("Repair = %+v, %v; want the one orphan (the username) deleted", r, err)
	}
	if _, err := sa.Get(bg(), nameKey); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("orphan left after Repair: %v", err)
	}
	wantFound(t, a, KindEmail, "frank@example.com", v.ID)
	if r, err := c.Repair(bg()); err != nil || r != (RepairReport{}) {
		t.Fatalf("second Repair = %+v, %v; want nothing to do", r, err)
	}
}

// testRepairLapsed: creates that die after writing their record, with
// every undo failing too, leave a record with pending claims. Repair
// leaves them while they are pending; once they lapse it claims again the
// identifiers still free (the create completes) and drops those another
// user took meanwhile, deleting a user left with none.
func testRepairLapsed(t *testing.T, b backend) {
	sa, sb := b.pair(t)
	f := &faulty{Store: sa}
	a, c := withShortClaims(newTestService(b, f)), newTestService(b, sb)
	indexOf(t, a, KindEmail, "x")
	f.set(func(op, key string) bool {
		return op == "update" && isIndex(key) || op == "cad" || op == "delete"
	})
	for _, email := range []string{"gina@example.com", "hank@example.com"} {
		if _, err := a.Create(bg(), NewUser{Emails: []string{email}}); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Create(%s) = %v, want ErrUnavailable", email, err)
		}
	}
	f.set(nil)
	if n := countRecords(t, sa); n != 2 {
		t.Fatalf("%d records after the failed creates, want 2", n)
	}
	wantNotFound(t, c, KindEmail, "gina@example.com") // a pending claim is not a user yet
	if r, err := c.Repair(bg()); err != nil || r != (RepairReport{Busy: 2}) {
		t.Fatalf("Repair while the claims are pending = %+v, %v; want both left alone", r, err)
	}
	b.passTTL(t, sa, indexOf(t, a, KindEmail, "gina@example.com"))
	b.passTTL(t, sa, indexOf(t, a, KindEmail, "hank@example.com"))
	hank := mustCreate(t, c, NewUser{Emails: []string{"hank@example.com"}})

	r, err := c.Repair(bg())
	if err != nil || r != (RepairReport{Reclaimed: 1, Dropped: 1, EmptyUsers: 1}) {
		t.Fatalf("Repair = %+v, %v; want gina reclaimed, hank's dropped and its empty user deleted", r, err)
	}
	gina, err := c.Find(bg(), KindEmail, "gina@example.com")
	if err != nil {
		t.Fatalf("gina after Repair: %v", err)
	}
	wantFound(t, a, KindEmail, "hank@example.com", hank.ID)
	if n := countRecords(t, sa); n != 2 {
		t.Fatalf("%d records after Repair, want gina's and hank's", n)
	}
	if _, err := c.Get(bg(), gina.ID); err != nil {
		t.Fatal(err)
	}
}
