package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// AddMember adds member to the set at key and sets the set's TTL to ttl
// (0: no expiry).
func (s *Store) AddMember(ctx context.Context, key, member string, ttl time.Duration) error {
	if ttl < 0 {
		return errors.New("bolt: add member: negative ttl")
	}
	return s.update(ctx, "add member", func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSets)
		now := s.now()
		members, err := liveSet(b, key, now)
		if err != nil {
			return err
		}
		for _, m := range members {
			if m == member {
				return putSet(b, key, expiry(now, ttl), members)
			}
		}
		return putSet(b, key, expiry(now, ttl), append(members, member))
	})
}

// RemoveMember removes members from the set at key, keeping its TTL. The
// set disappears when it becomes empty.
func (s *Store) RemoveMember(ctx context.Context, key string, members ...string) error {
	if len(members) == 0 {
		return nil
	}
	return s.update(ctx, "remove member", func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSets)
		raw := b.Get([]byte(key))
		cur, err := liveSet(b, key, s.now())
		if err != nil || len(cur) == 0 {
			return err
		}
		drop := make(map[string]struct{}, len(members))
		for _, m := range members {
			drop[m] = struct{}{}
		}
		kept := cur[:0]
		for _, m := range cur {
			if _, ok := drop[m]; !ok {
				kept = append(kept, m)
			}
		}
		if len(kept) == len(cur) {
			return nil
		}
		if len(kept) == 0 {
			return b.Delete([]byte(key))
		}
		return putSet(b, key, int64(binary.BigEndian.Uint64(raw[:headerLen])), kept)
	})
}

// Members lists the set at key (empty when absent or expired).
func (s *Store) Members(ctx context.Context, key string) ([]string, error) {
	var out []string
	err := s.view(ctx, "members", func(tx *bbolt.Tx) error {
		var err error
		out, err = liveSet(tx.Bucket(bucketSets), key, s.now())
		return err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// liveSet decodes the set at key: after the expiry header, each member is a
// uvarint length followed by its bytes.
func liveSet(b *bbolt.Bucket, key string, now time.Time) ([]string, error) {
	v, ok := live(b, key, now)
	if !ok {
		return nil, nil
	}
	var out []string
	for len(v) > 0 {
		n, w := binary.Uvarint(v)
		if w <= 0 || n > uint64(len(v)-w) {
			return nil, errors.New("bolt: corrupt set encoding")
		}
		v = v[w:]
		out = append(out, string(v[:n]))
		v = v[n:]
	}
	return out, nil
}

func putSet(b *bbolt.Bucket, key string, exp int64, members []string) error {
	var buf []byte
	for _, m := range members {
		buf = binary.AppendUvarint(buf, uint64(len(m)))
		buf = append(buf, m...)
	}
	return put(b, key, exp, buf)
}
