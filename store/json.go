package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Getter is the read half of a Store, all GetJSON needs.
type Getter interface {
	Get(ctx context.Context, key string) ([]byte, error)
}

// GetJSON reads the JSON value of key into a new T. A missing key returns
// notFound, the caller's own error (a flow says "no such sign-in", not a
// store error); what names the value in the other errors ("reading
// sign-in: ...", "decoding sign-in: ...").
func GetJSON[T any](ctx context.Context, st Getter, key string, notFound error, what string) (*T, error) {
	data, err := st.Get(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", what, err)
	}
	return v, nil
}
