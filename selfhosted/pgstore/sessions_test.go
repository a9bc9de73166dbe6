package pgstore

import (
	"crypto/sha256"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/selfhosted"
)

// TestSessionQueriesUseIndexes checks with EXPLAIN that every session
// statement can find its rows through the index named, with a condition
// on it. The test table is
// nearly empty, where a sequential scan is cheapest, so sequential scans
// are switched off for the transaction: a plan that still holds one has no
// index to use.
func TestSessionQueriesUseIndexes(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	now := time.Now()
	for _, tc := range []struct {
		name, query, index string
		args               []any
	}{
		{"purge", purgeSessionsSQL, "sessions_by_end", []any{now, 100}},
		{"by hash", sessionByHashSQL, "sessions_token_hash_key", []any{[]byte{1}, now}},
		{"touch", touchSessionSQL, "sessions_pkey", []any{"id", now, now}},
		{"by user", sessionsByUserSQL, "sessions_by_user", []any{"user", now}},
		{"delete", deleteSessionSQL, "sessions_pkey or sessions_by_user", []any{"id", "user", now}},
		{"delete by hash", deleteSessionByHashSQL, "sessions_token_hash_key", []any{[]byte{1}}},
		{"delete user's", deleteUserSessionsSQL, "sessions_by_user", []any{"user"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := s.pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
				t.Fatal(err)
			}
			rows, err := tx.Query(ctx, s.sql("EXPLAIN "+tc.query), tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(plan, "\n")
			if strings.Contains(all, "Seq Scan") {
				t.Errorf("plan scans the table:\n%s", all)
			}
			used := false
			for _, index := range strings.Split(tc.index, " or ") {
				used = used || strings.Contains(all, " using "+index+" ") || strings.Contains(all, "Index Scan on "+index+" ")
			}
			// An index scan without a condition reads the whole index.
			for i, line := range plan {
				if strings.Contains(line, "Index Scan") && (i+1 == len(plan) || !strings.Contains(plan[i+1], "Index Cond")) {
					t.Errorf("plan reads a whole index:\n%s", all)
				}
			}
			if !used {
				t.Errorf("plan does not use %s:\n%s", tc.index, all)
			}
		})
	}
}

// TestSessionsAcrossInstances runs Sessions on two stores with pools of
// their own on one schema, as two instances of an application do: a
// session issued on A is accepted on B, and once A revokes it (by token,
// by ID, or all of the user's), B refuses it on the next check.
func TestSessionsAcrossInstances(t *testing.T) {
	poolA, poolB := testPool(t), testPool(t)
	schema := freshSchema(t, poolA)
	var mu sync.Mutex
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	instance := func(pool *pgxpool.Pool) *selfhosted.Sessions {
		st, err := New(t.Context(), pool, WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		s, err := selfhosted.NewSessions(st, selfhosted.SessionsConfig{Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := instance(poolA), instance(poolB)
	ctx := t.Context()
	alice := passkeys.User{ID: "alice", Email: "alice@example.com"}

	for _, tc := range []struct {
		name   string
		revoke func(token, id string) error
	}{
		{"RevokeSession", func(token, _ string) error { return a.RevokeSession(ctx, token) }},
		{"RevokeSessionByID", func(_, id string) error { return a.RevokeSessionByID(ctx, alice.ID, id) }},
		{"RevokeUserSessions", func(string, string) error { return a.RevokeUserSessions(ctx, alice.ID) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token, err := a.IssueSession(ctx, alice)
			if err != nil {
				t.Fatal(err)
			}
			other, err := a.IssueSession(ctx, passkeys.User{ID: "bob", Email: "bob@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			sess, err := b.DescribeSession(ctx, token)
			if err != nil || sess.User != alice {
				t.Fatalf("B: DescribeSession of A's session = %+v, %v; want alice", sess, err)
			}
			if err := tc.revoke(token, sess.ID); err != nil {
				t.Fatalf("A: revoke: %v", err)
			}
			if _, err := b.VerifySession(ctx, token); !errors.Is(err, passkeys.ErrUnauthorized) {
				t.Errorf("B: VerifySession after A revoked the session = %v, want ErrUnauthorized", err)
			}
			if u, err := b.VerifySession(ctx, other); err != nil || u.ID != "bob" {
				t.Errorf("B: VerifySession of another user's session = %+v, %v; want bob, untouched", u, err)
			}
		})
	}
}

// TestSessionPurgeFollowsTableGrowth checks that the session purge in
// passing is planned for the table as it is when it runs. Prepared once
// per connection, as the other statements are, PostgreSQL kept the plan it
// made at the purge's sixth run: for a table of a few pages then, a
// sequential scan of sessions for the rows to delete, which every later
// purge ran over the whole table however large it grew.
func TestSessionPurgeFollowsTableGrowth(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(testDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1 // one connection, whose plans the purges share
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close) // after freshSchema's drop, which uses it
	ctx := t.Context()
	schema := freshSchema(t, pool)
	s, err := New(ctx, pool, WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0).UTC()
	session := func(i int, end time.Time) selfhosted.SessionRecord {
		hash := sha256.Sum256([]byte(strconv.Itoa(i)))
		return selfhosted.SessionRecord{ID: "sess-" + strconv.Itoa(i), TokenHash: hash[:], UserID: "user-" + strconv.Itoa(i%8), Email: "a@example.com",
			CreatedAt: now, LastSeenAt: now, ExpiresAt: end, IdleExpiresAt: end, UserAgent: "test", IP: "127.0.0.1", AuthMethod: "passkey"}
	}
	n := 0
	create := func(count int) {
		t.Helper()
		for range count {
			if err := s.CreateSession(ctx, session(n, now.Add(time.Hour)), now); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	create(10 * purgeEvery) // ten purges on a small table
	// The table grows to 20,000 live sessions and 200 expired ones.
	var rows [][]any
	for i := range 20_200 {
		end := now.Add(time.Hour)
		if i%101 == 0 {
			end = now.Add(-time.Minute)
		}
		r := session(1_000_000+i, end)
		rows = append(rows, []any{r.ID, r.TokenHash, r.UserID, r.Email, r.CreatedAt, r.LastSeenAt, r.ExpiresAt, r.IdleExpiresAt, r.UserAgent, r.IP, r.AuthMethod, r.NewUser})
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{schema, "sessions"},
		[]string{"id", "token_hash", "user_id", "email", "created_at", "last_seen_at", "expires_at", "idle_expires_at", "user_agent", "ip", "auth_method", "new_user"},
		pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}
	seqRead := func() int64 {
		t.Helper()
		if _, err := pool.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
			t.Fatal(err)
		}
		var read int64
		if err := pool.QueryRow(ctx, s.sql(`SELECT coalesce(seq_tup_read, 0) FROM pg_stat_user_tables WHERE relid = '{schema}.sessions'::regclass`)).Scan(&read); err != nil {
			t.Fatal(err)
		}
		return read
	}
	before := seqRead()
	create(2 * purgeEvery) // two purges on the large table
	if read := seqRead() - before; read > 0 {
		t.Errorf("two session purges read %d rows by sequential scan of a table of %d, want 0 (an index lookup)", read, 20_200+n)
	}
	var left int
	if err := pool.QueryRow(ctx, s.sql(`SELECT count(*) FROM {schema}.sessions WHERE expires_at <= $1`), now).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d expired sessions left after two purges, want 0", left)
	}
}
