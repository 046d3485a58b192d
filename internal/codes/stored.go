package codes

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Key is the server secret codes are bound with (secret.Key).
type Key interface {
	Get(ctx context.Context) ([]byte, error)
}

// Store is what a flow's stored codes need of store.Store.
type Store interface {
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Incr(ctx context.Context, key string, ttl time.Duration) (int64, error)
	CompareAndDelete(ctx context.Context, key string, expected []byte) (bool, error)
}

// Issue draws a code and stores it, as its MAC bound to bind (see MAC;
// the code is the last part), at where for ttl, replacing an earlier one.
// A void code (an unknown identifier's, an address that has an account)
// takes the same work but stores a value of the same size that no MAC
// equals: nobody can use it.
func Issue(ctx context.Context, st Store, secret Key, where string, ttl time.Duration, void bool, bind ...string) (string, error) {
	key, err := secret.Get(ctx)
	if err != nil {
		return "", err
	}
	code, err := New()
	if err != nil {
		return "", err
	}
	mac := MAC(key, append(slices.Clip(bind), code)...)
	if void {
		mac[0] = 'x' // MACs are hex: nothing equals this
	}
	if err := st.Put(ctx, where, mac, ttl); err != nil {
		return "", fmt.Errorf("storing code: %w", err)
	}
	return code, nil
}

// Try counts a try at a code under counter (ttl when it creates the
// counter) and returns its number, for the flow's code_max_attempts.
func Try(ctx context.Context, st Store, counter string, ttl time.Duration) (int64, error) {
	n, err := st.Incr(ctx, counter, ttl)
	if err != nil {
		return 0, fmt.Errorf("counting code attempts: %w", err)
	}
	return n, nil
}

// Consume compares code, bound to bind as Issue bound it, with the MAC
// stored at where and deletes it when it matches, in one atomic step, so
// that a code is used once however many requests race. A malformed code
// never matches (and costs no store call).
func Consume(ctx context.Context, st Store, secret Key, where, code string, bind ...string) (bool, error) {
	if !WellFormed(code) {
		return false, nil
	}
	key, err := secret.Get(ctx)
	if err != nil {
		return false, err
	}
	ok, err := st.CompareAndDelete(ctx, where, MAC(key, append(slices.Clip(bind), code)...))
	if err != nil {
		return false, fmt.Errorf("checking code: %w", err)
	}
	return ok, nil
}
