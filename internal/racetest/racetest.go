// Package racetest is what the module's conformance suites
// (selfhosted/storetest, passkeystest/keepertest, passkeystest/limitertest)
// share to check an implementation under concurrent calls: release n calls
// at the same moment, then count winners and losers.
package racetest

import (
	"errors"
	"sync"
	"testing"
)

// Race calls f(0) to f(n-1) in n goroutines released at the same moment and
// returns their errors by index.
func Race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// Tally reports a violation to t unless exactly wantOK of errs are nil and
// all others match loser (with errors.Is; a nil loser allows no error),
// and reports whether there was none.
func Tally(t testing.TB, call string, errs []error, wantOK int, loser error) bool {
	t.Helper()
	ok, clean := 0, true
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case loser == nil || !errors.Is(err, loser):
			t.Errorf("%s: losing call returned %v, want %v", call, err, loser)
			clean = false
		}
	}
	if ok != wantOK {
		t.Errorf("%s: %d of %d concurrent calls succeeded, want %d", call, ok, len(errs), wantOK)
		clean = false
	}
	return clean
}
