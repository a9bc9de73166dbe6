package passkeys

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
)

// BenchmarkEmit is the cost a request pays for one event: filling it in
// and queueing it for a sink that does nothing.
func BenchmarkEmit(b *testing.B) {
	h, err := New(Options{Backend: struct{ Backend }{}, JWTKey: make([]byte, 32),
		Events: EventSinkFunc(func(context.Context, Event) {})})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/passkey/login/finish", nil)
	_, r, _ = h.track(httptest.NewRecorder(), r)
	u := User{ID: "usr_1", Email: "a@example.com"}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		h.emit(r, Event{Kind: EventLogin, User: u, Method: MethodPasskey})
		if n++; n%1024 == 0 {
			_ = h.FlushEvents(context.Background()) // keep the queue from filling
		}
	}
	if h.DroppedEvents() != 0 {
		b.Errorf("%d events dropped", h.DroppedEvents())
	}
	if err := h.FlushEvents(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkTrack is what every request pays before and after its
// endpoint: the request ID and, with a sink, the status writer and the
// request event.
func BenchmarkTrack(b *testing.B) {
	for _, bc := range []struct {
		name string
		sink EventSink
	}{
		{"none", nil},
		{"noop", EventSinkFunc(func(context.Context, Event) {})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h, err := New(Options{Backend: struct{ Backend }{}, JWTKey: make([]byte, 32), Events: bc.sink})
			if err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest("POST", "/passkey/login/finish", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				_, _, done := h.track(w, r)
				done()
				if n++; n%1024 == 0 {
					_ = h.FlushEvents(context.Background())
				}
			}
		})
	}
}

// The dispatcher's wait (GET account/activity's) returns once the events
// queued before it reached the sink, not before, also when the queue is
// full.
func TestDispatcherWait(t *testing.T) {
	entered, gate := make(chan struct{}), make(chan struct{})
	var seen []EventKind
	var mu sync.Mutex
	d := newDispatcher(EventSinkFunc(func(_ context.Context, e Event) {
		if e.Kind == EventLogin {
			close(entered)
			<-gate
		}
		mu.Lock()
		seen = append(seen, e.Kind)
		mu.Unlock()
	}), 2, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	d.add(ctx, Event{Kind: EventLogin})
	<-entered // the sink holds login; the queue is empty
	d.add(ctx, Event{Kind: EventPasskeyAdded})

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := d.wait(cancelled); err != context.Canceled {
		t.Errorf("wait with the sink held: %v, want context.Canceled", err)
	}
	d.add(ctx, Event{Kind: EventPasskeyRemoved}) // two events: the queue is full
	d.add(ctx, Event{Kind: EventSignUp})         // dropped
	if err := d.wait(cancelled); err != context.Canceled {
		t.Errorf("wait on a full queue: %v, want context.Canceled", err)
	}
	close(gate)
	if err := d.wait(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := append([]EventKind(nil), seen...)
	mu.Unlock()
	if len(got) != 3 || got[0] != EventLogin || got[1] != EventPasskeyAdded || got[2] != EventPasskeyRemoved {
		t.Errorf("after wait the sink saw %v, want login, passkey_added, passkey_removed", got)
	}
	if err := d.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := d.dropped.Load(); n != 1 {
		t.Errorf("%d events dropped, want the one beyond the bound", n)
	}
}
