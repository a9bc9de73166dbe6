package passkeys

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"
)

// CeremonyKeeper keeps small pieces of server-side state until they are
// used once or expire: the Corbado backend keeps each pending ceremony
// under its challenge, and per email the one-time code in flight and the
// resend cooldown.
//
// A CeremonyKeeper is called by many requests at once and must be safe for
// concurrent use; a keeper shared by several instances (such as
// selfhosted.Keeper on one database) keeps the atomicity below across
// them. Time is what the caller passes as now, never the keeper's own
// clock. Keys are opaque strings compared byte for byte; state is opaque
// bytes returned exactly as added. The conformance suite
// passkeystest/keepertest checks an implementation with one call.
type CeremonyKeeper interface {
	// Add stores state under key until expires, unless a live entry (one
	// that expires after now) is kept under key: then it returns
	// [ErrKeeperExists] and changes nothing. An expired entry does not
	// count; Add replaces it. Of concurrent Adds on a key without a live
	// entry exactly one succeeds.
	Add(ctx context.Context, key string, state []byte, now, expires time.Time) error
	// Take removes and returns the state kept under key in one atomic
	// step, if it has not expired at now (expires after now). Of
	// concurrent callers exactly one gets it; the others, and any caller
	// after the expiry, get [ErrKeeperMiss].
	Take(ctx context.Context, key string, now time.Time) ([]byte, error)
}

var (
	// ErrKeeperMiss is returned by [CeremonyKeeper.Take] when nothing live
	// is kept under the key.
	ErrKeeperMiss = errors.New("passkeys: nothing kept under this key")
	// ErrKeeperExists is returned by [CeremonyKeeper.Add] when a live entry
	// is kept under the key.
	ErrKeeperExists = errors.New("passkeys: a live entry is kept under this key")
)

// MemoryKeeper is a [CeremonyKeeper] in this process's memory, the
// default of [CorbadoOptions.Ceremonies], safe for concurrent use. It holds at most a fixed number
// of entries: expired ones are dropped at every Add and Take, and when it
// is full the entry closest to its expiry makes room, so that a flood of
// short-lived entries cannot push out the longer-lived ones.
type MemoryKeeper struct {
	mu       sync.Mutex
	limit    int
	items    map[string]*keptItem
	byExpiry expiryHeap
}

// keptItem is one entry, both in the map and in the heap.
type keptItem struct {
	key     string
	state   []byte
	expires time.Time
	index   int // in byExpiry
}

var _ CeremonyKeeper = (*MemoryKeeper)(nil)

// DefaultMemoryKeeperLimit is the number of entries a MemoryKeeper holds
// when [NewMemoryKeeper] is given no positive limit.
const DefaultMemoryKeeperLimit = 100_000

// NewMemoryKeeper returns a MemoryKeeper holding at most limit entries
// ([DefaultMemoryKeeperLimit] when limit is not positive).
func NewMemoryKeeper(limit int) *MemoryKeeper {
	if limit <= 0 {
		limit = DefaultMemoryKeeperLimit
	}
	return &MemoryKeeper{limit: limit, items: make(map[string]*keptItem)}
}

// Add implements [CeremonyKeeper].
func (m *MemoryKeeper) Add(ctx context.Context, key string, state []byte, now, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropExpired(now)
	if _, ok := m.items[key]; ok {
		return ErrKeeperExists
	}
	for len(m.items) >= m.limit {
		m.remove(m.byExpiry[0])
	}
	it := &keptItem{key: key, state: bytes.Clone(state), expires: expires}
	m.items[key] = it
	heap.Push(&m.byExpiry, it)
	return nil
}

// Take implements [CeremonyKeeper].
func (m *MemoryKeeper) Take(ctx context.Context, key string, now time.Time) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropExpired(now)
	it, ok := m.items[key]
	if !ok {
		return nil, ErrKeeperMiss
	}
	m.remove(it)
	return it.state, nil
}

// dropExpired removes every entry expired at now. m.mu must be held.
func (m *MemoryKeeper) dropExpired(now time.Time) {
	for len(m.byExpiry) > 0 && !m.byExpiry[0].expires.After(now) {
		m.remove(m.byExpiry[0])
	}
}

// remove deletes it from the map and the heap. m.mu must be held.
func (m *MemoryKeeper) remove(it *keptItem) {
	heap.Remove(&m.byExpiry, it.index)
	delete(m.items, it.key)
}

// expiryHeap orders entries by expiry, the soonest first.
type expiryHeap []*keptItem

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *expiryHeap) Push(x any) {
	it := x.(*keptItem)
	it.index = len(*h)
	*h = append(*h, it)
}

func (h *expiryHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}
