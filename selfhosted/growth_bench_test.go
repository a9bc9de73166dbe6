package selfhosted_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
	"github.com/passkeyready/passkeys/selfhosted/pgstore"
	"github.com/passkeyready/passkeys/selfhosted/sqlitestore"
)

// BenchmarkGrowth measures login start, login finish (button), autofill
// finish and append finish through the handler on stores already holding
// many accounts, seeded directly into the database (every other account
// has two passkeys, the rest one). The account counts come from
// PASSKEYS_BENCH_ACCOUNTS (comma-separated; default 1000):
//
//	PASSKEYS_BENCH_ACCOUNTS=1000,100000,1000000 \
//	PASSKEYS_TEST_POSTGRES_DSN='postgres://root@127.0.0.1:5432/test?sslmode=disable' \
//		go test -run XXX -bench Growth -benchmem -benchtime 2000x -count 5 ./selfhosted/
//
// Besides ns/op and allocations it reports db-B/account, the database's
// size after seeding divided by the accounts, and on PostgreSQL stmts/op,
// the statements the store sent per request (counted by a pgx tracer).
func BenchmarkGrowth(b *testing.B) {
	sizes := []int{1000}
	if v := os.Getenv("PASSKEYS_BENCH_ACCOUNTS"); v != "" {
		sizes = nil
		for f := range strings.SplitSeq(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("PASSKEYS_BENCH_ACCOUNTS=%q: want counts such as 1000,100000", v)
			}
			sizes = append(sizes, n)
		}
	}
	tmpl := templateCredential(b)
	for _, g := range growthStores {
		b.Run(g.name, func(b *testing.B) {
			for _, n := range sizes {
				b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
					runGrowth(b, g, n, tmpl)
				})
			}
		})
	}
}

// growthStore opens an empty store and seeds it in bulk.
type growthStore struct {
	name string
	open func(b *testing.B) *seededStore
}

// seededStore is a store under a growth benchmark with its own bulk
// seeding, size and statement count.
type seededStore struct {
	store selfhosted.Store
	// seed adds n accounts, each with 1 + i%2 copies of tmpl under new IDs.
	seed func(b *testing.B, n int, tmpl []byte)
	// bytes is the database's size in bytes, 0 when not measured.
	bytes func(b *testing.B) int64
	// stmts counts the statements sent so far, nil when not counted.
	stmts *atomic.Int64
}

var growthStores = []growthStore{
	{"memory", openGrowthMemory},
	{"sqlite", openGrowthSQLite},
	{"postgres", openGrowthPostgres},
}

// seedRow is the i-th seeded account: its user and its credentials.
func seedRow(i int, tmpl []byte, at time.Time) (selfhosted.UserRecord, []selfhosted.CredentialRecord) {
	u := selfhosted.UserRecord{
		ID:        fmt.Sprintf("seed-%08d", i),
		Email:     fmt.Sprintf("seed-%08d@example.com", i),
		Handle:    randomID(32),
		CreatedAt: at,
	}
	creds := make([]selfhosted.CredentialRecord, 1+i%2)
	for j := range creds {
		creds[j] = selfhosted.CredentialRecord{ID: randomID(16), UserID: u.ID, Name: "seeded", Data: tmpl, SignCount: 1, CreatedAt: at, LastUsedAt: at}
	}
	return u, creds
}

