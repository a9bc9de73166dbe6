package passkeys

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter keeps rate-limit state. Allow takes one event for key under limit
// r and reports whether it is allowed; when it is not, retryAfter says when
// the next event would be. Keys are opaque strings such as "ip:192.0.2.1"
// and "email:a@example.com", compared byte for byte. The limit for a key
// is always the same Rate; a negative r.Events allows every event. With
// an error ok must be false; the handler then fails the request.
//
// A Limiter is called by many requests at once and must be safe for
// concurrent use: concurrent calls on one key are counted one after the
// other, so of n calls on a bucket holding b tokens exactly min(n, b) are
// allowed. A limiter shared by several instances (such as pgstore's) holds
// that across them, and a call that reads an earlier time than the one
// before it on the key refills nothing. The conformance suite
// passkeystest/limitertest checks an implementation with one call.
type Limiter interface {
	Allow(ctx context.Context, key string, r Rate) (ok bool, retryAfter time.Duration, err error)
}

// MemoryLimiter is a [Limiter] holding token buckets in this process's
// memory, safe for concurrent use. Limits therefore apply per instance.
// Once a few thousand keys are held, buckets that have refilled are
// dropped (at most one sweep a second), and past a hard cap of 65,536 keys
// arbitrary buckets are evicted, so memory stays bounded even when every
// request comes from a new address.
type MemoryLimiter struct {
	clock     func() time.Time
	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
	sweeps    int // for tests
}

var _ Limiter = (*MemoryLimiter)(nil)

const (
	limiterSweepAt = 4096
	limiterMaxKeys = 1 << 16
)

// NewMemoryLimiter returns a MemoryLimiter reading time from clock (time.Now
// when nil).
func NewMemoryLimiter(clock func() time.Time) *MemoryLimiter {
	if clock == nil {
		clock = time.Now
	}
	return &MemoryLimiter{clock: clock, buckets: make(map[string]*rate.Limiter)}
}

// Allow implements [Limiter].
func (m *MemoryLimiter) Allow(_ context.Context, key string, r Rate) (bool, time.Duration, error) {
	if r.disabled() {
		return true, 0, nil
	}
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.buckets[key]
	if !ok {
		if len(m.buckets) >= limiterSweepAt && now.Sub(m.lastSweep) >= time.Second {
			m.sweep(now)
			m.lastSweep = now
			m.sweeps++
		}
		if len(m.buckets) >= limiterMaxKeys {
			for k := range m.buckets {
				delete(m.buckets, k)
				break
			}
		}
		b = rate.NewLimiter(rate.Limit(float64(r.Events)/r.Per.Seconds()), r.Burst)
		m.buckets[key] = b
	}
	if b.AllowN(now, 1) {
		return true, 0, nil
	}
	missing := 1 - b.TokensAt(now)
	wait := time.Duration(math.Ceil(missing / float64(b.Limit()) * float64(time.Second)))
	return false, wait, nil
}

// sweep drops buckets that have refilled completely: forgetting them
// changes nothing.
func (m *MemoryLimiter) sweep(now time.Time) {
	for k, b := range m.buckets {
		if b.TokensAt(now) >= float64(b.Burst()) {
			delete(m.buckets, k)
		}
	}
}
