package sqlitestore

import (
	"bytes"
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// memCeremonies keeps the ceremonies of a store opened with
// [Options.SingleProcess] in this process's memory, with the semantics of
// the ceremonies table: PutCeremony refuses a live challenge and replaces
// an expired one, TakeCeremony removes a live ceremony and leaves an
// expired one, and every purgeEvery-th put first drops up to purgeLimit
// expired ceremonies, the earliest expired first. It is safe for
// concurrent use.
type memCeremonies struct {
	mu     sync.Mutex
	byKey  map[string]selfhosted.Ceremony
	expiry expiryHeap // (expiry, challenge) of every put, earliest first; a taken or replaced one's entry stays until popped
	puts   uint64
}

func newMemCeremonies() *memCeremonies {
	return &memCeremonies{byKey: map[string]selfhosted.Ceremony{}}
}

func (m *memCeremonies) put(ctx context.Context, c selfhosted.Ceremony, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return storeErr("put ceremony", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.puts++; m.puts%purgeEvery == 1 {
		m.purge(now)
	}
	if old, ok := m.byKey[c.Challenge]; ok && old.ExpiresAt.After(now) {
		return selfhosted.ErrDuplicate
	}
	c.Session = bytes.Clone(c.Session)
	m.byKey[c.Challenge] = c
	heap.Push(&m.expiry, expiryEntry{c.ExpiresAt, c.Challenge})
	return nil
}

// purge drops up to purgeLimit ceremonies expired at now, and the heap
// entries of ceremonies no longer held that it meets on the way.
func (m *memCeremonies) purge(now time.Time) {
	for dropped := 0; dropped < purgeLimit && len(m.expiry) > 0 && !m.expiry[0].at.After(now); {
		e := heap.Pop(&m.expiry).(expiryEntry)
		if c, ok := m.byKey[e.challenge]; ok && c.ExpiresAt.Equal(e.at) {
			delete(m.byKey, e.challenge)
			dropped++
		}
	}
}

func (m *memCeremonies) take(ctx context.Context, challenge string, now time.Time) (selfhosted.Ceremony, error) {
	if err := ctx.Err(); err != nil {
		return selfhosted.Ceremony{}, storeErr("take ceremony", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.byKey[challenge]
	if !ok || !c.ExpiresAt.After(now) {
		return selfhosted.Ceremony{}, selfhosted.ErrNotFound
	}
	delete(m.byKey, challenge)
	return c, nil
}

// count is how many ceremonies are held, live and expired alike.
func (m *memCeremonies) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byKey)
}

type expiryEntry struct {
	at        time.Time
	challenge string
}

// expiryHeap is a container/heap of entries, earliest expiry first.
type expiryHeap []expiryEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryEntry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
