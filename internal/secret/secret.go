// Package secret keeps server-side keys (for code HMACs, CSRF tokens) in
// the shared store: created on first use with create-if-absent, so every
// instance ends up with the same key, and cached afterwards.
package secret

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/authgate/authgate/store"
)

// Size is the key length in bytes.
const Size = 32

// Key is one named key in the store. The zero value is not usable; make
// one with New.
type Key struct {
	st   store.Store
	name string
	mu   sync.Mutex
	key  []byte
}

// New returns the key stored under name.
func New(st store.Store, name string) *Key { return &Key{st: st, name: name} }

// Get returns the key, creating it if the store has none. A failure is
// not cached: the next call tries again.
func (k *Key) Get(ctx context.Context) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key != nil {
		return k.key, nil
	}
	fresh := make([]byte, Size)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("drawing key %s: %w", k.name, err)
	}
	err := k.st.Create(ctx, k.name, []byte(hex.EncodeToString(fresh)), 0)
	if err != nil && !errors.Is(err, store.ErrExists) {
		return nil, fmt.Errorf("storing key %s: %w", k.name, err)
	}
	stored, err := k.st.Get(ctx, k.name)
	if err != nil {
		return nil, fmt.Errorf("reading key %s: %w", k.name, err)
	}
	key, err := hex.DecodeString(string(stored))
	if err != nil || len(key) < Size {
		return nil, fmt.Errorf("key %s in the store is malformed", k.name)
	}
	k.key = key
	return key, nil
}
