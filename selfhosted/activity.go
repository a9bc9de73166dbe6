package selfhosted

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passkeyready/passkeys"
)

// The retention of an [ActivityStore]: a stored activity is kept for
// ActivityMaxAge, and a user keeps at most ActivityMaxPerUser of them (the
// oldest go first).
const (
	ActivityMaxAge     = 90 * 24 * time.Hour
	ActivityMaxPerUser = 200
)

// ActivityRecord is one stored security event of a user: the audit trail
// that [NewActivitySink] writes and GET account/activity lists. It holds
// no code, token, challenge or key.
//
// Strings are valid UTF-8 without NUL bytes; the sink cleans what it
// takes from the event. Times are stored to the microsecond.
type ActivityRecord struct {
	UserID string
	// Kind is the event's kind (a [passkeys.EventKind], such as "login").
	Kind string
	At   time.Time
	// Method is how the user signed in (login, sign_up); empty otherwise.
	Method string
	// Detail is the kind's detail: the passkey's name (passkey_added; the
	// new name for passkey_renamed; passkey_removed events carry only the
	// passkey's ID), the reason (code_failed, rate_limited,
	// session_revoked); empty otherwise.
	Detail string
	// IP and UserAgent describe the client; UserAgent is display-safe
	// (no control or format characters) and at most 512 bytes.
	IP        string
	UserAgent string
}

// ActivityStore stores the audit trail. It is an optional capability of
// a [Store], discovered with a type assertion; memstore, sqlitestore and
// pgstore have it:
//
//	as, ok := store.(selfhosted.ActivityStore)
//
// storetest.RunHarness checks it when a store implements it. Its methods
// must be safe for concurrent use, also across instances when the store
// is shared.
type ActivityStore interface {
	// AppendActivity stores r. It never fails for a duplicate: two equal
	// records are two events. Implementations purge here, in passing and
	// a bounded number at a time: the records of r.UserID beyond the
	// newest ActivityMaxPerUser, and records older than ActivityMaxAge at
	// now, so that the trail cannot grow without bound.
	AppendActivity(ctx context.Context, r ActivityRecord, now time.Time) error
	// ActivityByUser returns at most limit records of the user that are
	// younger than ActivityMaxAge at now (At after now - ActivityMaxAge),
	// newest first: by At descending, then the later append first. A user
	// without records gets an empty slice and no error.
	ActivityByUser(ctx context.Context, userID string, now time.Time, limit int) ([]ActivityRecord, error)
	// DeleteActivity deletes every record of the user. A user without
	// records is no error. A store that is also an [AccountStore] deletes
	// them in DeleteUser as well, with the account.
	DeleteActivity(ctx context.Context, userID string) error
}

// ActivityBatchStore is an optional capability of an [ActivityStore],
// discovered with a type assertion: the sink of [NewActivitySink] stores
// the events it is handed together ([passkeys.EventBatchSink]) in one
// AppendActivities call. memstore, sqlitestore and pgstore have it;
// storetest.RunHarness checks it when a store implements it.
type ActivityBatchStore interface {
	ActivityStore
	// AppendActivities stores rs as AppendActivity would one after the
	// other, in order (of records with equal At, the later in rs is listed
	// first), but in one write: all of them or, when it fails, none. It
	// purges in passing as AppendActivity does, in proportion to len(rs),
	// and trims each user of rs to the newest ActivityMaxPerUser once.
	// An empty rs is no error.
	AppendActivities(ctx context.Context, rs []ActivityRecord, now time.Time) error
}

// ActivityKinds are the event kinds [NewActivitySink] stores: the
// security events that concern one user.
var ActivityKinds = []passkeys.EventKind{
	passkeys.EventSignUp, passkeys.EventLogin, passkeys.EventPasskeyAdded, passkeys.EventPasskeyRenamed, passkeys.EventPasskeyRemoved,
	passkeys.EventSessionRevoked, passkeys.EventEmailChanged, passkeys.EventCodeFailed, passkeys.EventRateLimited,
}

