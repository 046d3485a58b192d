package users

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/authgate/authgate/store/bolt/bolttest"
)

// TestKeyLayout: every key is one record's or one identifier's hash tag,
// and no identifier appears in a key name.
func TestKeyLayout(t *testing.T) {
	st := bolttest.Open(t)
	s := plainService(st)
	u := mustCreate(t, s, NewUser{Emails: []string{"ivy@example.com"}, Phones: []string{"+14155552671"}, Username: "ivy"})
	record := regexp.MustCompile(`^\{u:` + regexp.QuoteMeta(u.ID) + `\}:user$`)
	index := regexp.MustCompile(`^\{i:[0-9a-f]{32}\}$`)
	var records, indexes int
	if err := st.List(bg(), "", func(k string) error {
		switch {
		case k == KeyName:
		case record.MatchString(k):
			records++
		case index.MatchString(k):
			indexes++
		default:
			t.Errorf("unexpected key %q", k)
		}
		for _, v := range []string{"ivy", "4155552671"} {
			if strings.Contains(k, v) {
				t.Errorf("key %q names the identifier %q", k, v)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if records != 1 || indexes != 3 {
		t.Fatalf("%d record and %d index keys, want 1 and 3", records, indexes)
	}
	// The kind is part of the keyed hash: the same text as another kind
	// is another key.
	if indexOf(t, s, KindUsername, "ivy") == indexOf(t, s, KindEmail, "ivy") {
		t.Fatal("username and email with the same text share an index key")
	}
	// Another key (another deployment) gives other index keys.
	other := plainService(st, WithKey(fixedKey("0123456789abcdef0123456789abcdef")))
	if indexOf(t, other, KindEmail, "ivy@example.com") == indexOf(t, s, KindEmail, "ivy@example.com") {
		t.Fatal("WithKey did not change the index key")
	}
}

type fixedKey string

func (k fixedKey) Get(context.Context) ([]byte, error) { return []byte(k), nil }

func TestParseOwner(t *testing.T) {
	good := owner{held: true, user: "user_0123456789abcdefghijklmnop", token: "idn_x"}
	if o, err := parseOwner(good.value()); err != nil || o != good {
		t.Fatalf("parseOwner(%q) = %+v, %v", good.value(), o, err)
	}
	pending := owner{user: good.user, token: "idn_y"}
	if o, err := parseOwner(pending.value()); err != nil || o != pending {
		t.Fatalf("parseOwner(%q) = %+v, %v", pending.value(), o, err)
	}
	for _, bad := range []string{"", good.user, "held " + good.user, "kept " + good.user + " idn_x", "held user_short idn_x", "held " + good.user + " idn_x extra"} {
		if _, err := parseOwner([]byte(bad)); err == nil {
			t.Errorf("parseOwner(%q) succeeded", bad)
		}
	}
}

// TestRepairLeavesMalformedIndexes: a value no version writes is counted
// and left alone, and Find reports it rather than guessing.
func TestRepairLeavesMalformedIndexes(t *testing.T) {
	st := bolttest.Open(t)
	s := plainService(st)
	key := indexOf(t, s, KindEmail, "odd@example.com")
	if err := st.Put(bg(), key, []byte("something else"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Find(bg(), KindEmail, "odd@example.com"); err == nil {
		t.Fatal("Find through a malformed index succeeded")
	}
	_, err := s.Create(bg(), NewUser{Emails: []string{"odd@example.com"}})
	wantCode(t, err, "form_identifier_exists")
	if r, err := s.Repair(bg()); err != nil || r != (RepairReport{Malformed: 1}) {
		t.Fatalf("Repair = %+v, %v; want one malformed entry", r, err)
	}
	if v, err := st.Get(bg(), key); err != nil || string(v) != "something else" {
		t.Fatalf("Repair touched the malformed entry: %q, %v", v, err)
	}
}
