package sqlitestore

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/internal/hotpath"
)

// TestHotPathPlans runs the engine's hot-path store calls (the audit
// trail's among them) on a database of a few thousand users, records every statement they run, and fails when
// the plan of one of them (EXPLAIN QUERY PLAN, with the arguments it ran
// with) scans a table or sorts in a temporary B-tree. The plans are logged
// (go test -v) as the proof.
func TestHotPathPlans(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	u, err := hotpath.Seed(ctx, s, 2000, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}

	type statement struct {
		query string
		args  []any
	}
	var (
		mu   sync.Mutex
		seen = map[string]statement{}
	)
	traceStatement = func(query string, args []any) {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := seen[query]; !ok {
			seen[query] = statement{query, append([]any(nil), args...)}
		}
	}
	err = hotpath.Run(ctx, s, u, now)
	traceStatement = nil
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) < 10 {
		t.Fatalf("only %d distinct statements recorded", len(seen))
	}
	// The audit trail's insert, trim, purge, list and delete-by-user.
	if n := activityStatements(seen); n < 5 {
		t.Errorf("%d distinct statements on the activity table, want its five", n)
	}
	for _, st := range seen {
		rows, err := s.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+st.query, st.args...)
		if err != nil {
			t.Errorf("EXPLAIN QUERY PLAN %s: %v", st.query, err)
			continue
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "; ")
		t.Logf("%s\n\t=> %s", oneLine(st.query), text)
		for _, step := range plan {
			if (strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, "CONSTANT ROW")) || strings.Contains(step, "TEMP B-TREE") {
				t.Errorf("%s\n\tplan %q has %q", oneLine(st.query), text, step)
			}
		}
	}
}

// activityStatements counts the keys of seen that name the activity table.
func activityStatements[V any](seen map[string]V) int {
	n := 0
	for q := range seen {
		if strings.Contains(q, "activity") {
			n++
		}
	}
	return n
}

func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }
