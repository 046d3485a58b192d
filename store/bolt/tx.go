package bolt

import (
	"context"
	"fmt"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/authgate/authgate/store"
)

// view runs fn in a read-only transaction. Errors from fn are returned as
// is; failures of the database itself wrap store.ErrUnavailable.
func (s *Store) view(ctx context.Context, op string, fn func(*bbolt.Tx) error) error {
	return s.run(ctx, op, false, fn)
}

// update runs fn in a read-write transaction and commits it when fn
// succeeds. Errors from fn are returned as is; failures of the database
// itself wrap store.ErrUnavailable.
func (s *Store) update(ctx context.Context, op string, fn func(*bbolt.Tx) error) error {
	return s.run(ctx, op, true, fn)
}

// run is view (writable false) and update: a read-write transaction is
// committed when fn succeeds, a read-only one only rolled back.
func (s *Store) run(ctx context.Context, op string, writable bool, fn func(*bbolt.Tx) error) error {
	if err := s.ready(ctx, op); err != nil {
		return err
	}
	tx, err := s.db.Begin(writable)
	if err != nil {
		return unavailable(op, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil || !writable {
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
