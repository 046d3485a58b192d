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

// get returns the identity of tok when it is cached for issuer and not
// expired at now; an expired entry is dropped.
func (c *identityCache) get(tok, issuer string, now time.Time) (*Identity, bool) {
	v, ok := c.m.Load(tok)
	if !ok {
		return nil, false
	}
	e := v.(*cachedIdentity)
	if !now.Before(e.expiry) {
		c.drop(tok)
		return nil, false
	}
	if e.issuer != issuer {
		return nil, false
	}
	id := e.id
	return &id, true
}

// put caches id for tok until expiry.
func (c *identityCache) put(tok string, id *Identity, issuer string, expiry, now time.Time) {
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
	if _, loaded := c.m.LoadOrStore(tok, &cachedIdentity{id: *id, issuer: issuer, expiry: expiry}); !loaded {
		c.n++
	}
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
