package bolt

import (
	"bytes"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"
)

func (s *Store) sweepLoop(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			// Errors here mean the database is closing or broken; the
			// next tick (or a caller's own operation) will see it again.
			_, _ = s.sweep()
		}
	}
}

// sweep deletes every expired key and returns how many it deleted. It
// scans in read transactions and deletes in short write transactions of at
// most sweepBatch keys, re-checking each key's expiry before deleting it.
func (s *Store) sweep() (int, error) {
	total := 0
	for _, name := range dataBuckets {
		for {
			var batch [][]byte
			err := s.db.View(func(tx *bbolt.Tx) error {
				now := s.now()
				c := tx.Bucket(name).Cursor()
				for k, v := c.First(); k != nil && len(batch) < sweepBatch; k, v = c.Next() {
					if expired(v, now) {
						batch = append(batch, bytes.Clone(k))
					}
				}
				return nil
			})
			if err != nil || len(batch) == 0 {
				if err != nil {
					return total, fmt.Errorf("bolt: sweep: %w", err)
				}
				break
			}
			n := 0
			err = s.db.Update(func(tx *bbolt.Tx) error {
				b := tx.Bucket(name)
				now := s.now()
				for _, k := range batch {
					if v := b.Get(k); v != nil && expired(v, now) {
						if err := b.Delete(k); err != nil {
							return err
						}
						n++
					}
				}
				return nil
			})
			if err != nil {
				return total, fmt.Errorf("bolt: sweep: %w", err)
			}
			total += n
			if len(batch) < sweepBatch || n == 0 {
				break
			}
			select {
			case <-s.stop:
				return total, nil
			default:
			}
		}
	}
	return total, nil
}
