package guard_test

import (
	"path/filepath"
	"testing"

	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/bolt"
	"github.com/authgate/authgate/store/guard"
	"github.com/authgate/authgate/store/storetest"
)

// TestConformanceBolt runs the store contract through the guard over a
// real bbolt file: the wrapper must keep every guarantee of the backend
// (values, TTLs, atomicity, errors as is, ErrUnavailable after Close).
func TestConformanceBolt(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := bolt.Open(filepath.Join(t.TempDir(), "authgate.db"))
		if err != nil {
			t.Fatal(err)
		}
		return guard.New(s, guard.Options{})
	})
}
