package pgstore

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/passkeyready/passkeys/internal/hotpath"
)

// recorder is a pgx tracer that keeps the first arguments of every
// distinct statement.
type recorder struct {
	mu   sync.Mutex
	on   bool
	seen map[string][]any
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.seen[d.SQL]; r.on && !ok {
		r.seen[d.SQL] = append([]any(nil), d.Args...)
	}
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// The statements of a batch (AppendActivity sends one) are recorded too.

func (r *recorder) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (r *recorder) TraceBatchQuery(ctx context.Context, c *pgx.Conn, d pgx.TraceBatchQueryData) {
	r.TraceQueryStart(ctx, c, pgx.TraceQueryStartData{SQL: d.SQL, Args: d.Args})
}

func (r *recorder) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TestHotPathPlans runs the engine's hot-path store calls (the audit
// trail's among them) on a schema of a few thousand users, records every statement they run, and fails when the
// EXPLAIN of one of them (with the arguments it ran with, sequential scans
// switched off so that a table too small to need an index still shows
// whether one serves) scans a table or hashes a whole index. The plans are
// logged (go test -v) as the proof.
func TestHotPathPlans(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(testDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{seen: map[string][]any{}}
	cfg.ConnConfig.Tracer = rec
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close) // after freshSchema's drop, which uses it
	ctx := context.Background()
	s, err := New(ctx, pool, WithSchema(freshSchema(t, pool)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	u, err := hotpath.Seed(ctx, s, 2000, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, s.sql(`ANALYZE {schema}.users; ANALYZE {schema}.credentials; ANALYZE {schema}.activity`)); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	rec.on = true
	rec.mu.Unlock()
	err = hotpath.Run(ctx, s, u, now)
	rec.mu.Lock()
	rec.on = false
	rec.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.seen) < 10 {
		t.Fatalf("only %d distinct statements recorded", len(rec.seen))
	}
	// The audit trail's insert, trim, purge, list and delete-by-user.
	n := 0
	for q := range rec.seen {
		if strings.Contains(q, ".activity") {
			n++
		}
	}
	if n < 5 {
		t.Errorf("%d distinct statements on the activity table, want its five", n)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "RESET enable_seqscan")
	for query, args := range rec.seen {
		rows, err := conn.Query(ctx, "EXPLAIN "+query, args...)
		if err != nil {
			t.Errorf("EXPLAIN %s: %v", query, err)
			continue
		}
		plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Errorf("EXPLAIN %s: %v", query, err)
			continue
		}
		text := strings.Join(plan, "\n\t")
		t.Logf("%s\n\t%s", oneLine(query), text)
		for _, step := range plan {
			if strings.Contains(step, "Seq Scan") || strings.Contains(step, "Hash") {
				t.Errorf("%s\n\tplan has %q:\n\t%s", oneLine(query), strings.TrimSpace(step), text)
				break
			}
		}
	}
}

func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }
