package passkeys

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestMemoryLimiter(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewMemoryLimiter(func() time.Time { return now })
	r := Rate{Events: 6, Per: time.Minute, Burst: 3}
	ctx := context.Background()
	for i := range 3 {
		if ok, _, _ := l.Allow(ctx, "k", r); !ok {
			t.Fatalf("event %d refused within the burst", i+1)
		}
	}
	ok, wait, err := l.Allow(ctx, "k", r)
	if ok || err != nil || wait != 10*time.Second {
		t.Fatalf("over the burst: ok=%v wait=%v err=%v; want refused, 10s", ok, wait, err)
	}
	if ok, _, _ := l.Allow(ctx, "other", r); !ok {
		t.Error("another key was limited")
	}
	now = now.Add(10 * time.Second)
	if ok, _, _ := l.Allow(ctx, "k", r); !ok {
		t.Error("refused after the wait")
	}
	if ok, _, _ := l.Allow(ctx, "k", Rate{Events: -1}); !ok {
		t.Error("a disabled rate limited")
	}
}

func TestMemoryLimiterStaysBounded(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewMemoryLimiter(func() time.Time { return now })
	r := Rate{Events: 1, Per: time.Second, Burst: 1}
	for i := range 3 * limiterSweepAt {
		if i%limiterSweepAt == 0 {
			now = now.Add(time.Minute) // earlier buckets have refilled
		}
		l.Allow(context.Background(), fmt.Sprint(i), r)
	}
	if n := len(l.buckets); n > limiterSweepAt+1 {
		t.Errorf("%d buckets held, want at most %d", n, limiterSweepAt+1)
	}
}

func TestMemoryLimiterHardCap(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewMemoryLimiter(func() time.Time { return now })
	r := Rate{Events: 10, Per: time.Hour, Burst: 10}
	for i := range limiterMaxKeys + 5000 {
		l.Allow(context.Background(), fmt.Sprint(i), r)
	}
	if n := len(l.buckets); n > limiterMaxKeys {
		t.Errorf("%d buckets held, want at most %d", n, limiterMaxKeys)
	}
	// One sweep at the same instant, not one per new key.
	if l.sweeps != 1 {
		t.Errorf("%d sweeps at one instant, want 1", l.sweeps)
	}
}
