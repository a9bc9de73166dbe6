// Package loginmemo carries, for the length of one login request, the
// account a backend read while it finished the login, so that the signal
// data the handler answers with (the account's passkey IDs and names)
// does not read the same account from the store a second time.
//
// The handler makes the slot with [With] before it calls the backend's
// finish; the backend fills it with [Put] once the login has succeeded;
// its Signals takes the value back with [Take] for the same user only.
// Without a slot, Put and Take do nothing.
package loginmemo

import (
	"context"
	"sync"
)

type key struct{}

type slot struct {
	mu     sync.Mutex
	userID string
	v      any
}

// With returns a context that carries an empty slot.
func With(ctx context.Context) context.Context {
	return context.WithValue(ctx, key{}, &slot{})
}

// Put keeps v, read for the user userID, in ctx's slot, if ctx has one.
func Put(ctx context.Context, userID string, v any) {
	if s, ok := ctx.Value(key{}).(*slot); ok {
		s.mu.Lock()
		s.userID, s.v = userID, v
		s.mu.Unlock()
	}
}

// Take returns the value Put kept for userID and empties the slot; false
// when ctx has no slot, the slot is empty or it holds another user.
func Take(ctx context.Context, userID string) (any, bool) {
	s, ok := ctx.Value(key{}).(*slot)
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.v == nil || s.userID != userID {
		return nil, false
	}
	v := s.v
	s.userID, s.v = "", nil
	return v, true
}
