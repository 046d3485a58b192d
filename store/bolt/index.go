package bolt

import (
	"context"
	"errors"
	"fmt"
	"sort"

	bbolt "go.etcd.io/bbolt"

	"github.com/authgate/authgate/store"
)

// CreateIndexed writes value at key and each index key with its value, with
// no expiry, only if none of them holds a live value.
func (s *Store) CreateIndexed(ctx context.Context, key string, value []byte, index map[string]string) error {
	if _, dup := index[key]; dup {
		return errors.New("bolt: create indexed: index key equals the record key")
	}
	idx := sortedKeys(index)
	return s.update(ctx, "create indexed", func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketKV)
		now := s.now()
		if _, ok := live(b, key, now); ok {
			return fmt.Errorf("bolt: create indexed: %w", store.ErrExists)
		}
		for _, k := range idx {
			if _, ok := live(b, k, now); ok {
				return &store.IndexTakenError{Key: k}
			}
		}
		if err := put(b, key, 0, value); err != nil {
			return err
		}
		for _, k := range idx {
			if err := put(b, k, 0, []byte(index[k])); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteIndexed deletes key and the index keys in one transaction.
func (s *Store) DeleteIndexed(ctx context.Context, key string, index []string) error {
	keys := append([]string{key}, index...)
	return s.update(ctx, "delete indexed", func(tx *bbolt.Tx) error {
		return deleteKeys(tx.Bucket(bucketKV), keys)
	})
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
