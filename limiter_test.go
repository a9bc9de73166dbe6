package passkeys

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Buckets that have refilled are dropped as new keys arrive, so a stream
// of one-off keys does not accumulate.
func TestMemoryLimiterDropsRefilledBuckets(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewMemoryLimiter(func() time.Time { return now })
	r := Rate{Events: 1, Per: time.Second, Burst: 1}
	const phase = 4096
	for i := range 3 * phase {
		if i%phase == 0 {
			now = now.Add(time.Minute) // earlier buckets have refilled
		}
		if ok, _, err := l.Allow(context.Background(), fmt.Sprint("ip:", i), r); !ok || err != nil {
			t.Fatalf("Allow(ip:%d) = %t, %v; want allowed", i, ok, err)
		}
	}
	if n := l.held(); n != phase {
		t.Errorf("%d buckets held, want %d (the last minute's)", n, phase)
	}
}

// A full class refuses new keys until its soonest bucket refills, keeps
// counting the keys it holds, and leaves other classes alone.
func TestMemoryLimiterFullClassFailsClosed(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	l := NewMemoryLimiter(func() time.Time { return now })
	l.maxKeys = 100
	r := Rate{Events: 1, Per: time.Hour, Burst: 2}
	for i := range l.maxKeys {
		now = t0.Add(time.Duration(i) * time.Second)
		for range 2 {
			if ok, _, _ := l.Allow(ctx, fmt.Sprint("otpcheck:", i), r); !ok {
				t.Fatalf("Allow(otpcheck:%d) refused while filling", i)
			}
		}
	}
	// otpcheck:0 is full again at t0+2h, the soonest.
	ok, wait, err := l.Allow(ctx, "otpcheck:new", r)
	if ok || err != nil || wait != 2*time.Hour-99*time.Second {
		t.Errorf("Allow(otpcheck:new) in a full class = %t, %v, %v; want refused for 2h-99s", ok, wait, err)
	}
	if ok, wait, _ := l.Allow(ctx, "otpcheck:0", r); ok || wait != time.Hour-99*time.Second {
		t.Errorf("Allow(otpcheck:0), drained, in a full class = %t, %v; want refused for 1h-99s", ok, wait)
	}
	if ok, _, _ := l.Allow(ctx, "email:new", r); !ok {
		t.Error("Allow(email:new) refused: a full class crowded out another")
	}
	// Half-refilled buckets are still not dropped.
	now = t0.Add(time.Hour + 99*time.Second)
	if ok, _, _ := l.Allow(ctx, "otpcheck:new", r); ok {
		t.Error("Allow(otpcheck:new) allowed while no bucket of its class had refilled")
	}
	if ok, _, _ := l.Allow(ctx, "otpcheck:99", r); !ok {
		t.Error("Allow(otpcheck:99), a held key with a token back, refused")
	}
	// At t0+2h otpcheck:0 has refilled: it is forgotten, making room.
	now = t0.Add(2 * time.Hour)
	if ok, wait, _ := l.Allow(ctx, "otpcheck:new", r); !ok {
		t.Errorf("Allow(otpcheck:new) refused (wait %v) after a bucket of its class refilled", wait)
	}
	if n := len(l.classes["otpcheck"].byKey); n != l.maxKeys {
		t.Errorf("%d otpcheck buckets held, want %d", n, l.maxKeys)
	}
	// When everything held has refilled at once, each new key finds room,
	// though a call drops only a few of them.
	now = t0.Add(5 * time.Hour)
	for i := range l.maxKeys {
		if ok, wait, _ := l.Allow(ctx, fmt.Sprint("otpcheck:later-", i), r); !ok {
			t.Fatalf("Allow(otpcheck:later-%d) refused (wait %v) with every bucket of its class refilled", i, wait)
		}
	}
}

// Keys of more classes than the limiter keeps apart share one further
// class, so the number of classes, and with it memory, stays bounded.
func TestMemoryLimiterClassesBounded(t *testing.T) {
	l := NewMemoryLimiter(nil)
	r := Rate{Events: 1, Per: time.Hour, Burst: 1}
	for i := range 3 * limiterMaxClasses {
		if ok, _, _ := l.Allow(context.Background(), fmt.Sprintf("class%d:k", i), r); !ok {
			t.Fatalf("Allow(class%d:k) refused", i)
		}
	}
	if len(l.classes) != limiterMaxClasses || l.other == nil || len(l.other.byKey) != 2*limiterMaxClasses {
		t.Errorf("%d classes and %v in the shared one, want %d and %d", len(l.classes), l.other, limiterMaxClasses, 2*limiterMaxClasses)
	}
	// A key without ':' is in the class "".
	l.Allow(context.Background(), "plain", r)
	if l.other == nil || l.other.byKey["plain"] == nil {
		t.Error("the key \"plain\" is not in the shared class once the classes are used up")
	}
}

func TestMemoryLimiterReset(t *testing.T) {
	ctx := context.Background()
	l := NewMemoryLimiter(nil)
	r := Rate{Events: 1, Per: time.Hour, Burst: 1}
	l.Allow(ctx, "otpfail:a@example.com", r)
	if err := l.Reset(ctx, "otpfail:a@example.com"); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := l.Allow(ctx, "otpfail:a@example.com", r); !ok {
		t.Error("Allow after Reset refused")
	}
	if err := l.Reset(ctx, "otpfail:unknown@example.com"); err != nil {
		t.Errorf("Reset of an unknown key: %v", err)
	}
	if n := l.held(); n != 1 {
		t.Errorf("%d buckets held, want 1", n)
	}
}

func TestMemoryLimiterInvalidRate(t *testing.T) {
	l := NewMemoryLimiter(nil)
	for _, r := range []Rate{{}, {Events: 1, Burst: 1}, {Events: 1, Per: time.Second}} {
		if ok, _, err := l.Allow(context.Background(), "k", r); ok || err == nil {
			t.Errorf("Allow with %+v = %t, %v; want refused with an error", r, ok, err)
		}
		if err := l.Refund(context.Background(), "k", r); err == nil {
			t.Errorf("Refund with %+v: no error", r)
		}
	}
}

// held is the number of buckets l holds.
func (m *MemoryLimiter) held() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.classes {
		n += len(c.byKey)
	}
	if m.other != nil {
		n += len(m.other.byKey)
	}
	return n
}

// The cost of a call stays logarithmic when a class is full: a new key
// that is refused, and one that replaces a refilled bucket.
func BenchmarkMemoryLimiterFullClass(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewMemoryLimiter(func() time.Time { return now })
	r := Rate{Events: 10, Per: time.Hour, Burst: 10}
	for i := range limiterMaxKeys {
		l.Allow(ctx, fmt.Sprint("otpcheck:", i), r)
	}
	b.Run("refused", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if ok, _, _ := l.Allow(ctx, fmt.Sprint("otpcheck:new-", i), r); ok {
				b.Fatal("allowed")
			}
		}
	})
	b.Run("replacing", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			now = now.Add(time.Hour) // everything held has refilled
			if ok, _, _ := l.Allow(ctx, fmt.Sprint("otpcheck:next-", i), r); !ok {
				b.Fatal("refused")
			}
		}
	})
}
