package passkeys

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
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
//
// A Limiter that cannot give tokens back (see [Refunder]) cannot keep
// [Options.OTPFailureLimit], which counts only failed code checks.
type Limiter interface {
	Allow(ctx context.Context, key string, r Rate) (ok bool, retryAfter time.Duration, err error)
}

// Refunder is the optional capability of a [Limiter] to give back a token
// that Allow took: the handler takes a token from the per-email failure
// bucket ([Options.OTPFailureLimit]) before each code check and refunds it
// when the check succeeds, so that only failures count. Refund adds one
// token to key's bucket under limit r, never beyond r.Burst; refunding a
// key the limiter holds no bucket for (a full bucket, or one it never saw)
// does nothing and is not an error, nor is a negative r.Events. Refund is
// safe for concurrent use with Allow and Refund on the same key. The
// handler discovers it with a type assertion; [New] refuses a Limiter
// without it unless the failure bound is disabled (or DisableOTP is set).
// MemoryLimiter and pgstore's Store implement it.
type Refunder interface {
	Refund(ctx context.Context, key string, r Rate) error
}

// MemoryLimiter is a [Limiter] and [Refunder] holding token buckets in
// this process's memory, safe for concurrent use. Limits therefore apply
// per instance.
//
// Memory is bounded by a cap of 65,536 buckets per key class, the part
// of the key before its first ':' ("ip", "email", "otpcheck", "start",
// "otpfail"; keys of more than 16 classes share one further class), so a
// flood of keys of one class cannot crowd out another. A bucket that has
// refilled completely is forgotten (that changes nothing); up to three
// are dropped per call, oldest first, so the cost of a call stays
// logarithmic in the number held. A new key is never refused for want of
// room: when it arrives in a class holding 65,536 buckets none of which
// has refilled, the bucket that will refill soonest, the one closest to
// full, is dropped to make room for it. That forgets the least there is
// to forget: a bucket is dropped only while every other bucket of its
// class refills later than it, so to give a key that is n tokens short
// of full a fresh bucket, a flood of fresh keys must first drain 65,535
// other buckets of its class by more than n tokens each, more than
// 65,535 × n events (for keys of one Rate); a flood of fresh keys used
// once each only ever drops buckets at most one token short of full.
// Keys held keep being counted normally.
type MemoryLimiter struct {
	clock   func() time.Time
	maxKeys int // per class

	mu      sync.Mutex
	classes map[string]*bucketClass
	other   *bucketClass // the keys of classes past maxClasses
}

var (
	_ Limiter  = (*MemoryLimiter)(nil)
	_ Refunder = (*MemoryLimiter)(nil)
)

const (
	limiterMaxKeys    = 1 << 16 // buckets per class
	limiterMaxClasses = 16
	limiterPurge      = 3 // refilled buckets dropped per call, at most
)

// NewMemoryLimiter returns a MemoryLimiter reading time from clock (time.Now
// when nil).
func NewMemoryLimiter(clock func() time.Time) *MemoryLimiter {
	if clock == nil {
		clock = time.Now
	}
	return &MemoryLimiter{clock: clock, maxKeys: limiterMaxKeys, classes: make(map[string]*bucketClass)}
}

// Allow implements [Limiter]. Besides a negative r.Events, which allows
// everything, r.Events, r.Per and r.Burst must be positive; otherwise
// Allow returns an error.
func (m *MemoryLimiter) Allow(_ context.Context, key string, r Rate) (bool, time.Duration, error) {
	if r.disabled() {
		return true, 0, nil
	}
	token, err := tokenTime(r)
	if err != nil {
		return false, 0, err
	}
	// A bucket is the instant it holds Burst tokens again: each event
	// moves that instant a token's time later, and an event is allowed
	// while the instant is at most Burst-1 tokens' time ahead (GCRA).
	tolerance := mulSat(token, int64(r.Burst-1))
	now := m.clock().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.class(key)
	c.purge(now, limiterPurge)
	b := c.byKey[key]
	if b == nil {
		if len(c.heap) >= m.maxKeys {
			// Full, and the purge found nothing refilled: make room by
			// dropping the bucket that refills soonest, the one whose
			// loss forgets the least.
			c.remove(c.heap[0])
		}
		b = &bucket{key: key, full: now}
		c.byKey[key] = b
		heap.Push(c, b)
	}
	full := max(b.full, now)
	if ahead := full - now; ahead > tolerance {
		return false, time.Duration(ahead - tolerance), nil
	}
	b.full = addSat(full, token)
	heap.Fix(c, b.i)
	return true, 0, nil
}

