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
// expired ceremonies, the earliest expired first. A ceremony leaves the
// map and the expiry heap together, so what it holds is the ceremonies
// not yet taken, however many were taken before. It is safe for
// concurrent use.
type memCeremonies struct {
	mu     sync.Mutex
	byKey  map[string]*memCeremony
	expiry expiryHeap // the ceremonies of byKey, earliest expiry first
	puts   uint64
}

// memCeremony is one held ceremony, both in the map and in the heap.
type memCeremony struct {
	c     selfhosted.Ceremony
	index int // in expiry
}

func newMemCeremonies() *memCeremonies {
	return &memCeremonies{byKey: map[string]*memCeremony{}}
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
	if old, ok := m.byKey[c.Challenge]; ok {
		if old.c.ExpiresAt.After(now) {
			return selfhosted.ErrDuplicate
		}
		m.remove(old)
	}
	c.Session = bytes.Clone(c.Session)
	e := &memCeremony{c: c}
	m.byKey[c.Challenge] = e
	heap.Push(&m.expiry, e)
	return nil
}

// purge drops up to purgeLimit ceremonies expired at now.
func (m *memCeremonies) purge(now time.Time) {
	for n := 0; n < purgeLimit && len(m.expiry) > 0 && !m.expiry[0].c.ExpiresAt.After(now); n++ {
		m.remove(m.expiry[0])
	}
}

// remove deletes e from the map and the heap. m.mu must be held.
func (m *memCeremonies) remove(e *memCeremony) {
	heap.Remove(&m.expiry, e.index)
	delete(m.byKey, e.c.Challenge)
}

func (m *memCeremonies) take(ctx context.Context, challenge string, now time.Time) (selfhosted.Ceremony, error) {
	if err := ctx.Err(); err != nil {
		return selfhosted.Ceremony{}, storeErr("take ceremony", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byKey[challenge]
	if !ok || !e.c.ExpiresAt.After(now) {
		return selfhosted.Ceremony{}, selfhosted.ErrNotFound
	}
	m.remove(e)
	return e.c, nil
}

// count is how many ceremonies are held, live and expired alike.
func (m *memCeremonies) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byKey)
}

// expiryHeap is a container/heap of held ceremonies, earliest expiry
// first, each knowing its index.
type expiryHeap []*memCeremony

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].c.ExpiresAt.Before(h[j].c.ExpiresAt) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *expiryHeap) Push(x any) {
	e := x.(*memCeremony)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
