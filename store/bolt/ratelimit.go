package bolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/authgate/authgate/store"
)

// Allow counts one event against a GCRA limit of limit events per period
// with burst limit, with the same arithmetic as redis_rate's allowN script:
// each event moves the theoretical arrival time (TAT) by period/limit, and
// an event is refused while TAT would end up more than one period ahead.
func (s *Store) Allow(ctx context.Context, key string, limit int, period time.Duration) (store.RateResult, error) {
	if limit <= 0 || period <= 0 {
		return store.RateResult{}, fmt.Errorf("bolt: allow: invalid limit %d per %s", limit, period)
	}
	emission := int64(period) / int64(limit)
	if emission <= 0 {
		return store.RateResult{}, fmt.Errorf("bolt: allow: limit %d per %s is too fine", limit, period)
	}
	var res store.RateResult
	err := s.update(ctx, "allow", func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketRate)
		now := s.now()
		nowN := now.UnixNano()
		tat := nowN
		if v, ok := live(b, key, now); ok && len(v) == 8 {
			if stored := int64(binary.BigEndian.Uint64(v)); stored > tat {
				tat = stored
			}
		}
		newTat := tat + emission
		allowAt := newTat - emission*int64(limit)
		diff := nowN - allowAt
		if diff < 0 {
			res = store.RateResult{Allowed: false, Remaining: 0, RetryAfter: time.Duration(-diff)}
			return nil
		}
		res = store.RateResult{Allowed: true, Remaining: int(diff / emission)}
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], uint64(newTat))
		return put(b, key, newTat, buf[:])
	})
	if err != nil {
		return store.RateResult{}, err
	}
	return res, nil
}
