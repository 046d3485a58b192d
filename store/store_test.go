package store_test

import (
	"context"
	"testing"

	"github.com/authgate/authgate/store"
)

// plain is a Store that neither lists nor wraps (its methods are never
// called: the embedded interface is nil).
type plain struct{ store.Store }

type lister struct {
	store.Store
	name string
}

func (lister) List(context.Context, string, func(string) error) error { return nil }

type wrapper struct {
	store.Store
	inner store.Store
}

func (w wrapper) Unwrap() store.Store { return w.inner }

func TestListerOf(t *testing.T) {
	backend := lister{name: "backend"}
	for _, tc := range []struct {
		name string
		st   store.Store
		want bool
	}{
		{"lister", backend, true},
		{"wrapped twice", wrapper{inner: wrapper{inner: backend}}, true},
		{"plain", plain{}, false},
		{"wrapped plain", wrapper{inner: plain{}}, false},
		{"wrapping nothing", wrapper{}, false},
		{"nil", nil, false},
	} {
		l, ok := store.ListerOf(tc.st)
		if ok != tc.want {
			t.Errorf("%s: ListerOf ok = %v, want %v", tc.name, ok, tc.want)
			continue
		}
		if ok && l.(lister).name != "backend" {
			t.Errorf("%s: ListerOf = %v, want the backend", tc.name, l)
		}
	}
}
