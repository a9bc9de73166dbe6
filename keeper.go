package passkeys

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"
)

// CeremonyKeeper keeps small pieces of server-side state until they are
// used once or expire: the Corbado backend keeps each pending ceremony
// under its challenge, and the one-time code in flight under its email.
type CeremonyKeeper interface {
	// Keep stores state under key until expires, replacing whatever is
	// kept under key. Implementations may drop entries expired at now.
	Keep(ctx context.Context, key string, state []byte, now, expires time.Time) error
	// Take removes and returns the state kept under key in one atomic
	// step, if it has not expired at now (expires after now). Of
	// concurrent callers exactly one gets it; the others, and any caller
	// after the expiry, get [ErrKeeperMiss].
	Take(ctx context.Context, key string, now time.Time) ([]byte, error)
}

// ErrKeeperMiss is returned by [CeremonyKeeper.Take] when nothing live is
// kept under the key.
var ErrKeeperMiss = errors.New("passkeys: nothing kept under this key")

// MemoryKeeper is a [CeremonyKeeper] in this process's memory, the
// default of [CorbadoOptions.Ceremonies]. It holds at most a fixed number
// of entries: expired ones are dropped, oldest first, at every Keep and
// Take, and when it is full the entry kept longest ago makes room.
type MemoryKeeper struct {
	mu    sync.Mutex
	limit int
	seq   uint64
	items map[string]keptState
	order []keptRef // in the order kept; may hold replaced or taken entries
}

type keptState struct {
	state   []byte
	expires time.Time
	seq     uint64
}

type keptRef struct {
	key string
	seq uint64
}

var _ CeremonyKeeper = (*MemoryKeeper)(nil)

// NewMemoryKeeper returns a MemoryKeeper holding at most limit entries
// (100,000 when limit is not positive).
func NewMemoryKeeper(limit int) *MemoryKeeper {
	if limit <= 0 {
		limit = corbadoKeeperLimit
	}
	return &MemoryKeeper{limit: limit, items: make(map[string]keptState)}
}

// Keep implements [CeremonyKeeper].
func (m *MemoryKeeper) Keep(ctx context.Context, key string, state []byte, now, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.order) > 0 && m.dropFront(now, false) {
	}
	if _, ok := m.items[key]; !ok {
		for len(m.items) >= m.limit && len(m.order) > 0 {
			m.dropFront(now, true)
		}
	}
	m.seq++
	m.items[key] = keptState{state: bytes.Clone(state), expires: expires, seq: m.seq}
	m.order = append(m.order, keptRef{key: key, seq: m.seq})
	return nil
}

// Take implements [CeremonyKeeper].
func (m *MemoryKeeper) Take(ctx context.Context, key string, now time.Time) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.order) > 0 && m.dropFront(now, false) {
	}
	it, ok := m.items[key]
	delete(m.items, key)
	if !ok || !it.expires.After(now) {
		return nil, ErrKeeperMiss
	}
	return it.state, nil
}

// dropFront removes the oldest reference when it is stale, expired at
// now or (with force) live, and reports whether it removed one. m.mu must
// be held.
func (m *MemoryKeeper) dropFront(now time.Time, force bool) bool {
	ref := m.order[0]
	it, ok := m.items[ref.key]
	live := ok && it.seq == ref.seq
	if live && !force && it.expires.After(now) {
		return false
	}
	if live {
		delete(m.items, ref.key)
	}
	m.order = m.order[1:]
	return true
}
