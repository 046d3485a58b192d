// Package record is how the flows keep a JSON value in the store
// (attempts, sessions, code budgets, second factors): encode and put it,
// or change it in one atomic store update (decode, change, encode), with
// the errors named after what the value is. Reading one is
// store.GetJSON.
package record

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/authgate/authgate/store"
)

// Putter is the store call Put needs.
type Putter interface {
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
}

// Put stores v as JSON at key for ttl; what names the value in errors
// ("encoding sign-in: ...", "storing sign-in: ...").
func Put(ctx context.Context, st Putter, key, what string, v any, ttl time.Duration) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", what, err)
	}
	if err := st.Put(ctx, key, data, ttl); err != nil {
		return fmt.Errorf("storing %s: %w", what, err)
	}
	return nil
}

// Updater is the store call Update needs.
type Updater interface {
	Update(ctx context.Context, key string, fn store.UpdateFunc) error
}

// Unchanged, returned by a Func, ends the update without writing
// anything; Update then returns nil (there was nothing to change).
var Unchanged = errors.New("record: nothing to change")

// Func gets the value at the key, decoded (a new zero T with exists false
// when the key is absent), and returns the value to store and its TTL
// (it may change v in place and return it); a nil next deletes the key.
// Unchanged writes nothing; another error aborts the update without
// writing and is returned as is. The
// store may call it more than once when the update races, each time with
// a freshly decoded value, so it sets everything it reports back.
type Func[T any] func(v *T, exists bool) (next *T, ttl time.Duration, err error)

// Update changes the JSON value at key with fn in one atomic store
// update. A stored value that does not decode aborts the update with an
// error naming what it is ("decoding session: ...").
func Update[T any](ctx context.Context, st Updater, key, what string, fn Func[T]) error {
	return UpdateOr(ctx, st, key, fn, func(err error) (*T, time.Duration, error) {
		return nil, 0, fmt.Errorf("decoding %s: %w", what, err)
	})
}

// UpdateOr is Update for a value whose corruption the caller handles
// (a failure count fails closed): a stored value that does not decode is
// replaced by what malformed returns for the decoding error (Unchanged
// leaves it), in the same atomic update, and fn is not called.
func UpdateOr[T any](ctx context.Context, st Updater, key string, fn Func[T], malformed func(bad error) (next *T, ttl time.Duration, err error)) error {
	err := st.Update(ctx, key, func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		var next *T
		var ttl time.Duration
		var err error
		v := new(T)
		if bad := decode(cur, exists, v); bad != nil {
			next, ttl, err = malformed(bad)
		} else {
			next, ttl, err = fn(v, exists)
		}
		if err != nil || next == nil {
			return nil, 0, err
		}
		data, err := json.Marshal(next)
		return data, ttl, err
	})
	if errors.Is(err, Unchanged) {
		return nil
	}
	return err
}

func decode(cur []byte, exists bool, v any) error {
	if !exists {
		return nil
	}
	return json.Unmarshal(cur, v)
}
