package handlers

import (
	"sync"
	"time"
)

// identityCache keeps the identity behind each verified session token
// until the token expires, so that the gate checks a token's signature
// and loads its user once, not on every request. It is bounded: when
// full, expired entries go first, then everything.
type identityCache struct {
	m  sync.Map   // token string -> *cachedIdentity
	mu sync.Mutex // guards n, and serialises the eviction in put
	n  int64
}

type cachedIdentity struct {
	id     Identity
	issuer string
	expiry time.Time
}

// maxCachedIdentities bounds the identity cache.
const maxCachedIdentities = 50_000

// get returns the entry of tok when it is cached and not expired at now
// (the caller checks its issuer); an expired entry is dropped. The entry
// is shared by every request with the token: it is read-only, and
// returning it (not a copy) keeps the gate's hot path free of
// allocations.
func (c *identityCache) get(tok string, now time.Time) *cachedIdentity {
	v, ok := c.m.Load(tok)
	if !ok {
		return nil
	}
	e := v.(*cachedIdentity)
	if !now.Before(e.expiry) {
		c.drop(tok)
		return nil
	}
	return e
}

// put caches a copy of id (with its placeholder values) for tok until
// expiry, and returns the cached identity.
func (c *identityCache) put(tok string, id *Identity, issuer string, expiry, now time.Time) *Identity {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n >= maxCachedIdentities {
		// Drop expired entries; if still full, start over.
		c.m.Range(func(k, v any) bool {
			if !now.Before(v.(*cachedIdentity).expiry) {
				if _, loaded := c.m.LoadAndDelete(k); loaded {
					c.n--
				}
			}
			return true
		})
		if c.n >= maxCachedIdentities {
			c.m.Clear()
			c.n = 0
		}
	}
	e := &cachedIdentity{id: *id, issuer: issuer, expiry: expiry}
	withPlaceholders(&e.id)
	v, loaded := c.m.LoadOrStore(tok, e)
	if !loaded {
		c.n++
	}
	return &v.(*cachedIdentity).id
}

// forget drops cached identities of a session (after sign-out or a
// completed task on this instance; other instances see it at the next
// refresh).
func (c *identityCache) forget(sessionID string) {
	c.m.Range(func(k, v any) bool {
		if v.(*cachedIdentity).id.SessionID == sessionID {
			c.drop(k.(string))
		}
		return true
	})
}

// drop removes one cached identity and keeps the count right.
func (c *identityCache) drop(tok string) {
	if _, loaded := c.m.LoadAndDelete(tok); loaded {
		c.mu.Lock()
		c.n--
		c.mu.Unlock()
	}
}
