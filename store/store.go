// Package store is authgate's storage abstraction: a small key-value
// interface with TTLs and the few atomic operations the flows need
// (single-use codes, counters, unique secondary indexes, rate limits).
//
// Two backends implement it: store/bolt (embedded bbolt file, the default)
// and store/redis (go-redis UniversalClient, shared by many instances).
// store/storetest holds the conformance suite both must pass.
//
// Keys are plain strings chosen by the caller. Multi-key operations
// (CreateIndexed, DeleteIndexed, Delete with several keys) must be given keys
// that share one Redis Cluster hash tag, e.g. "{t:1}:a" and "{t:1}:b"; the
// Redis backend relies on it and the bbolt backend ignores it. A hash tag
// also pins every key carrying it to one cluster node, so data that must
// spread over the cluster (users, see package users) is keyed by a tag per
// record rather than one tag for all, and gives up the multi-key calls.
//
// Both backends also implement Lister, which maintenance jobs (the users
// migration and repair) use to walk keys; the request paths never do.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Backends wrap them so callers can use errors.Is.
var (
	// ErrNotFound is returned when a key does not exist or has expired.
	ErrNotFound = errors.New("store: not found")
	// ErrExists is returned when a create would overwrite an existing key.
	ErrExists = errors.New("store: already exists")
	// ErrConflict is returned when an optimistic update kept losing races.
	ErrConflict = errors.New("store: too much contention")
	// ErrUnavailable wraps every failure to reach the backend (network,
	// closed database). The gate fails closed on it.
	ErrUnavailable = errors.New("store: unavailable")
)

// IndexTakenError tells which index key of a CreateIndexed call already
// existed. It matches ErrExists with errors.Is.
type IndexTakenError struct {
	Key string
}

func (e *IndexTakenError) Error() string { return fmt.Sprintf("store: index %q already taken", e.Key) }

// Is reports whether target is ErrExists.
func (e *IndexTakenError) Is(target error) bool { return target == ErrExists }

// UpdateFunc receives the current value (exists is false when the key is
// absent or expired) and returns the value to write and its TTL (0: no
// expiry). Returning a nil next deletes the key. Returning an error aborts
// the update without writing and that error is returned from Update as is.
// The function may be called more than once when the update races.
type UpdateFunc func(cur []byte, exists bool) (next []byte, ttl time.Duration, err error)

// RateResult is the outcome of one rate-limit check.
type RateResult struct {
	// Allowed is true when the event fits in the limit (and was counted).
	Allowed bool
	// Remaining is how many more events fit right now.
	Remaining int
	// RetryAfter is how long to wait before the next event would be allowed;
	// zero when Allowed.
	RetryAfter time.Duration
}

// Lister walks the keys of a store. It is not part of Store because
// wrappers and fakes need not offer it; find it with ListerOf. A walk costs
// time in proportion to the whole key space (Redis SCAN on every master),
// so only maintenance calls it, never a request path.
type Lister interface {
	// List calls fn with every key that starts with prefix and holds a
	// value (Put, Create, Update, Incr, CreateIndexed; not sets or
	// rate-limit state), in no particular order. Keys written or deleted
	// during the walk may or may not be reported, and a key may be
	// reported twice (Redis SCAN gives both liberties); a key present for
	// the whole walk is reported at least once. fn may call the store. An
	// error from fn stops the walk and is returned as is.
	List(ctx context.Context, prefix string, fn func(key string) error) error
}

// Unwrapper is implemented by stores that wrap another (guards, sealing
// layers), so ListerOf can reach the backend below them.
type Unwrapper interface {
	Unwrap() Store
}

// ListerOf returns st's Lister, looking through wrappers that implement
// Unwrapper; ok is false when no layer lists keys.
func ListerOf(st Store) (l Lister, ok bool) {
	for st != nil {
		if l, ok := st.(Lister); ok {
			return l, true
		}
		u, ok := st.(Unwrapper)
		if !ok {
			return nil, false
		}
		st = u.Unwrap()
	}
	return nil, false
}

// Records is the key-value part of a Store: values under keys, written
// whole, only when new, atomically changed or consumed. A consumer that
// needs a few roles of the store (most flows: Records and Counters)
// declares its interface by embedding them rather than re-listing the
// methods.
type Records interface {
	// Get returns the value at key, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)
	// Put writes value at key, replacing any old value.
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Create writes value at key only if the key does not exist (ErrExists).
	Create(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes the keys. Missing keys are not an error.
	Delete(ctx context.Context, keys ...string) error
	// CompareAndDelete atomically deletes key if its value equals expected
	// and reports whether it did. Used to consume single-use values.
	CompareAndDelete(ctx context.Context, key string, expected []byte) (bool, error)
	// Update is an atomic read-modify-write of one key (see UpdateFunc).
	Update(ctx context.Context, key string, fn UpdateFunc) error
}

// Counters is the counting part of a Store: counters and rate limits.
type Counters interface {
	// Incr atomically adds 1 to the counter at key and returns the new
	// value. When it creates the counter it sets ttl in the same step.
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)
	// Allow counts one event against a GCRA limit of limit events per
	// period (burst = limit) under key, shared by all instances.
	Allow(ctx context.Context, key string, limit int, period time.Duration) (RateResult, error)
}

// Store is the storage every authgate instance shares.
//
// All methods return an error wrapping ErrUnavailable when the backend can
// not be reached. TTL 0 means the key never expires.
type Store interface {
	Records
	Counters
	// CreateIndexed atomically writes value at key and every index key
	// with its own value (typically the record id), only if none of them
	// exists. When one exists nothing is written and an *IndexTakenError
	// (or ErrExists for key itself) is returned.
	CreateIndexed(ctx context.Context, key string, value []byte, index map[string]string) error
	// DeleteIndexed atomically deletes key and the index keys.
	DeleteIndexed(ctx context.Context, key string, index []string) error
	// AddMember adds member to the set at key and (re)sets the set's TTL.
	AddMember(ctx context.Context, key, member string, ttl time.Duration) error
	// RemoveMember removes members from the set at key.
	RemoveMember(ctx context.Context, key string, members ...string) error
	// Members lists the set at key in no particular order (empty if absent).
	Members(ctx context.Context, key string) ([]string, error)
	// Ping checks that the backend is reachable.
	Ping(ctx context.Context) error
	// Close releases the backend.
	Close() error
}
