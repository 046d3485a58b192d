package storetest

// Subtests of the operations under concurrency: racing callers of
// CompareAndDelete, Incr, Update and CreateIndexed each get an outcome
// that a one-at-a-time order would give (single use, no lost update, one
// owner of an index key).

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/store"
)

func testCompareAndDeleteRace(t *testing.T, s store.Store) {
	mustPut(t, s, "once", []byte("v"), time.Hour)
	const n = 50
	results := make([]bool, n)
	errs := make([]error, n)
	c := ctx(t)
	testenv.Together(n, func(i int) {
		results[i], errs[i] = s.CompareAndDelete(c, "once", []byte("v"))
	})
	wins := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if results[i] {
			wins++
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent CompareAndDelete calls won, want exactly 1", wins, n)
	}
	wantNotFound(t, s, "once")
}

func testIncrRace(t *testing.T, s store.Store) {
	const n = 50
	got := make([]int64, n)
	errs := make([]error, n)
	c := ctx(t)
	testenv.Together(n, func(i int) { got[i], errs[i] = s.Incr(c, "hits", time.Hour) })
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
	}
	slices.Sort(got)
	for i, v := range got {
		if v != int64(i+1) {
			t.Fatalf("sorted Incr results = %v, want 1..%d each once", got, n)
		}
	}
	wantValue(t, s, "hits", []byte(strconv.Itoa(n)))
}

func testUpdateRace(t *testing.T, s store.Store) {
	const n = 50
	errs := make([]error, n)
	c := ctx(t)
	testenv.Together(n, func(i int) {
		errs[i] = s.Update(c, "counter", func(cur []byte, exists bool) ([]byte, time.Duration, error) {
			v := 0
			if exists {
				var err error
				if v, err = strconv.Atoi(string(cur)); err != nil {
					return nil, 0, err
				}
			}
			return []byte(strconv.Itoa(v + 1)), time.Hour, nil
		})
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: %v", i, err)
		}
	}
	wantValue(t, s, "counter", []byte(strconv.Itoa(n)))
}

func testCreateIndexedRace(t *testing.T, s store.Store) {
	const n = 20
	const index = "{u}:email:race@example.com"
	errs := make([]error, n)
	c := ctx(t)
	testenv.Together(n, func(i int) {
		id := "user_" + strconv.Itoa(i)
		errs[i] = s.CreateIndexed(c, "{u}:user:"+id, []byte(id), map[string]string{index: id})
	})
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("goroutines %d and %d both created the index", winner, i)
			}
			winner = i
			continue
		}
		var taken *store.IndexTakenError
		if !errors.Is(err, store.ErrExists) || !errors.As(err, &taken) || taken.Key != index {
			t.Fatalf("goroutine %d: %v; want *IndexTakenError{Key: %q} matching ErrExists", i, err, index)
		}
	}
	if winner < 0 {
		t.Fatal("no goroutine created the index")
	}
	winnerID := "user_" + strconv.Itoa(winner)
	wantValue(t, s, index, []byte(winnerID))
	for i := range n {
		key := "{u}:user:user_" + strconv.Itoa(i)
		if i == winner {
			wantValue(t, s, key, []byte(winnerID))
		} else {
			wantNotFound(t, s, key)
		}
	}
}