func openGrowthMemory(b *testing.B) *seededStore {
	s := memstore.New()
	return &seededStore{store: s, bytes: func(*testing.B) int64 { return 0 }, seed: func(b *testing.B, n int, tmpl []byte) {
		ctx, now := context.Background(), time.Now()
		for i := range n {
			u, creds := seedRow(i, tmpl, now)
			if err := s.CreateUser(ctx, u); err != nil {
				b.Fatal(err)
			}
			for _, c := range creds {
				if err := s.AddCredential(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
		}
	}}
}

func openGrowthSQLite(b *testing.B) *seededStore {
	path := filepath.Join(b.TempDir(), "growth.db")
	s, err := sqlitestore.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	// A second connection to the same file for the bulk insert and sizes.
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { db.Close() })
	return &seededStore{
		store: s,
		seed: func(b *testing.B, n int, tmpl []byte) {
			ctx, now := context.Background(), time.Now()
			const batch = 50_000
			for from := 0; from < n; from += batch {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				users, err := tx.Prepare(`INSERT INTO users (id, email, handle, created_at) VALUES (?, ?, ?, ?)`)
				if err != nil {
					b.Fatal(err)
				}
				creds, err := tx.Prepare(`INSERT INTO credentials (id, user_id, name, data, sign_count, backup_state, created_at, last_used_at)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
				if err != nil {
					b.Fatal(err)
				}
				for i := from; i < min(n, from+batch); i++ {
					u, cs := seedRow(i, tmpl, now)
					if _, err := users.Exec(u.ID, u.Email, u.Handle, u.CreatedAt.UnixMicro()); err != nil {
						b.Fatal(err)
					}
					for _, c := range cs {
						if _, err := creds.Exec(c.ID, c.UserID, c.Name, c.Data, c.SignCount, false, c.CreatedAt.UnixMicro(), c.LastUsedAt.UnixMicro()); err != nil {
							b.Fatal(err)
						}
					}
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := db.Exec(`ANALYZE; PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				b.Fatal(err)
			}
		},
		bytes: func(b *testing.B) int64 {
			var pages, size int64
			if err := db.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
				b.Fatal(err)
			}
			if err := db.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil {
				b.Fatal(err)
			}
			return pages * size
		},
	}
}

// countingTracer counts the statements a pool sends.
type countingTracer struct{ n *atomic.Int64 }

func (t countingTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	t.n.Add(1)
	return ctx
}

func (countingTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func openGrowthPostgres(b *testing.B) *seededStore {
	dsn := os.Getenv("PASSKEYS_TEST_POSTGRES_DSN")
	if dsn == "" {
		b.Skip("PASSKEYS_TEST_POSTGRES_DSN is not set")
	}
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = pgstore.DefaultMaxConns
	stmts := &atomic.Int64{}
	cfg.ConnConfig.Tracer = countingTracer{stmts}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	schema := "growth_" + hex.EncodeToString(randomID(6))
	ident := pgx.Identifier{schema}.Sanitize()
	b.Cleanup(func() {
		if _, err := pool.Exec(ctx, "DROP SCHEMA "+ident+" CASCADE"); err != nil {
			b.Errorf("dropping schema %s: %v", schema, err)
		}
		pool.Close()
	})
	s, err := pgstore.New(ctx, pool, pgstore.WithSchema(schema))
	if err != nil {
		b.Fatal(err)
	}
	return &seededStore{
		store: s,
		stmts: stmts,
		seed: func(b *testing.B, n int, tmpl []byte) {
			now := time.Now()
			const batch = 100_000
			for from := 0; from < n; from += batch {
				var users, creds [][]any
				for i := from; i < min(n, from+batch); i++ {
					u, cs := seedRow(i, tmpl, now)
					users = append(users, []any{u.ID, u.Email, u.Handle, u.CreatedAt})
					for _, c := range cs {
						creds = append(creds, []any{c.ID, c.UserID, c.Name, c.Data, int64(c.SignCount), false, c.CreatedAt, c.LastUsedAt})
					}
				}
				if _, err := pool.CopyFrom(ctx, pgx.Identifier{schema, "users"}, []string{"id", "email", "handle", "created_at"}, pgx.CopyFromRows(users)); err != nil {
					b.Fatal(err)
				}
				if _, err := pool.CopyFrom(ctx, pgx.Identifier{schema, "credentials"},
					[]string{"id", "user_id", "name", "data", "sign_count", "backup_state", "created_at", "last_used_at"}, pgx.CopyFromRows(creds)); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := pool.Exec(ctx, "ANALYZE "+ident+".users; ANALYZE "+ident+".credentials"); err != nil {
				b.Fatal(err)
			}
		},
		bytes: func(b *testing.B) int64 {
			var n int64
			err := pool.QueryRow(ctx, `SELECT pg_total_relation_size($1::regclass) + pg_total_relation_size($2::regclass)`,
				ident+".users", ident+".credentials").Scan(&n)
			if err != nil {
				b.Fatal(err)
			}
			return n
		},
	}
}

// templateCredential is the stored record of a real passkey, copied into
// every seeded credential so that rows have their real size.
func templateCredential(b *testing.B) []byte {
	s := memstore.New()
	bh := newBenchHandler(b, s)
	token := bh.signUp(b, "template@example.com")
	bh.serve(b, bh.appendFinishRequest(b, token, passkeystest.New(e2e.Origin)))
	u, err := s.UserByEmail(context.Background(), "template@example.com")
	if err != nil {
		b.Fatal(err)
	}
	creds, err := s.CredentialsByUser(context.Background(), u.ID)
	if err != nil || len(creds) != 1 {
		b.Fatalf("template credential: %v", err)
	}
	return creds[0].Data
}

// runGrowth seeds a store of g with n accounts, then signs up the
// benchmark's own user with one passkey and runs the four requests.
func runGrowth(b *testing.B, g growthStore, n int, tmpl []byte) {
	ss := g.open(b)
	t0 := time.Now()
	ss.seed(b, n, tmpl)
	seedTime := time.Since(t0)
	bytesPerAccount := float64(ss.bytes(b)) / float64(n)
	b.Logf("%s: seeded %d accounts in %s, %.0f database bytes per account", g.name, n, seedTime.Round(time.Millisecond), bytesPerAccount)

	bh := newBenchHandler(b, ss.store)
	email := "growth@example.com"
	token := bh.signUp(b, email)
	a := passkeystest.New(e2e.Origin)
	bh.serve(b, bh.appendFinishRequest(b, token, a))

	report := func(b *testing.B, before int64) {
		if bytesPerAccount > 0 {
			b.ReportMetric(bytesPerAccount, "db-B/account")
		}
		if ss.stmts != nil {
			b.ReportMetric(float64(ss.stmts.Load()-before)/float64(b.N), "stmts/op")
		}
	}
	// timed serves reqs, one per iteration, and reports.
	timed := func(b *testing.B, reqs []*http.Request) {
		var before int64
		if ss.stmts != nil {
			before = ss.stmts.Load()
		}
		b.ReportAllocs()
		b.ResetTimer()
		for _, r := range reqs {
			bh.serve(b, r)
		}
		b.StopTimer()
		report(b, before)
	}
	assertion := func(b *testing.B, start string, body any) json.RawMessage {
		res := bh.call(b, start, "", body)
		resp, err := a.Get(res["assertionOptions"])
		if err != nil {
			b.Fatal(err)
		}
		return resp
	}

	b.Run("LoginStart", func(b *testing.B) {
		reqs := make([]*http.Request, b.N)
		for i := range reqs {
			reqs[i] = request("/passkey/login/start", "", map[string]string{"email": email})
		}
		timed(b, reqs)
	})
	b.Run("LoginFinish", func(b *testing.B) {
		reqs := make([]*http.Request, b.N)
		for i := range reqs {
			resp := assertion(b, "/passkey/login/start", map[string]string{"email": email})
			reqs[i] = request("/passkey/login/finish", "", map[string]json.RawMessage{"assertionResponse": resp})
		}
		timed(b, reqs)
	})
	b.Run("AutofillFinish", func(b *testing.B) {
		reqs := make([]*http.Request, b.N)
		for i := range reqs {
			resp := assertion(b, "/passkey/mediation/start", map[string]string{})
			reqs[i] = request("/passkey/mediation/finish", "", map[string]json.RawMessage{"assertionResponse": resp})
		}
		timed(b, reqs)
	})
	b.Run("AppendFinish", func(b *testing.B) {
		reqs := make([]*http.Request, b.N)
		run := rand.Text()[:8]
		for i := range reqs {
			tok := bh.signUp(b, fmt.Sprintf("growth-%s-%d@example.com", strings.ToLower(run), i))
			reqs[i] = bh.appendFinishRequest(b, tok, passkeystest.New(e2e.Origin))
		}
		timed(b, reqs)
	})
}
