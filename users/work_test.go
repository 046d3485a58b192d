package users

import (
	"context"
	"maps"
	"strings"
	"sync"
	"testing"

	"github.com/authgate/authgate/internal/ids"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/bolt/bolttest"
)

// readCounter counts Gets by key prefix (up to the first ':'), as the
// sign-in flow's enumeration test does: keys of a known and an unknown
// identifier differ only after the prefix.
type readCounter struct {
	store.Store
	mu sync.Mutex
	n  map[string]int
}

func (c *readCounter) Get(ctx context.Context, key string) ([]byte, error) {
	prefix, _, _ := strings.Cut(key, ":")
	c.mu.Lock()
	c.n[prefix]++
	c.mu.Unlock()
	return c.Store.Get(ctx, key)
}

func (c *readCounter) Unwrap() store.Store { return c.Store }

func (c *readCounter) of(fn func()) map[string]int {
	c.mu.Lock()
	c.n = map[string]int{}
	c.mu.Unlock()
	fn()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestKnownAndUnknownCostTheSame: the sign-in flow answers an unknown
// identifier with Find then a Get of a made-up id, a known one with Find
// alone; both must read the same keys' kinds, before and after the
// migration, for users in either layout.
func TestKnownAndUnknownCostTheSame(t *testing.T) {
	for _, migrated := range []bool{false, true} {
		st := bolttest.Open(t)
		c := &readCounter{Store: st, n: map[string]int{}}
		s := plainService(c)
		old := legacyUser("old@example.com", "")
		putLegacy(t, st, old)
		known := mustCreate(t, s, NewUser{Emails: []string{"new@example.com"}})
		if migrated {
			if _, err := s.Migrate(bg()); err != nil {
				t.Fatal(err)
			}
		}
		s = plainService(c)                  // a fresh instance ...
		if err := s.Load(bg()); err != nil { // ... loaded at start
			t.Fatal(err)
		}
		unknown := c.of(func() {
			if _, err := s.Find(bg(), KindEmail, "nobody@example.com"); err == nil {
				t.Fatal("found nobody")
			}
			if _, err := s.Get(bg(), ids.New("user")); err == nil {
				t.Fatal("got a made-up id")
			}
		})
		for _, email := range []string{"new@example.com", "old@example.com"} {
			got := c.of(func() {
				if _, err := s.Find(bg(), KindEmail, email); err != nil {
					t.Fatal(err)
				}
			})
			if !maps.Equal(got, unknown) {
				t.Errorf("migrated=%v: Find(%s) reads %v, an unknown identifier %v", migrated, email, got, unknown)
			}
		}
		byID := c.of(func() {
			if _, err := s.Get(bg(), known.ID); err != nil {
				t.Fatal(err)
			}
		})
		missing := c.of(func() { _, _ = s.Get(bg(), ids.New("user")) })
		if !maps.Equal(byID, missing) {
			t.Errorf("migrated=%v: Get of a user reads %v, of a made-up id %v", migrated, byID, missing)
		}
		if want := map[string]int{"{i": 1, "{u": 1}; migrated && !maps.Equal(unknown, want) {
			t.Errorf("after the migration an unknown identifier reads %v, want %v: no old-layout reads", unknown, want)
		}
	}
}

// TestLoadMarksANewStore: Load marks a store without old-layout users as
// migrated (so it never reads the old layout) and leaves one with them.
func TestLoadMarksANewStore(t *testing.T) {
	st := bolttest.Open(t)
	s := plainService(st)
	if err := s.Load(bg()); err != nil {
		t.Fatal(err)
	}
	if v, err := st.Get(bg(), layoutKey); err != nil || string(v) != "2" {
		t.Fatalf("marker after Load on a new store = %q, %v", v, err)
	}
	if _, err := st.Get(bg(), KeyName); err != nil {
		t.Fatalf("identifier key not created by Load: %v", err)
	}

	old := bolttest.Open(t)
	putLegacy(t, old, legacyUser("old@example.com", ""))
	s = plainService(old)
	if err := s.Load(bg()); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Get(bg(), layoutKey); err == nil {
		t.Fatal("Load marked a store with old-layout users as migrated")
	}
	if active, err := s.legacyActive(bg()); err != nil || !active {
		t.Fatalf("legacyActive = %v, %v; want the old layout read", active, err)
	}
}
