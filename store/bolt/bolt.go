// Package bolt is the embedded store.Store backend: one bbolt file on the
// local disk, the default when no Redis is configured.
//
// Every value carries its expiry. Expired keys are invisible to every read
// (checked against the store's clock) and a background sweeper deletes them
// from the file. Every atomic operation (Create, CompareAndDelete, Update,
// Incr, CreateIndexed, Allow, ...) runs in one bbolt read-write transaction,
// and bbolt allows one writer at a time, so they are linearizable within the
// process that holds the file. A bbolt file is locked by the process that
// opened it: only one authgate instance can use it at a time.
//
// Layout (format version 1): bucket "kv" holds plain values, "sets" the
// sets of AddMember, "rate" the GCRA state of Allow. Each value starts with
// an 8-byte big-endian expiry in Unix nanoseconds (0: never). Counters of
// Incr are stored as decimal text, as in Redis. A value key and a set key
// with the same name are distinct here but not in Redis: callers must keep
// their key names distinct.
package bolt

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/authgate/authgate/store"
)

const (
	// formatVersion is written in the meta bucket; Open refuses other versions.
	formatVersion = "1"
	// openTimeout bounds the wait for the file lock held by another process.
	openTimeout = time.Second
	// defaultSweepInterval is how often expired keys are deleted from disk.
	defaultSweepInterval = time.Minute
	// sweepBatch is the most keys one sweeper transaction deletes, so the
	// sweeper never holds the writer lock for long.
	sweepBatch = 1000
	// headerLen is the size of the expiry prefix of every stored value.
	headerLen = 8
)

var (
	bucketMeta = []byte("meta")
	bucketKV   = []byte("kv")
	bucketSets = []byte("sets")
	bucketRate = []byte("rate")
	keyVersion = []byte("version")

	// dataBuckets are the buckets whose values carry an expiry header.
	dataBuckets = [][]byte{bucketKV, bucketSets, bucketRate}
)

// Option configures Open.
type Option func(*config)

type config struct {
	now           func() time.Time
	sweepInterval time.Duration
}

// WithClock makes the store read the time from now instead of time.Now, for
// tests that move time forward. now must be safe for concurrent use.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// WithSweepInterval sets how often the background sweeper deletes expired
// keys (default one minute). A value <= 0 disables the sweeper; expired keys
// stay invisible to reads either way.
func WithSweepInterval(d time.Duration) Option {
	return func(c *config) { c.sweepInterval = d }
}

// Store is the bbolt implementation of store.Store. It is safe for
// concurrent use.
type Store struct {
	db     *bbolt.DB
	now    func() time.Time
	closed atomic.Bool

	closeOnce sync.Once
	closeErr  error
	stop      chan struct{}
	done      chan struct{}
}

var _ store.Store = (*Store)(nil)

// Open opens (or creates) the bbolt file at path. Missing parent
// directories are created with mode 0700 and a new file with mode 0600.
// When another process holds the file, Open fails after about a second
// with an error saying so.
func Open(path string, opts ...Option) (*Store, error) {
	cfg := config{now: time.Now, sweepInterval: defaultSweepInterval}
	for _, o := range opts {
		o(&cfg)
	}
	if path == "" {
		return nil, errors.New("bolt: open: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("bolt: create directory for %s: %w", path, err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: openTimeout})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("bolt: open %s: file is locked by another process (gave up after %s): %w: %w",
				path, openTimeout, store.ErrUnavailable, err)
		}
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		switch v := meta.Get(keyVersion); {
		case v == nil:
			if err := meta.Put(keyVersion, []byte(formatVersion)); err != nil {
				return err
			}
		case string(v) != formatVersion:
			return fmt.Errorf("unsupported format version %q (want %s)", v, formatVersion)
		}
		for _, name := range dataBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("bolt: initialize %s: %w", path, err)
	}
	s := &Store{
		db:   db,
		now:  cfg.now,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	if cfg.sweepInterval > 0 {
		go s.sweepLoop(cfg.sweepInterval)
	} else {
		close(s.done)
	}
	return s, nil
}

// Path returns the file name of the database.
func (s *Store) Path() string { return s.db.Path() }

// Close stops the sweeper and closes the file. Later calls to any method
// return an error wrapping store.ErrUnavailable. Close is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		<-s.done
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("bolt: close: %w", err)
		}
	})
	return s.closeErr
}

// Ping reports whether the database is open and readable.
func (s *Store) Ping(ctx context.Context) error {
	return s.view(ctx, "ping", func(*bbolt.Tx) error { return nil })
}

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

// view runs fn in a read-only transaction. Errors from fn are returned as
// is; failures of the database itself wrap store.ErrUnavailable.
func (s *Store) view(ctx context.Context, op string, fn func(*bbolt.Tx) error) error {
	if err := s.ready(ctx, op); err != nil {
		return err
	}
	tx, err := s.db.Begin(false)
	if err != nil {
		return unavailable(op, err)
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

// update runs fn in a read-write transaction and commits it when fn
// succeeds. Errors from fn are returned as is; failures of the database
// itself wrap store.ErrUnavailable.
func (s *Store) update(ctx context.Context, op string, fn func(*bbolt.Tx) error) error {
	if err := s.ready(ctx, op); err != nil {
		return err
	}
	tx, err := s.db.Begin(true)
	if err != nil {
		return unavailable(op, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return unavailable(op, err)
	}
	return nil
}

func (s *Store) ready(ctx context.Context, op string) error {
	if s.closed.Load() {
		return unavailable(op, berrors.ErrDatabaseNotOpen)
	}
	if err := ctx.Err(); err != nil {
		return unavailable(op, err)
	}
	return nil
}

func unavailable(op string, err error) error {
	return fmt.Errorf("bolt: %s: %w: %w", op, store.ErrUnavailable, err)
}

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

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

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
