// Package memstore is an in-memory [selfhosted.Store], for tests and
// single-process experiments. Its data is lost when the process exits.
package memstore

import (
	"bytes"
	"container/heap"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// Store is an in-memory [selfhosted.Store]; the zero value is not usable,
// call [New]. It is safe for concurrent use. Byte slices are copied on the
// way in and out, so callers may reuse or change theirs.
type Store struct {
	mu           sync.Mutex
	users        map[string]selfhosted.UserRecord // by ID
	userByEmail  map[string]string                // email to ID
	userByHandle map[string]string                // handle to ID
	credentials  map[string]selfhosted.CredentialRecord
	credsByUser  map[string][]string // user ID to credential IDs, ordered by CreatedAt, then ID
	ceremonies   map[string]selfhosted.Ceremony
	otps         map[string]selfhosted.OTPRecord
	// otpEnds orders the codes by expiry (id is the email), so that
	// PutOTP's purge visits only codes that may have expired. An entry
	// can be stale (the code was deleted or replaced); the purge checks
	// the code itself.
	otpEnds  endHeap
	puts     uint64        // PutCeremony calls so far
	sessions sessionTable  // see sessions.go
	activity activityTable // see activity.go
}

// PutCeremony purges on every purgeEvery-th call, up to purgeLimit expired
// ceremonies: more than the calls in between add.
const (
	purgeEvery = 16
	purgeLimit = 100
)

var (
	_ selfhosted.Store               = (*Store)(nil)
	_ selfhosted.UserByIDStore       = (*Store)(nil)
	_ selfhosted.CredentialByIDStore = (*Store)(nil)
)

// New returns an empty Store.
func New() *Store {
	return &Store{
		users:        make(map[string]selfhosted.UserRecord),
		userByEmail:  make(map[string]string),
		userByHandle: make(map[string]string),
		credentials:  make(map[string]selfhosted.CredentialRecord),
		credsByUser:  make(map[string][]string),
		ceremonies:   make(map[string]selfhosted.Ceremony),
		otps:         make(map[string]selfhosted.OTPRecord),
	}
}

// lock takes the store's lock unless ctx is already done. On success the
// caller must unlock.
func (s *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	return nil
}

// CreateUser implements [selfhosted.UserStore].
func (s *Store) CreateUser(ctx context.Context, u selfhosted.UserRecord) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	_, idTaken := s.users[u.ID]
	_, emailTaken := s.userByEmail[u.Email]
	_, handleTaken := s.userByHandle[string(u.Handle)]
	if idTaken || emailTaken || handleTaken {
		return selfhosted.ErrDuplicate
	}
	s.users[u.ID] = cloneUser(u)
	s.userByEmail[u.Email] = u.ID
	s.userByHandle[string(u.Handle)] = u.ID
	return nil
}

// UserByID implements [selfhosted.UserByIDStore].
func (s *Store) UserByID(ctx context.Context, id string) (selfhosted.UserRecord, error) {
	if err := s.lock(ctx); err != nil {
		return selfhosted.UserRecord{}, err
	}
	defer s.mu.Unlock()
	return s.user(id)
}

// UserByEmail implements [selfhosted.UserStore].
func (s *Store) UserByEmail(ctx context.Context, email string) (selfhosted.UserRecord, error) {
	if err := s.lock(ctx); err != nil {
		return selfhosted.UserRecord{}, err
	}
	defer s.mu.Unlock()
	id, ok := s.userByEmail[email]
	if !ok {
		return selfhosted.UserRecord{}, selfhosted.ErrNotFound
	}
	return s.user(id)
}

// UserWithCredentials implements [selfhosted.UserStore].
func (s *Store) UserWithCredentials(ctx context.Context, k selfhosted.UserKey) (selfhosted.UserRecord, []selfhosted.CredentialRecord, error) {
	if err := k.Check(); err != nil {
		return selfhosted.UserRecord{}, nil, err
	}
	if err := s.lock(ctx); err != nil {
		return selfhosted.UserRecord{}, nil, err
	}
	defer s.mu.Unlock()
	id, ok := k.ID, true
	switch {
	case k.Email != "":
		id, ok = s.userByEmail[k.Email]
	case len(k.Handle) > 0:
		id, ok = s.userByHandle[string(k.Handle)]
	}
	if !ok {
		return selfhosted.UserRecord{}, nil, selfhosted.ErrNotFound
	}
	u, err := s.user(id)
	if err != nil {
		return selfhosted.UserRecord{}, nil, err
	}
	return u, s.userCredentials(id), nil
}

// user returns a copy of the user with this ID; s.mu must be held.
func (s *Store) user(id string) (selfhosted.UserRecord, error) {
	u, ok := s.users[id]
	if !ok {
		return selfhosted.UserRecord{}, selfhosted.ErrNotFound
	}
	return cloneUser(u), nil
}

