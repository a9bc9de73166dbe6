package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync/atomic"
	"testing"

	"modernc.org/sqlite"
)

// endCaller is called by the SQL function test_end_caller, which
// TestGroupCommitCallerGoneMidStatement runs inside a statement: its
// argument 1 ends the caller.
var endCaller atomic.Pointer[context.CancelFunc]

func init() {
	sqlite.MustRegisterScalarFunction("test_end_caller", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		if f := endCaller.Load(); f != nil && args[0] == int64(1) {
			(*f)()
		}
		return int64(0), nil
	})
}

// TestGroupCommitCallerGoneMidStatement: two writes share a transaction,
// and the second one's caller goes away while its statement runs (the
// statement ends the caller's context at its first row, then goes on over
// half a million more). SQLite answers an interrupted write by rolling the
// whole transaction back, so had the statement run under the caller's
// context, the first write, whose caller is still waiting, would be lost
// with it. Both commit.
func TestGroupCommitCallerGoneMidStatement(t *testing.T) {
	s := openTemp(t)
	if _, err := s.db.ExecContext(t.Context(), "CREATE TABLE slow (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	for _, q := range savepointSQL { // as inTx does
		if _, err := s.stmt(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	gone, cancel := context.WithCancel(t.Context())
	defer cancel()
	endCaller.Store(&cancel)
	defer endCaller.Store(nil)

	first := &pendingWrite{ctx: t.Context(), op: "first", fn: func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO slow VALUES (-1)")
		return err
	}}
	second := &pendingWrite{ctx: gone, op: "second", fn: func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO slow
			WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 + test_end_caller(x) FROM c WHERE x < 500000)
			SELECT x FROM c WHERE x = 500000`)
		return err
	}}
	s.commits.writer.Lock()
	s.runBatch([]*pendingWrite{first, second})
	s.commits.writer.Unlock()

	if gone.Err() == nil {
		t.Fatalf("the second caller's context did not end during its statement (first: %v, second: %v)", first.err, second.err)
	}
	if first.err != nil {
		t.Errorf("the first write, whose caller waited: %v", first.err)
	}
	if second.err != nil {
		t.Errorf("the second write, begun before its caller went away: %v", second.err)
	}
	var n int
	if err := s.db.QueryRowContext(t.Context(), "SELECT count(*) FROM slow").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("%d rows committed, want 2 (the first write and the second's one row)", n)
	}
}
