package redis

import (
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/authgate/authgate/store"
)

// The errors of the store (see the package documentation): what is an
// outage, what is a write refused by a server that still reads.

// wrap adds the operation to err and marks unavailability, and among it
// the writes refused at once by a server that still reads. A nil err
// stays nil, so a command's result can be returned through it.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case writeRefusal(err):
		return fmt.Errorf("redis: %s: %w: %w", op, store.ErrUnavailable, refusedWrite{err})
	case unavailable(err):
		return fmt.Errorf("redis: %s: %w: %w", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("redis: %s: %w", op, err)
}

// writeRefusal reports whether err is Redis refusing a write at once
// while it still serves reads: READONLY from a demoted master, NOREPLICAS
// from one cut off from its replicas (min-replicas-to-write), or a
// transaction aborted by one of them (EXECABORT).
func writeRefusal(err error) bool {
	return goredis.IsReadOnlyError(err) || goredis.IsNoReplicasError(err) ||
		goredis.HasErrorPrefix(err, "EXECABORT")
}

// refusedWrite marks an instant write refusal for store/guard, whose
// breaker does not count it as an outage (see guard's package doc): the
// server answers, and it still serves the reads the gate needs.
type refusedWrite struct{ err error }

func (r refusedWrite) Error() string      { return r.err.Error() }
func (r refusedWrite) Unwrap() error      { return r.err }
func (r refusedWrite) WriteRefused() bool { return true }

// unavailable reports whether err means Redis could not serve the command
// (as opposed to refusing it, like WRONGTYPE).
func unavailable(err error) bool {
	var rerr goredis.Error
	if !errors.As(err, &rerr) {
		// Network errors, timeouts, context errors, pool errors, closed
		// client: nothing reached a working server.
		return true
	}
	return goredis.IsLoadingError(err) ||
		goredis.IsReadOnlyError(err) ||
		goredis.IsMasterDownError(err) ||
		goredis.IsClusterDownError(err) ||
		goredis.IsTryAgainError(err) ||
		goredis.IsOOMError(err) ||
		goredis.IsMaxClientsError(err) ||
		goredis.IsNoReplicasError(err) ||
		goredis.IsAuthError(err) ||
		goredis.HasErrorPrefix(err, "BUSY") ||
		goredis.HasErrorPrefix(err, "MISCONF") ||
		// A transaction whose queued writes were refused (READONLY or
		// NOREPLICAS while a Sentinel switches masters) fails as a whole
		// with EXECABORT: the server could not take writes, a retryable
		// outage rather than a fault of ours.
		goredis.HasErrorPrefix(err, "EXECABORT")
}
