package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/bolt"
)

func TestGetJSON(t *testing.T) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	type rec struct{ Name string }
	errMine := errors.New("no such record")

	if _, err := store.GetJSON[rec](ctx, st, "absent", errMine, "record"); err != errMine {
		t.Fatalf("missing key: err = %v, want the caller's not-found error", err)
	}
	if err := st.Put(ctx, "good", []byte(`{"Name":"a"}`), 0); err != nil {
		t.Fatal(err)
	}
	if v, err := store.GetJSON[rec](ctx, st, "good", errMine, "record"); err != nil || v.Name != "a" {
		t.Fatalf("GetJSON = %+v, %v; want {a}", v, err)
	}
	if err := st.Put(ctx, "bad", []byte(`{"Name":`), 0); err != nil {
		t.Fatal(err)
	}
	_, err = store.GetJSON[rec](ctx, st, "bad", errMine, "record")
	if err == nil || errors.Is(err, errMine) || !strings.HasPrefix(err.Error(), "decoding record: ") {
		t.Fatalf("undecodable value: err = %v, want a decoding error", err)
	}
	st.Close()
	_, err = store.GetJSON[rec](ctx, st, "good", errMine, "record")
	if !errors.Is(err, store.ErrUnavailable) || !strings.HasPrefix(err.Error(), "reading record: ") {
		t.Fatalf("closed store: err = %v, want a reading error wrapping ErrUnavailable", err)
	}
}
