package testclock

import (
	"sync"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	c := New()
	if !c.Now().Equal(Start) {
		t.Fatalf("new clock at %v, want %v", c.Now(), Start)
	}
	c.Advance(90 * time.Second)
	c.Advance(-30 * time.Second)
	if got, want := c.Now(), Start.Add(time.Minute); !got.Equal(want) {
		t.Errorf("after +90 s and -30 s: %v, want %v", got, want)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { c.Advance(time.Second); _ = c.Now() })
	}
	wg.Wait()
	if got, want := c.Now(), Start.Add(time.Minute+8*time.Second); !got.Equal(want) {
		t.Errorf("after 8 concurrent seconds: %v, want %v", got, want)
	}
}
