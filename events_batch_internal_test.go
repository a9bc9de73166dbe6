package passkeys

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// batchRecorder is an EventBatchSink that keeps the batches it gets (as
// the events' request IDs) and, while gate is set, holds the first one
// until gate is closed.
type batchRecorder struct {
	mu      sync.Mutex
	batches [][]string
	entered chan struct{}
	gate    chan struct{}
	// barrier, when set, is recorded with each batch: closed or not when
	// the batch arrived.
	barrier chan struct{}
	passed  []bool
}

func (r *batchRecorder) HandleEvent(ctx context.Context, e Event) {
	r.HandleEvents(ctx, []Event{e})
}

func (r *batchRecorder) HandleEvents(_ context.Context, events []Event) {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.RequestID
	}
	r.mu.Lock()
	first := len(r.batches) == 0
	r.batches = append(r.batches, ids)
	if r.barrier != nil {
		select {
		case <-r.barrier:
			r.passed = append(r.passed, true)
		default:
			r.passed = append(r.passed, false)
		}
	}
	r.mu.Unlock()
	if first && r.gate != nil {
		close(r.entered)
		<-r.gate
	}
}

func (r *batchRecorder) sizes() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := make([]int, len(r.batches))
	for i, b := range r.batches {
		n[i] = len(b)
	}
	return n
}

func ids(from, to int) []string {
	var s []string
	for i := from; i < to; i++ {
		s = append(s, fmt.Sprint(i))
	}
	return s
}

// TestDispatcherBatches: the events queued while a batch sink works reach
// it in one call, in order, at most MaxEventBatch at a time, and never
// past a mark of wait, which is passed between the batches around it.
func TestDispatcherBatches(t *testing.T) {
	sink := &batchRecorder{entered: make(chan struct{}), gate: make(chan struct{})}
	d := newDispatcher(sink, DefaultEventQueue, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	d.add(ctx, Event{RequestID: "0"})
	<-sink.entered // the sink holds the first batch; the rest queues
	for i := 1; i < 6; i++ {
		d.add(ctx, Event{RequestID: fmt.Sprint(i)})
	}
	barrier := make(chan struct{})
	sink.mu.Lock()
	sink.barrier = barrier
	sink.mu.Unlock()
	d.mu.Lock()
	d.queue = append(d.queue, queued{done: barrier}) // as wait queues it
	d.mu.Unlock()
	for i := 6; i < 6+MaxEventBatch+10; i++ {
		d.add(ctx, Event{RequestID: fmt.Sprint(i)})
	}
	close(sink.gate)
	if err := d.flush(ctx); err != nil {
		t.Fatal(err)
	}
	want := [][]string{ids(0, 1), ids(1, 6), ids(6, 6+MaxEventBatch), ids(6+MaxEventBatch, 6+MaxEventBatch+10)}
	if got := fmt.Sprint(sink.batches); got != fmt.Sprint(want) {
		t.Errorf("batches %v, want sizes 1, 5, %d, 10 in order", sink.sizes(), MaxEventBatch)
	}
	// The batch before the mark came before it was passed, those after
	// after it.
	if got := fmt.Sprint(sink.passed); got != "[false true true]" {
		t.Errorf("mark of wait passed when the batches after the first arrived: %s, want [false true true]", got)
	}
}

type ctxKey struct{}

// TestDispatcherBatchesMultiSink: in a MultiSink, a batch sink gets the
// batch whole, a plain sink each event with its own request's context,
// and a panicking batch sink is logged and keeps the batch from no sink
// after it.
func TestDispatcherBatchesMultiSink(t *testing.T) {
	batch := &batchRecorder{entered: make(chan struct{}), gate: make(chan struct{})}
	var (
		mu    sync.Mutex
		plain []string
	)
	plainSink := EventSinkFunc(func(ctx context.Context, e Event) {
		mu.Lock()
		plain = append(plain, fmt.Sprintf("%s:%v", e.RequestID, ctx.Value(ctxKey{})))
		mu.Unlock()
	})
	panicky := &panickyBatch{}
	var logs bytes.Buffer
	d := newDispatcher(MultiSink(batch, panicky, plainSink), DefaultEventQueue, slog.New(slog.NewTextHandler(&logs, nil)))
	if !d.batches {
		t.Fatal("a MultiSink with a batch sink: the dispatcher does not batch")
	}
	add := func(i int) {
		d.add(context.WithValue(context.Background(), ctxKey{}, fmt.Sprint("ctx", i)), Event{Kind: EventLogin, RequestID: fmt.Sprint(i)})
	}
	add(0)
	<-batch.entered
	for i := 1; i < 4; i++ {
		add(i)
	}
	close(batch.gate)
	if err := d.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(batch.sizes()); got != "[1 3]" {
		t.Errorf("batch sink got batches of %s, want [1 3]", got)
	}
	if got := strings.Join(plain, " "); got != "0:ctx0 1:ctx1 2:ctx2 3:ctx3" {
		t.Errorf("plain sink got %s, want each event with its request's context", got)
	}
	if n := strings.Count(logs.String(), `msg="passkeys: event sink panicked"`); n != 2 || !strings.Contains(logs.String(), "events=3") {
		t.Errorf("%d panics logged, want one per batch, the second with events=3:\n%s", n, logs.String())
	}
	// A MultiSink without a batch sink is handed the events one by one.
	if newDispatcher(MultiSink(plainSink, nil), 1, nil).batches {
		t.Error("a MultiSink of plain sinks: the dispatcher batches")
	}
	if !newDispatcher(MultiSink(plainSink, MultiSink(batch)), 1, nil).batches {
		t.Error("a MultiSink holding a MultiSink with a batch sink: the dispatcher does not batch")
	}
}

type panickyBatch struct{}

func (panickyBatch) HandleEvent(context.Context, Event)    { panic("one") }
func (panickyBatch) HandleEvents(context.Context, []Event) { panic("batch") }
