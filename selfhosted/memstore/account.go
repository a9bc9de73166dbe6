package memstore

import (
	"context"
	"strings"

	"github.com/passkeyready/passkeys/selfhosted"
)

var _ selfhosted.AccountStore = (*Store)(nil)

// DeleteUser implements [selfhosted.AccountStore].
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return selfhosted.ErrNotFound
	}
	for _, c := range s.credsByUser[id] {
		delete(s.credentials, c)
	}
	delete(s.credsByUser, id)
	delete(s.activity.byUser, id)
	delete(s.otps, u.Email)
	prefix := selfhosted.UserOTPKeyPrefix(id)
	for k := range s.otps {
		if strings.HasPrefix(k, prefix) {
			delete(s.otps, k)
		}
	}
	delete(s.userByEmail, u.Email)
	delete(s.userByHandle, string(u.Handle))
	delete(s.users, id)
	return nil
}

// UpdateUserEmail implements [selfhosted.AccountStore].
func (s *Store) UpdateUserEmail(ctx context.Context, id, email string) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return selfhosted.ErrNotFound
	}
	if other, taken := s.userByEmail[email]; taken && other != id {
		return selfhosted.ErrDuplicate
	}
	delete(s.userByEmail, u.Email)
	u.Email = email
	s.users[id] = u
	s.userByEmail[email] = id
	return nil
}