// NewActivitySink returns a [passkeys.EventSink] that appends to store
// the events of [ActivityKinds] whose user is known, at the event's Time
// (so retention follows [passkeys.Options.Clock]). An event without a
// user ID but with an email (a code failed or a per-email limit hit
// during sign-in) is stored for the account of that email when store is
// also a [UserStore] and the account exists; otherwise it is not stored.
// On account_deleted it deletes the account's records
// ([ActivityStore.DeleteActivity]), so that none outlives the account,
// whichever backend keeps it, and it drops the account's events queued
// after that one (by a request that ran beside the deletion) for as long
// as no account has the ID again. It keeps the kind, time, method, a detail (the passkey's name, or the
// event's reason for code_failed, rate_limited and session_revoked), the
// client's IP and its user agent, cleaned as the sessions list cleans it;
// never an email address, code, token or challenge. A failed write loses
// its event; the first of a run of failures is logged to logger
// (slog.Default() when nil) at ERROR with the kind and the error, the
// next write that works logs at WARN how many events were lost
// (events_lost), and the failures between are not logged. Hand it to [passkeys.Options.Events],
// beside other sinks through [passkeys.MultiSink], and to
// [passkeys.Options.Activity], which serves GET account/activity.
//
// The sink is a [passkeys.EventBatchSink]: the events queued together
// are stored in one write when store is an [ActivityBatchStore]. When
// that write fails, the records are appended one by one, so that a record
// the store refuses loses only its own event; when it fails because the
// store is unavailable ([passkeys.ErrUnavailable]), the batch's events are
// lost and counted as above without another try.
func NewActivitySink(store ActivityStore, logger *slog.Logger) *ActivitySink {
	if logger == nil {
		logger = slog.Default()
	}
	return &ActivitySink{store: store, logger: logger}
}

// ActivitySink records security events in an [ActivityStore] and lists
// them; see [NewActivitySink].
type ActivitySink struct {
	store  ActivityStore
	logger *slog.Logger
	// failing is set from a failed write to the next one that works;
	// lost counts the events lost meanwhile.
	failing atomic.Bool
	lost    atomic.Uint64

	// deleted holds the user IDs of the last deletedKept account_deleted
	// events, oldest first, so that an event of such an account queued
	// after its deletion (by a request that ran beside it) is not stored.
	mu      sync.Mutex
	deleted []string
	isGone  map[string]bool
}

// deletedKept is how many deleted accounts the sink remembers. Events of
// an account arrive within moments of its deletion, so this covers that
// many deletions in those moments; it costs some 100 KB when full.
const deletedKept = 2048

// forget records that the account userID was deleted.
func (a *ActivitySink) forget(userID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.isGone == nil {
		a.isGone = make(map[string]bool, deletedKept)
	}
	if a.isGone[userID] {
		return
	}
	if len(a.deleted) == deletedKept {
		delete(a.isGone, a.deleted[0])
		a.deleted = append(a.deleted[:0], a.deleted[1:]...)
	}
	a.deleted = append(a.deleted, userID)
	a.isGone[userID] = true
}

// gone reports whether the account userID was deleted lately and is not
// back: a host's own user ID names its account again once the host's user
// adds a passkey anew, so when the store is a [UserStore] an ID that
// exists again is forgotten, and its events are stored again.
func (a *ActivitySink) gone(ctx context.Context, userID string, e passkeys.Event) bool {
	a.mu.Lock()
	gone := a.isGone[userID]
	a.mu.Unlock()
	if !gone {
		return false
	}
	users, ok := a.store.(UserStore)
	if !ok {
		return true
	}
	_, _, err := users.UserWithCredentials(ctx, UserKey{ID: userID})
	switch {
	case errors.Is(err, ErrNotFound):
		return true
	case err != nil:
		a.failed(ctx, "read user", e, err)
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.isGone, userID)
	a.deleted = slices.DeleteFunc(a.deleted, func(id string) bool { return id == userID })
	return false
}

// failed logs a failed write at ERROR when it starts a run of failures;
// the failures after it are only counted, and the next write that works
// logs at WARN how many events were lost, so that an outage of the store
// gives two lines and not one per event.
func (a *ActivitySink) failed(ctx context.Context, op string, e passkeys.Event, err error) {
	a.failedKind(ctx, op, e.Kind, 1, err)
}

// failedKind is failed for n events, the first of kind.
func (a *ActivitySink) failedKind(ctx context.Context, op string, kind passkeys.EventKind, n int, err error) {
	a.lost.Add(uint64(n))
	if a.failing.CompareAndSwap(false, true) {
		a.logger.Log(ctx, slog.LevelError, "passkeys: activity: "+op, "kind", string(kind), "err", err)
	}
}

// worked ends a run of failures.
func (a *ActivitySink) worked(ctx context.Context) {
	if a.failing.Load() && a.failing.CompareAndSwap(true, false) {
		a.logger.Log(ctx, slog.LevelWarn, "passkeys: activity: recording again", "events_lost", a.lost.Swap(0))
	}
}

var (
	_ passkeys.EventBatchSink = (*ActivitySink)(nil)
	_ passkeys.ActivityLister = (*ActivitySink)(nil)
)

