package users

import (
	"errors"
	"testing"

	"github.com/authgate/authgate/store/bolt/bolttest"
)

// TestRemovePhone: the phone goes, its id and the other identifiers'
// ids stay, the number is free for another account, an unknown id is
// ErrNotFound, and the last identifier stays.
func TestRemovePhone(t *testing.T) {
	s := plainService(bolttest.Open(t))
	u := mustCreate(t, s, NewUser{Emails: []string{"ann@example.com"}, Phones: []string{"+14155552671", "+14155552672"}})
	gone, kept := u.Phones[0], u.Phones[1]
	out, err := s.RemovePhone(bg(), u.ID, gone.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Phones) != 1 || out.Phones[0] != kept || out.Emails[0] != u.Emails[0] {
		t.Fatalf("after removing %s: phones %v, emails %v", gone.ID, out.Phones, out.Emails)
	}
	if _, err := s.Find(bg(), KindPhone, gone.Value); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Find(removed number) = %v, want ErrNotFound", err)
	}
	mustCreate(t, s, NewUser{Phones: []string{gone.Value}})
	if _, err := s.RemovePhone(bg(), u.ID, gone.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removing it again = %v, want ErrNotFound", err)
	}

	solo := mustCreate(t, s, NewUser{Phones: []string{"+14155552673"}})
	if _, err := s.RemovePhone(bg(), solo.ID, solo.Phones[0].ID); err != ErrLastIdentifier {
		t.Fatalf("removing the last identifier = %v, want ErrLastIdentifier", err)
	}
	if got, err := s.Find(bg(), KindPhone, "+14155552673"); err != nil || got.ID != solo.ID {
		t.Fatalf("the last identifier after the refusal: %v, %v", got, err)
	}
}
