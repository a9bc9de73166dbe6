package racetest

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
)

func TestRace(t *testing.T) {
	var calls atomic.Int32
	errs := Race(8, func(i int) error {
		calls.Add(1)
		if i%2 == 1 {
			return fmt.Errorf("call %d", i)
		}
		return nil
	})
	if calls.Load() != 8 || len(errs) != 8 {
		t.Fatalf("%d calls, %d errors; want 8 and 8", calls.Load(), len(errs))
	}
	for i, err := range errs {
		if (err == nil) != (i%2 == 0) || (err != nil && err.Error() != fmt.Sprintf("call %d", i)) {
			t.Errorf("errs[%d] = %v", i, err)
		}
	}
}

// recorder counts the violations Tally reports.
type recorder struct {
	testing.TB
	errors int
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.errors++ }

func TestTally(t *testing.T) {
	lost := errors.New("lost")
	for _, tc := range []struct {
		name   string
		errs   []error
		wantOK int
		loser  error
		errors int
	}{
		{"one winner, losers match", []error{lost, nil, fmt.Errorf("wrapped: %w", lost)}, 1, lost, 0},
		{"two winners", []error{nil, nil, lost}, 1, lost, 1},
		{"no winner", []error{lost, lost}, 1, lost, 1},
		{"a loser with another error", []error{nil, errors.New("other")}, 1, lost, 1},
		{"any error when no loser is allowed", []error{nil, lost}, 2, nil, 2},
		{"all win", []error{nil, nil}, 2, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{TB: t}
			clean := Tally(r, "call", tc.errs, tc.wantOK, tc.loser)
			if r.errors != tc.errors || clean != (tc.errors == 0) {
				t.Errorf("%d violations, clean %v; want %d", r.errors, clean, tc.errors)
			}
		})
	}
}
