package redis

import (
	"context"
	"strings"
	"sync"

	goredis "github.com/redis/go-redis/v9"
)

// scanCount is the COUNT hint of each SCAN step: large enough that a walk
// over a big key space takes few round trips, small enough that one step
// never blocks the server for long.
const scanCount = 1000

// List walks the string keys under prefix with SCAN ... MATCH ... TYPE
// string (Redis 6 or later), on every master of a cluster. fn is never
// called concurrently, even though the masters are scanned in parallel.
func (s *Store) List(ctx context.Context, prefix string, fn func(key string) error) error {
	if err := s.ready("list"); err != nil {
		return err
	}
	match := globEscape(s.key(prefix)) + "*"
	// The masters' scans stop at the first error of any of them: fn is
	// not called again once it has failed.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var fnErr error
	scan := func(ctx context.Context, c goredis.Cmdable) error {
		iter := c.ScanType(ctx, 0, match, scanCount, "string").Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			if fnErr == nil {
				fnErr = fn(strings.TrimPrefix(iter.Val(), s.prefix))
			}
			failed := fnErr != nil
			mu.Unlock()
			if failed {
				cancel()
				return nil
			}
		}
		return iter.Err()
	}
	var err error
	if cc, ok := s.client.(*goredis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, s.client)
	}
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return wrap("list", err)
	}
	return nil
}

// globEscape quotes the characters SCAN MATCH treats as a pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