// AddCredential implements [selfhosted.CredentialStore].
func (s *Store) AddCredential(ctx context.Context, c selfhosted.CredentialRecord) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if _, ok := s.credentials[string(c.ID)]; ok {
		return selfhosted.ErrDuplicate
	}
	s.credentials[string(c.ID)] = cloneCredential(c)
	ids := s.credsByUser[c.UserID]
	i, _ := slices.BinarySearchFunc(ids, c, func(id string, c selfhosted.CredentialRecord) int {
		return compareCredentials(s.credentials[id], c)
	})
	s.credsByUser[c.UserID] = slices.Insert(ids, i, string(c.ID))
	return nil
}

// compareCredentials orders credentials by CreatedAt, then ID.
func compareCredentials(a, b selfhosted.CredentialRecord) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return bytes.Compare(a.ID, b.ID)
}

// Credential implements [selfhosted.CredentialByIDStore].
func (s *Store) Credential(ctx context.Context, id []byte) (selfhosted.CredentialRecord, error) {
	if err := s.lock(ctx); err != nil {
		return selfhosted.CredentialRecord{}, err
	}
	defer s.mu.Unlock()
	c, ok := s.credentials[string(id)]
	if !ok {
		return selfhosted.CredentialRecord{}, selfhosted.ErrNotFound
	}
	return cloneCredential(c), nil
}

// CredentialsByUser implements [selfhosted.CredentialStore].
func (s *Store) CredentialsByUser(ctx context.Context, userID string) ([]selfhosted.CredentialRecord, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	return s.userCredentials(userID), nil
}

// userCredentials returns copies of the user's credentials in order;
// s.mu must be held.
func (s *Store) userCredentials(userID string) []selfhosted.CredentialRecord {
	ids := s.credsByUser[userID]
	list := make([]selfhosted.CredentialRecord, len(ids))
	for i, id := range ids {
		list[i] = cloneCredential(s.credentials[id])
	}
	return list
}

// RecordCredentialUse implements [selfhosted.CredentialStore].
func (s *Store) RecordCredentialUse(ctx context.Context, u selfhosted.CredentialUse) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	c, ok := s.credentials[string(u.ID)]
	if !ok {
		return selfhosted.ErrNotFound
	}
	if u.SignCount <= c.SignCount && (u.SignCount != 0 || c.SignCount != 0) {
		return selfhosted.ErrCounterRegressed
	}
	c.SignCount, c.BackupState, c.LastUsedAt = u.SignCount, u.BackupState, u.UsedAt
	s.credentials[string(u.ID)] = c
	return nil
}

// DeleteCredential implements [selfhosted.CredentialStore].
func (s *Store) DeleteCredential(ctx context.Context, userID string, id []byte) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	c, ok := s.credentials[string(id)]
	if !ok || c.UserID != userID {
		return selfhosted.ErrNotFound
	}
	delete(s.credentials, string(id))
	ids := slices.DeleteFunc(s.credsByUser[userID], func(other string) bool { return other == string(id) })
	if len(ids) == 0 {
		delete(s.credsByUser, userID)
	} else {
		s.credsByUser[userID] = ids
	}
	return nil
}

var _ selfhosted.CredentialRenamer = (*Store)(nil)

// RenameCredential implements [selfhosted.CredentialRenamer].
func (s *Store) RenameCredential(ctx context.Context, userID string, id []byte, name string) (selfhosted.CredentialRecord, error) {
	if err := s.lock(ctx); err != nil {
		return selfhosted.CredentialRecord{}, err
	}
	defer s.mu.Unlock()
	c, ok := s.credentials[string(id)]
	if !ok || c.UserID != userID {
		return selfhosted.CredentialRecord{}, selfhosted.ErrNotFound
	}
	c.Name = name
	s.credentials[string(id)] = c
	return cloneCredential(c), nil
}

// PutCeremony implements [selfhosted.CeremonyStore]. On every
// purgeEvery-th call it first drops up to purgeLimit ceremonies expired at
// now.
func (s *Store) PutCeremony(ctx context.Context, c selfhosted.Ceremony, now time.Time) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if s.puts++; s.puts%purgeEvery == 1 {
		dropped := 0
		for k, old := range s.ceremonies {
			if dropped == purgeLimit {
				break
			}
			if !old.ExpiresAt.After(now) {
				delete(s.ceremonies, k)
				dropped++
			}
		}
	}
	if old, ok := s.ceremonies[c.Challenge]; ok && old.ExpiresAt.After(now) {
		return selfhosted.ErrDuplicate
	}
	c.Session = bytes.Clone(c.Session)
	s.ceremonies[c.Challenge] = c
	return nil
}

