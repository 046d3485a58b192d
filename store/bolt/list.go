package bolt

import (
	"bytes"
	"context"

	bbolt "go.etcd.io/bbolt"
)

// listBatch is how many keys one read transaction of List collects. fn
// runs between transactions, so it may write to the store, and a long
// walk never pins old pages of the file for its whole length.
const listBatch = 1000

// List calls fn with every live value key that starts with prefix, in key
// order, in batches read by short read-only transactions.
func (s *Store) List(ctx context.Context, prefix string, fn func(key string) error) error {
	from := []byte(prefix)
	after := false // from is the last key of the previous batch: skip it
	for {
		var batch []string
		var last []byte // last key looked at, live or expired
		err := s.view(ctx, "list", func(tx *bbolt.Tx) error {
			now := s.now()
			c := tx.Bucket(bucketKV).Cursor()
			k, v := c.Seek(from)
			if after && bytes.Equal(k, from) {
				k, v = c.Next()
			}
			for n := 0; k != nil && bytes.HasPrefix(k, []byte(prefix)) && n < listBatch; k, v = c.Next() {
				n++
				last = bytes.Clone(k)
				if !expired(v, now) {
					batch = append(batch, string(k))
				}
			}
			if k == nil || !bytes.HasPrefix(k, []byte(prefix)) {
				last = nil // the walk reached the end of the prefix
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range batch {
			if err := fn(k); err != nil {
				return err
			}
		}
		if last == nil {
			return nil
		}
		from, after = last, true
	}
}
