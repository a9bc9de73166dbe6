package pgstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/selfhosted"
)

// TestActivitySharedAcrossInstances writes an event through the sink of
// one store and lists it through another store with its own pool on the
// same schema, as two instances of an application would.
func TestActivitySharedAcrossInstances(t *testing.T) {
	ctx, dsn := t.Context(), testDSN(t)
	schema := freshSchema(t, testPool(t))
	a, err := Open(ctx, dsn, WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, dsn, WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	now := time.Now().UTC().Truncate(time.Microsecond)
	selfhosted.NewActivitySink(a, nil).HandleEvent(ctx, passkeys.Event{
		Kind: passkeys.EventSessionRevoked, Time: now, User: passkeys.User{ID: "alice"}, Reason: "revoked",
		SessionID: "s1", Client: passkeys.Client{RemoteAddr: "2001:db8::2", UserAgent: "Safari\u202e/18"},
	})
	got, err := b.ActivityByUser(ctx, "alice", now, 50)
	if err != nil {
		t.Fatal(err)
	}
	want := selfhosted.ActivityRecord{UserID: "alice", Kind: "session_revoked", At: now, Detail: "revoked", IP: "2001:db8::2", UserAgent: "Safari/18"}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("listed via B = %+v, want [%+v]", got, want)
	}
}

// roundTrips is a pgx tracer that counts what reaches the server: single
// statements and batches, and the statements in batches.
type roundTrips struct {
	mu                        sync.Mutex
	queries, batches, batched int
}

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	r.queries++
	r.mu.Unlock()
	return ctx
}

func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.mu.Lock()
	r.batches++
	r.mu.Unlock()
	return ctx
}

func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {
	r.mu.Lock()
	r.batched++
	r.mu.Unlock()
}

func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (r *roundTrips) counts() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("%d statements, %d batches of %d statements", r.queries, r.batches, r.batched)
}

// TestActivityBatchOneRoundTrip hands the sink a batch of 12 events of
// three users and checks that it is one round trip: one batch of the
// purge (which the store's first append runs), the insert and the trim,
// and nothing else; then that a batch of an account deleted in the middle
// stores the others' records only.
func TestActivityBatchOneRoundTrip(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(testDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	rec := &roundTrips{}
	cfg.ConnConfig.Tracer = rec
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close) // after freshSchema's drop, which uses it
	ctx := t.Context()
	s, err := New(ctx, pool, WithSchema(freshSchema(t, pool)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	var events []passkeys.Event
	for i := range 12 {
		events = append(events, passkeys.Event{Kind: passkeys.EventLogin, Time: now.Add(time.Duration(i) * time.Millisecond),
			User: passkeys.User{ID: fmt.Sprint("user-", i%3)}, Method: passkeys.MethodAutofill})
	}
	rec.mu.Lock()
	rec.queries, rec.batches, rec.batched = 0, 0, 0 // the schema's set-up
	rec.mu.Unlock()
	sink := selfhosted.NewActivitySink(s, nil)
	sink.HandleEvents(ctx, events)
	if got, want := rec.counts(), "0 statements, 1 batches of 3 statements"; got != want {
		t.Errorf("a batch of 12 events: %s, want %s", got, want)
	}
	for u := range 3 {
		if l, err := s.ActivityByUser(ctx, fmt.Sprint("user-", u), now.Add(time.Second), 50); err != nil || len(l) != 4 {
			t.Errorf("user-%d: %d records, %v; want 4", u, len(l), err)
		}
	}
	// user-1's account is deleted halfway: its records go, those queued
	// after the deletion are not written, the others are.
	deleted := append(append(append([]passkeys.Event(nil), events[:6]...),
		passkeys.Event{Kind: passkeys.EventAccountDeleted, Time: now, User: passkeys.User{ID: "user-1"}}), events[6:]...)
	sink.HandleEvents(ctx, deleted)
	for u, want := range []int{8, 0, 8} {
		if l, err := s.ActivityByUser(ctx, fmt.Sprint("user-", u), now.Add(time.Second), 50); err != nil || len(l) != want {
			t.Errorf("after user-1's deletion, user-%d: %d records, %v; want %d", u, len(l), err, want)
		}
	}
}
