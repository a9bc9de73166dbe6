package passkeys

import (
	"context"
	"net/http/httptest"
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
