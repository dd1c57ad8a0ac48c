package auth

import (
	"sync"
	"time"
)

// principalCache remembers who an access token's session belongs to, so
// that an authenticated request costs no store reads: on the embedded
// store the two reads (user, session) were a third of the CPU of a search
// by key. The token itself is checked on every request (its signature
// once, see verifiedTokens; its times every time).
//
// Staleness: every write of this process to users or sessions (disable,
// role change, password reset, logout, preferences) empties the cache,
// after the write and with a generation check, so that an answer read
// before the write is never kept. On the embedded store this process is
// the only writer, so a disabled user or a logged-out session stops
// working at once, as before. With several instances on one MongoDB,
// another instance's change is seen within ttl.
type principalCache struct {
	ttl time.Duration

	mu  sync.Mutex
	gen uint64
	m   map[string]cachedPrincipal // by session id
}

type cachedPrincipal struct {
	p       Principal
	subject string
	at      time.Time
}

// maxCachedPrincipals bounds the cache; it is emptied when full.
const maxCachedPrincipals = 10_000

func newPrincipalCache(ttl time.Duration) *principalCache {
	return &principalCache{ttl: ttl, m: map[string]cachedPrincipal{}}
}

// get returns the cached principal of session for subject, and the
// generation to hand to put after reading the store.
func (c *principalCache) get(session, subject string) (*Principal, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[session]
	if ok && e.subject == subject && time.Since(e.at) < c.ttl {
		p := e.p
		return &p, c.gen
	}
	return nil, c.gen
}

// put keeps p unless a write happened since gen.
func (c *principalCache) put(gen uint64, subject string, p Principal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= maxCachedPrincipals {
		clear(c.m)
	}
	c.m[p.SessionID] = cachedPrincipal{p: p, subject: subject, at: time.Now()}
}

// invalidate forgets everything; call it after every write to users or
// sessions.
func (c *principalCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}
