package selfhosted_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

// batchStore is a memstore that counts its appends and refuses, with
// refuse, any write that holds a record whose Detail is "bad" (both calls)
// and, with down, every batch as unavailable.
type batchStore struct {
	*memstore.Store
	batches, singles int
	down             bool
}

var errRefused = errors.New("record refused")

func (s *batchStore) AppendActivities(ctx context.Context, rs []selfhosted.ActivityRecord, now time.Time) error {
	s.batches++
	if s.down {
		return passkeys.ErrUnavailable.With("", errors.New("store down"))
	}
	if slices.ContainsFunc(rs, func(r selfhosted.ActivityRecord) bool { return r.Detail == "bad" }) {
		return errRefused
	}
	return s.Store.AppendActivities(ctx, rs, now)
}

func (s *batchStore) AppendActivity(ctx context.Context, r selfhosted.ActivityRecord, now time.Time) error {
	s.singles++
	if s.down {
		return passkeys.ErrUnavailable.With("", errors.New("store down"))
	}
	if r.Detail == "bad" {
		return errRefused
	}
	return s.Store.AppendActivity(ctx, r, now)
}

func kinds(rs []selfhosted.ActivityRecord) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.Kind + "/" + r.Detail
	}
	return strings.Join(s, " ")
}

// HandleEvents stores the records of a batch in one AppendActivities
// call, as HandleEvent would one by one: kinds not kept and events
// without an account are left out, an email's account is looked up, and
// the records of an account deleted later in the batch are not written.
func TestActivitySinkBatch(t *testing.T) {
	ctx := t.Context()
	store := &batchStore{Store: memstore.New()}
	if err := store.CreateUser(ctx, selfhosted.UserRecord{ID: "u1", Email: "a@example.com", Handle: make([]byte, 32), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	sink := selfhosted.NewActivitySink(store, nil)
	now := time.Date(2026, 1, 2, 3, 4, 5, 6789, time.UTC)
	u1, u2, u3 := passkeys.User{ID: "u1"}, passkeys.User{ID: "u2"}, passkeys.User{ID: "u3"}
	events := []passkeys.Event{
		{Kind: passkeys.EventLogin, User: u1, Method: passkeys.MethodPasskey},
		{Kind: passkeys.EventLogin, User: u2, Method: passkeys.MethodPasskey},
		{Kind: passkeys.EventRequest, User: u1},                                     // not a stored kind
		{Kind: passkeys.EventCodeFailed, Email: "a@example.com", Reason: "sign_in"}, // u1's
		{Kind: passkeys.EventRateLimited, Reason: "ip"},                             // no user
		{Kind: passkeys.EventPasskeyAdded, User: u3, PasskeyName: "gone"},
		{Kind: passkeys.EventAccountDeleted, User: u3},
		{Kind: passkeys.EventPasskeyRemoved, User: u3}, // after the deletion
		{Kind: passkeys.EventSessionRevoked, User: u2, Reason: "logout"},
	}
	for i := range events {
		events[i].Time = now.Add(time.Duration(i) * time.Second)
	}
	sink.HandleEvents(ctx, events)
	if store.batches != 1 || store.singles != 0 {
		t.Errorf("%d AppendActivities and %d AppendActivity calls, want one batch", store.batches, store.singles)
	}
	later := now.Add(time.Hour)
	for _, c := range []struct{ user, want string }{
		{"u1", "code_failed/sign_in login/"},
		{"u2", "session_revoked/logout login/"},
		{"u3", ""},
	} {
		got, err := store.ActivityByUser(ctx, c.user, later, 50)
		if err != nil {
			t.Fatal(err)
		}
		if kinds(got) != c.want {
			t.Errorf("records of %s: %q, want %q", c.user, kinds(got), c.want)
		}
	}
	// One event alone is one AppendActivity call.
	sink.HandleEvents(ctx, events[:1])
	if store.batches != 1 || store.singles != 1 {
		t.Errorf("a batch of one: %d AppendActivities and %d AppendActivity calls in all, want 1 and 1", store.batches, store.singles)
	}
}

// A batch the store refuses is written record by record, so that only
// the record it refuses is lost (one ERROR line, then a WARN with
// events_lost=1); a batch refused because the store is unavailable is
// lost whole, counted, and not retried.
func TestActivitySinkBatchFailures(t *testing.T) {
	ctx := t.Context()
	var logs bytes.Buffer
	store := &batchStore{Store: memstore.New()}
	sink := selfhosted.NewActivitySink(store, slog.New(slog.NewTextHandler(&logs, nil)))
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	batch := func(details ...string) []passkeys.Event {
		var es []passkeys.Event
		for i, d := range details {
			es = append(es, passkeys.Event{Kind: passkeys.EventSessionRevoked, Time: now.Add(time.Duration(i) * time.Millisecond),
				User: passkeys.User{ID: "u1"}, Reason: d})
		}
		return es
	}
	sink.HandleEvents(ctx, batch("a", "bad", "c"))
	if store.batches != 1 || store.singles != 3 {
		t.Errorf("a refused batch of 3: %d AppendActivities and %d AppendActivity calls, want 1 and 3", store.batches, store.singles)
	}
	if l, _ := store.ActivityByUser(ctx, "u1", now.Add(time.Second), 50); kinds(l) != "session_revoked/c session_revoked/a" {
		t.Errorf("after a refused batch: %q, want the two good records", kinds(l))
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 || !strings.Contains(logs.String(), `msg="passkeys: activity: append" kind=session_revoked err="record refused"`) {
		t.Errorf("%d ERROR lines for the refused record, want one:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 || !strings.Contains(logs.String(), "events_lost=1") {
		t.Errorf("%d WARN lines after the good record, want one with events_lost=1:\n%s", n, logs.String())
	}

	logs.Reset()
	store.batches, store.singles, store.down = 0, 0, true
	sink.HandleEvents(ctx, batch("d", "e", "f", "g"))
	sink.HandleEvents(ctx, batch("h", "i"))
	if store.batches != 2 || store.singles != 0 {
		t.Errorf("two batches while the store is unavailable: %d AppendActivities and %d AppendActivity calls, want 2 and 0", store.batches, store.singles)
	}
	store.down = false
	sink.HandleEvents(ctx, batch("j", "k"))
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d ERROR lines for an outage, want one:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 || !strings.Contains(logs.String(), "events_lost=6") {
		t.Errorf("after the outage: %d WARN lines, want one with events_lost=6:\n%s", n, logs.String())
	}
	if l, _ := store.ActivityByUser(ctx, "u1", now.Add(time.Second), 50); len(l) != 4 {
		t.Errorf("%d records stored, want the two before and the two after the outage", len(l))
	}
}

// BenchmarkActivitySinkBatch is the sink's cost per event on memstore,
// handed one at a time or in batches of 64 of 8 users.
func BenchmarkActivitySinkBatch(b *testing.B) {
	for _, size := range []int{1, 64} {
		b.Run(fmt.Sprint("batch=", size), func(b *testing.B) {
			sink := selfhosted.NewActivitySink(memstore.New(), nil)
			now := time.Now()
			events := make([]passkeys.Event, size)
			for i := range events {
				events[i] = passkeys.Event{Kind: passkeys.EventLogin, Time: now, User: passkeys.User{ID: fmt.Sprint("u", i%8)},
					Method: passkeys.MethodAutofill, Client: passkeys.Client{RemoteAddr: "192.0.2.1", UserAgent: "Bench/1"}}
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i += size {
				sink.HandleEvents(b.Context(), events)
			}
		})
	}
}
