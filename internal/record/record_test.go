package record

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/bolt/bolttest"
)

type thing struct {
	N int `json:"n"`
}

func TestPutUpdateDelete(t *testing.T) {
	st := bolttest.Open(t)
	ctx := context.Background()
	if err := Put(ctx, st, "k", "thing", thing{N: 1}, time.Hour); err != nil {
		t.Fatal(err)
	}
	bump := func(v *thing, exists bool) (*thing, time.Duration, error) {
		if !exists {
			return nil, 0, store.ErrNotFound
		}
		v.N++
		return v, time.Hour, nil
	}
	if err := Update(ctx, st, "k", "thing", bump); err != nil {
		t.Fatal(err)
	}
	got, err := store.GetJSON[thing](ctx, st, "k", store.ErrNotFound, "thing")
	if err != nil || got.N != 2 {
		t.Fatalf("after the update: %+v, %v; want n=2", got, err)
	}
	// An absent key reaches fn with exists false; fn's error comes back as is.
	if err := Update(ctx, st, "absent", "thing", bump); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent key: %v", err)
	}
	// A nil next deletes the key.
	err = Update(ctx, st, "k", "thing", func(*thing, bool) (*thing, time.Duration, error) { return nil, 0, nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after a nil next: %v, want the key gone", err)
	}
}

func TestMalformed(t *testing.T) {
	st := bolttest.Open(t)
	ctx := context.Background()
	if err := st.Put(ctx, "k", []byte("{nope"), time.Hour); err != nil {
		t.Fatal(err)
	}
	called := false
	fn := func(v *thing, _ bool) (*thing, time.Duration, error) {
		called = true
		return v, time.Hour, nil
	}
	err := Update(ctx, st, "k", "thing", fn)
	if err == nil || called {
		t.Fatalf("Update of a malformed value: %v (fn called: %v), want a decoding error and no call", err, called)
	}
	// UpdateOr writes what malformed returns in its place.
	err = UpdateOr(ctx, st, "k", fn, func(bad error) (*thing, time.Duration, error) {
		if bad == nil {
			t.Error("malformed called without the decoding error")
		}
		return &thing{N: 7}, time.Hour, nil
	})
	if err != nil || called {
		t.Fatalf("UpdateOr: %v (fn called: %v)", err, called)
	}
	got, err := store.GetJSON[thing](ctx, st, "k", store.ErrNotFound, "thing")
	if err != nil || got.N != 7 {
		t.Fatalf("after UpdateOr: %+v, %v; want n=7", got, err)
	}
}

func TestStoreDown(t *testing.T) {
	st := bolttest.Open(t)
	st.Close()
	ctx := context.Background()
	if err := Put(ctx, st, "k", "thing", thing{}, time.Hour); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Put on a closed store: %v", err)
	}
	err := Update(ctx, st, "k", "thing", func(v *thing, _ bool) (*thing, time.Duration, error) { return v, 0, nil })
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Update on a closed store: %v", err)
	}
}

func TestUnchanged(t *testing.T) {
	st := bolttest.Open(t)
	ctx := context.Background()
	if err := Put(ctx, st, "k", "thing", thing{N: 1}, time.Hour); err != nil {
		t.Fatal(err)
	}
	err := Update(ctx, st, "k", "thing", func(v *thing, _ bool) (*thing, time.Duration, error) {
		v.N = 5
		return nil, 0, Unchanged
	})
	if err != nil {
		t.Fatalf("Unchanged: %v, want nil", err)
	}
	got, err := store.GetJSON[thing](ctx, st, "k", store.ErrNotFound, "thing")
	if err != nil || got.N != 1 {
		t.Fatalf("after Unchanged: %+v, %v; want n=1 kept", got, err)
	}
}