// TakeCeremony implements [selfhosted.CeremonyStore].
func (s *Store) TakeCeremony(ctx context.Context, challenge string, now time.Time) (selfhosted.Ceremony, error) {
	if err := s.lock(ctx); err != nil {
		return selfhosted.Ceremony{}, err
	}
	defer s.mu.Unlock()
	c, ok := s.ceremonies[challenge]
	if !ok || !c.ExpiresAt.After(now) {
		return selfhosted.Ceremony{}, selfhosted.ErrNotFound
	}
	delete(s.ceremonies, challenge)
	return c, nil
}

var _ selfhosted.CeremonyWithHandleUserStore = (*Store)(nil)

// TakeCeremonyWithHandleUser implements
// [selfhosted.CeremonyWithHandleUserStore] under one hold of the lock.
func (s *Store) TakeCeremonyWithHandleUser(ctx context.Context, challenge string, handle []byte, now time.Time) (selfhosted.Ceremony, selfhosted.UserRecord, []selfhosted.CredentialRecord, error) {
	if err := s.lock(ctx); err != nil {
		return selfhosted.Ceremony{}, selfhosted.UserRecord{}, nil, err
	}
	defer s.mu.Unlock()
	c, ok := s.ceremonies[challenge]
	if !ok || !c.ExpiresAt.After(now) {
		return selfhosted.Ceremony{}, selfhosted.UserRecord{}, nil, selfhosted.ErrNotFound
	}
	delete(s.ceremonies, challenge)
	id, ok := s.userByHandle[string(handle)]
	if !ok || len(handle) == 0 {
		return c, selfhosted.UserRecord{}, nil, nil
	}
	u, err := s.user(id)
	if err != nil {
		return c, selfhosted.UserRecord{}, nil, nil
	}
	return c, u, s.userCredentials(id), nil
}

// PutOTP implements [selfhosted.OTPStore]. It first drops up to purgeLimit
// codes expired at o.CreatedAt, earliest first.
func (s *Store) PutOTP(ctx context.Context, o selfhosted.OTPRecord, keepIfCreatedAfter time.Time) (bool, error) {
	if err := s.lock(ctx); err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	s.purgeOTPs(o.CreatedAt)
	if old, ok := s.otps[o.Email]; ok && old.ExpiresAt.After(o.CreatedAt) && old.CreatedAt.After(keepIfCreatedAfter) {
		return false, nil
	}
	o.Hash = bytes.Clone(o.Hash)
	s.otps[o.Email] = o
	heap.Push(&s.otpEnds, sessionEnd{o.ExpiresAt, o.Email})
	return true, nil
}

// purgeOTPs drops up to purgeLimit codes expired at now, earliest first;
// the caller holds the lock. It visits only the entries of otpEnds that
// are due, so its cost does not grow with the live codes; as every put
// adds one entry and may drop up to purgeLimit, expired codes do not pile
// up.
func (s *Store) purgeOTPs(now time.Time) {
	for dropped := 0; dropped < purgeLimit && len(s.otpEnds) > 0 && !s.otpEnds[0].at.After(now); {
		e := heap.Pop(&s.otpEnds).(sessionEnd)
		if o, ok := s.otps[e.id]; ok && !o.ExpiresAt.After(now) {
			delete(s.otps, e.id)
			dropped++
		}
		// Otherwise deleted, or replaced by a code with an entry of its own.
	}
}

// ReserveOTPAttempt implements [selfhosted.OTPStore].
func (s *Store) ReserveOTPAttempt(ctx context.Context, email string, now time.Time, maxAttempts int) (selfhosted.OTPRecord, error) {
	if err := s.lock(ctx); err != nil {
		return selfhosted.OTPRecord{}, err
	}
	defer s.mu.Unlock()
	o, ok := s.otps[email]
	if !ok || !o.ExpiresAt.After(now) || o.Attempts >= maxAttempts {
		return selfhosted.OTPRecord{}, selfhosted.ErrNotFound
	}
	o.Attempts++
	s.otps[email] = o
	o.Hash = bytes.Clone(o.Hash)
	return o, nil
}

// DeleteOTP implements [selfhosted.OTPStore].
func (s *Store) DeleteOTP(ctx context.Context, email string, hash []byte) error {
	if err := s.lock(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	o, ok := s.otps[email]
	if !ok || !bytes.Equal(o.Hash, hash) {
		return selfhosted.ErrNotFound
	}
	delete(s.otps, email)
	return nil
}

func cloneUser(u selfhosted.UserRecord) selfhosted.UserRecord {
	u.Handle = bytes.Clone(u.Handle)
	return u
}

func cloneCredential(c selfhosted.CredentialRecord) selfhosted.CredentialRecord {
	c.ID, c.Data = bytes.Clone(c.ID), bytes.Clone(c.Data)
	return c
}
