package passkeys

import (
	"context"
	"fmt"
	"testing"
	"time"
)

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
