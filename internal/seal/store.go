package seal

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/store"
)

// Store seals the values of secret keys on their way into a store.Store
// and opens them on their way out; every other key passes through as it
// is. The services above it never see a sealed value.
//
// Secrets are read and written with Get, Put, Create and Update only;
// CompareAndDelete, CreateIndexed and the set operations pass through
// unsealed (no secret is kept that way).
type Store struct {
	store.Store
	ring     *Keyring
	isSecret func(key string) bool
	log      *zap.Logger
}

// Wrap returns inner with the values of keys for which isSecret is true
// sealed by ring.
func Wrap(inner store.Store, ring *Keyring, isSecret func(key string) bool, log *zap.Logger) *Store {
	if log == nil {
		log = zap.NewNop()
	}
	return &Store{Store: inner, ring: ring, isSecret: isSecret, log: log}
}

// Get opens a secret. A secret sealed with a previous key, or one written
// before encryption was turned on, is re-sealed with the current key on
// the way (best effort: a failed re-seal is retried on the next read).
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	data, err := s.Store.Get(ctx, key)
	if err != nil || !s.isSecret(key) {
		return data, err
	}
	plain, current, err := s.open(key, data)
	if err != nil {
		return nil, err
	}
	if !current {
		if _, err := s.reseal(ctx, key); err != nil {
			s.log.Warn("re-sealing a secret failed; trying again on its next read", zap.String("key", key), zap.Error(err))
		}
	}
	return plain, nil
}

func (s *Store) open(key string, data []byte) ([]byte, bool, error) {
	plain, current, err := s.ring.Open(key, data)
	if err != nil {
		return nil, false, fmt.Errorf("opening secret %s: %w", key, err)
	}
	return plain, current, nil
}

// Put seals a secret before writing it.
func (s *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	v, err := s.sealIf(key, value)
	if err != nil {
		return err
	}
	return s.Store.Put(ctx, key, v, ttl)
}

// Create seals a secret before creating it.
func (s *Store) Create(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	v, err := s.sealIf(key, value)
	if err != nil {
		return err
	}
	return s.Store.Create(ctx, key, v, ttl)
}

// Update hands fn the opened secret and seals what it returns.
func (s *Store) Update(ctx context.Context, key string, fn store.UpdateFunc) error {
	if !s.isSecret(key) {
		return s.Store.Update(ctx, key, fn)
	}
	return s.Store.Update(ctx, key, func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		if exists {
			plain, _, err := s.open(key, cur)
			if err != nil {
				return nil, 0, err
			}
			cur = plain
		}
		next, ttl, err := fn(cur, exists)
		if err != nil || next == nil {
			return next, ttl, err
		}
		sealed, err := s.ring.Seal(key, next)
		return sealed, ttl, err
	})
}

func (s *Store) sealIf(key string, value []byte) ([]byte, error) {
	if !s.isSecret(key) {
		return value, nil
	}
	return s.ring.Seal(key, value)
}

// errKeep aborts a re-seal that has nothing to do.
var errKeep = errors.New("already sealed with the current key")

// reseal rewrites key sealed with the current key if it is not already;
// it reports whether it wrote. Secrets never expire, so the TTL is 0.
func (s *Store) reseal(ctx context.Context, key string) (bool, error) {
	err := s.Store.Update(ctx, key, func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		if !exists {
			return nil, 0, errKeep
		}
		plain, current, err := s.open(key, cur)
		if err != nil {
			return nil, 0, err
		}
		if current {
			return nil, 0, errKeep
		}
		sealed, err := s.ring.Seal(key, plain)
		return sealed, 0, err
	})
	if errors.Is(err, errKeep) {
		return false, nil
	}
	return err == nil, err
}

// Rewrap re-seals every one of keys with the current key (caddy authgate
// keys rewrap) and reports how many it rewrote. Absent keys are skipped.
func (s *Store) Rewrap(ctx context.Context, keys []string) (int, error) {
	n := 0
	for _, k := range keys {
		wrote, err := s.reseal(ctx, k)
		if err != nil {
			return n, fmt.Errorf("re-sealing %s: %w", k, err)
		}
		if wrote {
			n++
		}
	}
	return n, nil
}

// KeyFile returns the key kept in the file at path, creating the file
// (32 random bytes, base64, mode 0600) when it does not exist. It is the
// default for the embedded store, whose key file sits beside the database.
func KeyFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return createKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading encryption key file: %w", err)
	}
	key, err := ParseKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("encryption key file %s: %w", path, err)
	}
	return key, nil
}

func createKeyFile(path string) ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating the folder of the encryption key file: %w", err)
	}
	// O_EXCL: two instances starting at once must not write two keys.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return KeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("creating encryption key file: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	cerr := f.Close()
	if werr != nil || cerr != nil {
		return nil, fmt.Errorf("writing encryption key file: %w", errors.Join(werr, cerr))
	}
	return key, nil
}

// Unwrap returns the wrapped store (store.ListerOf looks through it; what
// it lists is keys, never a secret's value).
func (s *Store) Unwrap() store.Store { return s.Store }
