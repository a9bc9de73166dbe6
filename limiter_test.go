package passkeys

import (
	"context"
	"fmt"
	"runtime"
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

// A full class takes a new key by dropping the bucket closest to full,
// keeps counting the keys it holds, and leaves other classes alone.
func TestMemoryLimiterFullClassDropsClosestToFull(t *testing.T) {
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
	held := func(key string) bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.class(key).byKey[key] != nil
	}
	// otpcheck:0 is full again at t0+2h, the soonest: it makes room.
	for i := range 2 {
		if ok, wait, err := l.Allow(ctx, "otpcheck:new", r); !ok || wait != 0 || err != nil {
			t.Errorf("Allow(otpcheck:new) #%d in a full class = %t, %v, %v; want allowed", i+1, ok, wait, err)
		}
	}
	if held("otpcheck:0") || !held("otpcheck:1") || !held("otpcheck:new") {
		t.Errorf("after a new key in a full class: otpcheck:0 held %t, otpcheck:1 %t, otpcheck:new %t; want false, true, true",
			held("otpcheck:0"), held("otpcheck:1"), held("otpcheck:new"))
	}
	if n := l.held(); n != l.maxKeys {
		t.Errorf("%d buckets held, want %d", n, l.maxKeys)
	}
	// Keys held are counted as before: otpcheck:99 is drained.
	if ok, wait, _ := l.Allow(ctx, "otpcheck:99", r); ok || wait != time.Hour {
		t.Errorf("Allow(otpcheck:99), drained, in a full class = %t, %v; want refused for 1h", ok, wait)
	}
	if ok, _, _ := l.Allow(ctx, "email:new", r); !ok {
		t.Error("Allow(email:new) refused: a full class crowded out another")
	}
	if n := len(l.classes["email"].byKey); n != 1 {
		t.Errorf("%d email buckets held, want 1", n)
	}
	// A stream of keys used once each: the first drops otpcheck:1, the
	// bucket closest to full; each one after it is a token short where
	// the others held are two, so it drops the one before it, and the
	// drained buckets stay.
	now = t0.Add(100 * time.Second)
	for i := range 3 * l.maxKeys {
		key := fmt.Sprint("otpcheck:once-", i)
		if ok, wait, _ := l.Allow(ctx, key, r); !ok {
			t.Fatalf("Allow(%s) refused (wait %v) in a full class", key, wait)
		}
		if i > 0 && held(fmt.Sprint("otpcheck:once-", i-1)) {
			t.Fatalf("otpcheck:once-%d still held after otpcheck:once-%d", i-1, i)
		}
	}
	if held("otpcheck:1") {
		t.Error("otpcheck:1, the bucket closest to full, still held")
	}
	for i := 2; i < l.maxKeys; i++ {
		if ok, wait, _ := l.Allow(ctx, fmt.Sprint("otpcheck:", i), r); ok || wait <= 0 {
			t.Fatalf("Allow(otpcheck:%d), drained, after a stream of keys used once = %t, %v; want refused", i, ok, wait)
		}
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

// What it costs to give a drained key a fresh bucket by flooding its full
// class: buckets drained by fewer tokens than the victim are dropped
// before it, however many; it is dropped only once every other bucket of
// the class is drained by at least as many tokens as it, later (cap-1) × n
// events for a victim n tokens short. The README quotes this figure.
func TestMemoryLimiterFloodCost(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{2, 5, 10, 100} {
		t.Run(fmt.Sprint(n, " tokens"), func(t *testing.T) {
			t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			now := t0
			l := NewMemoryLimiter(func() time.Time { return now })
			l.maxKeys = 100
			r := Rate{Events: 10, Per: time.Hour, Burst: n} // a token is 6 minutes
			const victim = "otpfail:victim@example.com"
			held := func() bool {
				l.mu.Lock()
				defer l.mu.Unlock()
				return l.class(victim).byKey[victim] != nil
			}
			drain := func(key string, k int) {
				t.Helper()
				for i := range k {
					if ok, wait, err := l.Allow(ctx, key, r); !ok || err != nil {
						t.Fatalf("Allow(%s) #%d = %t, %v, %v; want allowed", key, i+1, ok, wait, err)
					}
				}
			}
			drain(victim, n)

			// Any number of fresh keys drained by n-1 tokens.
			now = t0.Add(time.Second)
			for i := range 5 * l.maxKeys {
				drain(fmt.Sprint("otpfail:lighter-", i), n-1)
			}
			if ok, wait, _ := l.Allow(ctx, victim, r); ok || wait != 6*time.Minute-time.Second {
				t.Errorf("victim after %d fresh keys drained by %d = %t, %v; want refused for 6m-1s", 5*l.maxKeys, n-1, ok, wait)
			}

			// cap-1 fresh keys drained by n, later: the victim is now the
			// bucket closest to full, but it stays until one more new key.
			now = t0.Add(2 * time.Second)
			for i := range l.maxKeys - 1 {
				if i == l.maxKeys-2 {
					// One bucket short of cap-1 as drained as the victim,
					// a new key drops a lighter bucket, not the victim.
					drain("otpfail:probe", 1)
					if !held() {
						t.Fatalf("victim dropped with only %d other buckets as drained as it", i)
					}
				}
				drain(fmt.Sprint("otpfail:heavier-", i), n)
			}
			if !held() {
				t.Fatalf("victim dropped with %d other buckets as drained as it", l.maxKeys-1)
			}
			drain("otpfail:last", 1)
			if held() {
				t.Errorf("victim still held after %d buckets more drained than it and a new key", l.maxKeys-1)
			}
		})
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
// that drops the bucket closest to full (none has refilled), and one
// that replaces a refilled bucket. Setup also reports the memory a full
// class holds per bucket, with 35-byte keys ("otpfail:" and a 27-byte
// address).
func BenchmarkMemoryLimiterFullClass(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewMemoryLimiter(func() time.Time { return now })
	r := Rate{Events: 10, Per: time.Hour, Burst: 10}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range limiterMaxKeys {
		l.Allow(ctx, fmt.Sprintf("otpfail:user-%010d@example.com", i), r)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perBucket := float64(after.HeapAlloc-before.HeapAlloc) / limiterMaxKeys
	b.Run("dropping", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if ok, _, _ := l.Allow(ctx, fmt.Sprintf("otpfail:next-%08d@example.com", i), r); !ok {
				b.Fatal("refused")
			}
		}
		b.ReportMetric(perBucket, "B/bucket")
	})
	b.Run("replacing", func(b *testing.B) {
		// Keys whose token takes 100ms, so that the clock stays far from
		// the end of UnixNano however many iterations run.
		fast := Rate{Events: 10, Per: time.Second, Burst: 10}
		now = now.Add(time.Hour)
		for i := 0; b.Loop(); i++ {
			now = now.Add(100 * time.Millisecond) // everything held has refilled
			if ok, _, _ := l.Allow(ctx, fmt.Sprintf("otpfail:more-%08d@example.com", i), fast); !ok {
				b.Fatal("refused")
			}
		}
	})
}
