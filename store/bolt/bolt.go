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
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// Store is a store.Store and a store.Lister (List, in list.go).
var (
	_ store.Store  = (*Store)(nil)
	_ store.Lister = (*Store)(nil)
)

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
