// Package bolttest opens throwaway bbolt stores for the tests of packages
// that need a real store.Store. (Package bolt's own tests cannot use it:
// importing it from there would be an import cycle.)
package bolttest

import (
	"path/filepath"
	"testing"

	"github.com/authgate/authgate/store/bolt"
)

// Open opens a new, empty store in tb's temporary directory and closes it
// when tb ends. Store.Close is idempotent, so a test may also close it
// itself (to test what happens after Close).
func Open(tb testing.TB, opts ...bolt.Option) *bolt.Store {
	tb.Helper()
	st, err := bolt.Open(filepath.Join(tb.TempDir(), "authgate.db"), opts...)
	if err != nil {
		tb.Fatalf("open bolt store: %v", err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}
