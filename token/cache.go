package token

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// cacheShards is the number of independently locked parts of the cache.
const cacheShards = 16

// verifyCache remembers fully verified tokens by their exact string until
// they expire, so a repeated Verify costs a map lookup. Only tokens that
// passed every check are inserted, so a hit needs only the time and issuer
// checks that depend on the moment and the caller.
type verifyCache struct {
	perShard int // 0: disabled
	gen      atomic.Uint64
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]Claims
}

// newVerifyCache returns a cache of about size entries (<= 0: disabled).
func newVerifyCache(size int) *verifyCache {
	c := &verifyCache{}
	if size <= 0 {
		return c
	}
	c.perShard = max(1, (size+cacheShards-1)/cacheShards)
	for i := range c.shards {
		c.shards[i].m = make(map[string]Claims)
	}
	return c
}

// shardOf picks a shard from the second-to-last character of the token:
// part of the base64url signature, so close to uniform over valid tokens
// (the last character carries only a few bits of the signature).
func (c *verifyCache) shardOf(tok string) *cacheShard {
	if len(tok) < 2 {
		return &c.shards[0]
	}
	return &c.shards[int(tok[len(tok)-2])%cacheShards]
}

// get returns the cached claims of tok.
func (c *verifyCache) get(tok string) (Claims, bool) {
	if c.perShard == 0 {
		return Claims{}, false
	}
	s := c.shardOf(tok)
	s.mu.RLock()
	cl, ok := s.m[tok]
	s.mu.RUnlock()
	return cl, ok
}

// put caches the claims of a verified token. gen is the cache generation
// read before verification started; if the cache was cleared since (a key
// was dropped), the entry is not added. Expired entries are swept when a
// shard is full; if it stays full, an arbitrary eighth of it is evicted.
func (c *verifyCache) put(tok string, cl Claims, gen uint64, now time.Time) {
	if c.perShard == 0 {
		return
	}
	s := c.shardOf(tok)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	if len(s.m) >= c.perShard {
		for k, v := range s.m {
			if !now.Before(v.Expiry) {
				delete(s.m, k)
			}
		}
		if len(s.m) >= c.perShard {
			drop := max(1, c.perShard/8)
			for k := range s.m {
				delete(s.m, k)
				if drop--; drop == 0 {
					break
				}
			}
		}
	}
	// Clone so the cache never pins a larger buffer (e.g. a whole Cookie
	// header) the token string was sliced from.
	s.m[strings.Clone(tok)] = cl
}

// generation returns the current generation for a later put.
func (c *verifyCache) generation() uint64 { return c.gen.Load() }

// clear empties the cache and invalidates puts of verifications that
// started before.
func (c *verifyCache) clear() {
	if c.perShard == 0 {
		return
	}
	c.gen.Add(1)
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.m)
		s.mu.Unlock()
	}
}

// len returns the number of cached entries.
func (c *verifyCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
