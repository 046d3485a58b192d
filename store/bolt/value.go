package bolt

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// expiry turns a TTL into the stored absolute expiry (0: never).
func expiry(now time.Time, ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	// UnixNano overflows after the year 2262; such a TTL means "keep".
	if exp := now.Add(ttl); exp.Year() < 2262 {
		return exp.UnixNano()
	}
	return math.MaxInt64
}

// expired reports whether the stored value raw is past its expiry. Values
// too short to hold a header are treated as expired (corrupt).
func expired(raw []byte, now time.Time) bool {
	if len(raw) < headerLen {
		return true
	}
	exp := int64(binary.BigEndian.Uint64(raw[:headerLen]))
	return exp != 0 && exp <= now.UnixNano()
}

// live returns the payload at key when it exists and has not expired. The
// slice is only valid during the transaction.
func live(b *bbolt.Bucket, key string, now time.Time) ([]byte, bool) {
	raw := b.Get([]byte(key))
	if raw == nil || expired(raw, now) {
		return nil, false
	}
	return raw[headerLen:], true
}

func put(b *bbolt.Bucket, key string, exp int64, value []byte) error {
	buf := make([]byte, headerLen+len(value))
	binary.BigEndian.PutUint64(buf, uint64(exp))
	copy(buf[headerLen:], value)
	if err := b.Put([]byte(key), buf); err != nil {
		return fmt.Errorf("bolt: write: %w", err)
	}
	return nil
}
