package bolt

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/authgate/authgate/store"
)

// Get returns the value at key, or store.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	var out []byte
	err := s.view(ctx, "get", func(tx *bbolt.Tx) error {
		v, ok := live(tx.Bucket(bucketKV), key, s.now())
		if !ok {
			return store.ErrNotFound
		}
		out = bytes.Clone(v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Put writes value at key with the given TTL (0: no expiry).
func (s *Store) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl < 0 {
		return errors.New("bolt: put: negative ttl")
	}
	return s.update(ctx, "put", func(tx *bbolt.Tx) error {
		return put(tx.Bucket(bucketKV), key, expiry(s.now(), ttl), value)
	})
}

// Create writes value at key unless a live value exists (store.ErrExists).
func (s *Store) Create(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl < 0 {
		return errors.New("bolt: create: negative ttl")
	}
	return s.update(ctx, "create", func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketKV)
		now := s.now()
		if _, ok := live(b, key, now); ok {
			return fmt.Errorf("bolt: create: %w", store.ErrExists)
		}
		return put(b, key, expiry(now, ttl), value)
	})
}

// Delete removes the keys (values and sets). Missing keys are ignored.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	return s.update(ctx, "delete", func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketKV, bucketSets} {
			if err := deleteKeys(tx.Bucket(name), keys); err != nil {
				return err
			}
		}
		return nil
	})
}

// CompareAndDelete deletes key when its live value equals expected (compared
// in constant time) and reports whether it did.
func (s *Store) CompareAndDelete(ctx context.Context, key string, expected []byte) (bool, error) {
	var deleted bool
	err := s.update(ctx, "compare and delete", func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketKV)
		v, ok := live(b, key, s.now())
		if !ok || subtle.ConstantTimeCompare(v, expected) != 1 {
			return nil
		}
		deleted = true
		return b.Delete([]byte(key))
	})
	if err != nil {
		return false, err
	}
	return deleted, nil
}

// Update runs fn on the current value of key and writes its result, all in
// one transaction, so fn is called exactly once. fn must not call the store
// (it would deadlock on bbolt's writer lock). An error from fn is returned
// as is and nothing is written.
func (s *Store) Update(ctx context.Context, key string, fn store.UpdateFunc) error {
	var fnErr error
	err := s.update(ctx, "update", func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketKV)
		now := s.now()
		cur, exists := live(b, key, now)
		next, ttl, err := fn(bytes.Clone(cur), exists)
		if err != nil {
			fnErr = err
			return err
		}
		if next == nil {
			if !exists {
				return nil
			}
			return b.Delete([]byte(key))
		}
		if ttl < 0 {
			return errors.New("bolt: update: negative ttl")
		}
		return put(b, key, expiry(now, ttl), next)
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// Incr adds 1 to the decimal counter at key, creating it with ttl when it
// is absent or expired. The TTL of an existing counter is kept.
func (s *Store) Incr(ctx context.Context, key string, ttl time.Duration) (int64, error) {
	if ttl < 0 {
		return 0, errors.New("bolt: incr: negative ttl")
	}
	var n int64
	err := s.update(ctx, "incr", func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketKV)
		now := s.now()
		raw := b.Get([]byte(key))
		exp := expiry(now, ttl)
		n = 0
		if raw != nil && !expired(raw, now) {
			var err error
			if n, err = strconv.ParseInt(string(raw[headerLen:]), 10, 64); err != nil {
				return errors.New("bolt: incr: value is not an integer")
			}
			if n == math.MaxInt64 {
				return errors.New("bolt: incr: counter overflow")
			}
			exp = int64(binary.BigEndian.Uint64(raw[:headerLen]))
		}
		n++
		return put(b, key, exp, strconv.AppendInt(nil, n, 10))
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

func deleteKeys(b *bbolt.Bucket, keys []string) error {
	for _, k := range keys {
		if k == "" {
			continue
		}
		if err := b.Delete([]byte(k)); err != nil {
			return fmt.Errorf("bolt: delete: %w", err)
		}
	}
	return nil
}