// Refund implements [Refunder]: it gives one token back to key's bucket,
// up to r.Burst. A bucket that is full again is forgotten.
func (m *MemoryLimiter) Refund(_ context.Context, key string, r Rate) error {
	if r.disabled() {
		return nil
	}
	token, err := tokenTime(r)
	if err != nil {
		return err
	}
	now := m.clock().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.class(key)
	b := c.byKey[key]
	if b == nil {
		return nil
	}
	if b.full = b.full - token; b.full <= now {
		c.remove(b)
		return nil
	}
	heap.Fix(c, b.i)
	return nil
}

// Reset forgets key's bucket, so that its next event finds a full bucket.
// It is the operator's way to lift a limit early, such as the failure
// bound of one email (key "otpfail:" followed by the canonical address;
// see [Handler.ResetOTPFailures]). Resetting an unknown key does nothing.
func (m *MemoryLimiter) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.class(key)
	if b := c.byKey[key]; b != nil {
		c.remove(b)
	}
	return nil
}

// class returns the bucket class of key, creating it when needed.
func (m *MemoryLimiter) class(key string) *bucketClass {
	name, _, found := strings.Cut(key, ":")
	if !found {
		name = ""
	}
	if c := m.classes[name]; c != nil {
		return c
	}
	if len(m.classes) >= limiterMaxClasses {
		if m.other == nil {
			m.other = newBucketClass()
		}
		return m.other
	}
	c := newBucketClass()
	m.classes[name] = c
	return c
}

// bucket is one key's token bucket: the instant, in Unix nanoseconds, at
// which it holds Burst tokens again; at or before now it is full.
type bucket struct {
	key  string
	full int64
	i    int // index in the class's heap
}

// bucketClass holds the buckets of one key class, indexed by key and in a
// min-heap by the instant they refill, so that the next one to refill is
// found without a scan.
type bucketClass struct {
	byKey map[string]*bucket
	heap  []*bucket
}

func newBucketClass() *bucketClass { return &bucketClass{byKey: make(map[string]*bucket)} }

// purge forgets up to n buckets that are full at now.
func (c *bucketClass) purge(now int64, n int) {
	for ; n > 0 && len(c.heap) > 0 && c.heap[0].full <= now; n-- {
		c.remove(c.heap[0])
	}
}

func (c *bucketClass) remove(b *bucket) {
	heap.Remove(c, b.i)
	delete(c.byKey, b.key)
}

// heap.Interface, ordered by refill instant.
func (c *bucketClass) Len() int           { return len(c.heap) }
func (c *bucketClass) Less(i, j int) bool { return c.heap[i].full < c.heap[j].full }
func (c *bucketClass) Swap(i, j int) {
	c.heap[i], c.heap[j] = c.heap[j], c.heap[i]
	c.heap[i].i, c.heap[j].i = i, j
}
func (c *bucketClass) Push(x any) {
	b := x.(*bucket)
	b.i = len(c.heap)
	c.heap = append(c.heap, b)
}
func (c *bucketClass) Pop() any {
	b := c.heap[len(c.heap)-1]
	c.heap[len(c.heap)-1] = nil
	c.heap = c.heap[:len(c.heap)-1]
	return b
}

// tokenTime returns how long one token of r takes to flow back, rounded
// up to the nanosecond (so a limit is never looser than configured), or
// an error for a rate that is neither disabled nor positive.
func tokenTime(r Rate) (int64, error) {
	if r.Events <= 0 || r.Per <= 0 || r.Burst <= 0 {
		return 0, fmt.Errorf("passkeys: rate limit %+v: Events, Per and Burst must be positive", r)
	}
	t := int64(math.Ceil(float64(r.Per) / float64(r.Events)))
	if int64(r.Per)%int64(r.Events) == 0 {
		t = int64(r.Per) / int64(r.Events) // exact, without float rounding
	}
	return max(t, 1), nil
}

// mulSat and addSat are a*b and a+b for non-negative operands, saturating
// at the largest int64 instead of overflowing.
func mulSat(a, b int64) int64 {
	if b != 0 && a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