// ListActivity implements [passkeys.ActivityLister] with
// [ActivityStore.ActivityByUser].
func (a *ActivitySink) ListActivity(ctx context.Context, userID string, now time.Time, limit int) ([]passkeys.Activity, error) {
	rs, err := a.store.ActivityByUser(ctx, userID, now, limit)
	if err != nil {
		return nil, err
	}
	list := make([]passkeys.Activity, len(rs))
	for i, r := range rs {
		list[i] = passkeys.Activity{
			Kind: passkeys.EventKind(r.Kind), At: r.At, Method: passkeys.Method(r.Method),
			Detail: r.Detail, IP: r.IP, UserAgent: r.UserAgent,
		}
	}
	return list, nil
}

// HandleEvent implements [passkeys.EventSink].
func (a *ActivitySink) HandleEvent(ctx context.Context, e passkeys.Event) {
	a.HandleEvents(ctx, []passkeys.Event{e})
}

// pendingRecord is a record of HandleEvents not yet written, with its
// event's kind and time.
type pendingRecord struct {
	r    ActivityRecord
	kind passkeys.EventKind
	now  time.Time
}

// HandleEvents implements [passkeys.EventBatchSink]: it handles events in
// order as HandleEvent would one by one, and writes their records
// together.
func (a *ActivitySink) HandleEvents(ctx context.Context, events []passkeys.Event) {
	var pending []pendingRecord
	for _, e := range events {
		if e.Kind == passkeys.EventAccountDeleted && e.User.ID != "" {
			// The store's DeleteUser has done so already, but not for the
			// events of the account that were still queued then, nor for an
			// account kept elsewhere (Corbado). Its events that are queued
			// after this one are dropped, and those before it in this
			// batch are not written.
			id := clean(e.User.ID, -1)
			pending = slices.DeleteFunc(pending, func(p pendingRecord) bool { return p.r.UserID == id })
			a.forget(e.User.ID)
			if err := a.store.DeleteActivity(ctx, e.User.ID); err != nil {
				a.failed(ctx, "delete", e, err)
				continue
			}
			a.worked(ctx)
			continue
		}
		if r, ok := a.record(ctx, e); ok {
			pending = append(pending, pendingRecord{r: r, kind: e.Kind, now: e.Time})
		}
	}
	a.append(ctx, pending)
}

// record is the record of e, or false when e is not to be stored.
func (a *ActivitySink) record(ctx context.Context, e passkeys.Event) (ActivityRecord, bool) {
	if !slices.Contains(ActivityKinds, e.Kind) {
		return ActivityRecord{}, false
	}
	userID := e.User.ID
	if userID == "" && e.Email != "" {
		users, ok := a.store.(UserStore)
		if !ok {
			return ActivityRecord{}, false
		}
		u, err := users.UserByEmail(ctx, e.Email)
		if err != nil {
			if !errors.Is(err, ErrNotFound) {
				a.failed(ctx, "read user", e, err)
			}
			return ActivityRecord{}, false
		}
		userID = u.ID
	}
	if userID == "" || a.gone(ctx, userID, e) {
		return ActivityRecord{}, false
	}
	r := ActivityRecord{
		UserID:    clean(userID, -1),
		Kind:      string(e.Kind),
		At:        e.Time.UTC().Truncate(time.Microsecond),
		Method:    clean(string(e.Method), 32),
		IP:        clean(e.Client.RemoteAddr, maxIP),
		UserAgent: clean(displayText(e.Client.UserAgent), maxUserAgent),
	}
	switch e.Kind {
	case passkeys.EventPasskeyAdded, passkeys.EventPasskeyRenamed, passkeys.EventPasskeyRemoved:
		r.Detail = clean(displayText(e.PasskeyName), 256)
	case passkeys.EventCodeFailed, passkeys.EventRateLimited, passkeys.EventSessionRevoked:
		r.Detail = clean(e.Reason, 64)
	}
	return r, true
}

// append writes pending: in one AppendActivities call when the store has
// it and there are several, else (and after that call failed for another
// reason than an unavailable store) one AppendActivity call each, at its
// event's time.
func (a *ActivitySink) append(ctx context.Context, pending []pendingRecord) {
	if len(pending) == 0 {
		return
	}
	if b, ok := a.store.(ActivityBatchStore); ok && len(pending) > 1 {
		rs := make([]ActivityRecord, len(pending))
		now := pending[0].now
		for i, p := range pending {
			rs[i] = p.r
			if p.now.After(now) {
				now = p.now
			}
		}
		err := b.AppendActivities(ctx, rs, now)
		if err == nil {
			a.worked(ctx)
			return
		}
		if errors.Is(err, passkeys.ErrUnavailable) {
			a.failedKind(ctx, "append", pending[0].kind, len(pending), err)
			return
		}
	}
	for _, p := range pending {
		if err := a.store.AppendActivity(ctx, p.r, p.now); err != nil {
			a.failedKind(ctx, "append", p.kind, 1, err)
			continue
		}
		a.worked(ctx)
	}
}
