// Package testclock is the settable clock of the module's tests and test
// kits (internal/e2e, passkeystest/limitertest): code under test reads
// Now, and only the test moves it, so that expiry and rates are checked
// without sleeping.
package testclock

import (
	"sync"
	"time"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Start is where New sets a clock: 2030-01-02 03:04:05 UTC.
var Start = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// New returns a clock at Start.
func New() *Clock { return &Clock{now: Start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d, backwards when d is negative.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
