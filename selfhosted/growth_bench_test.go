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
//	PASSKEYS_BENCH_ACCOUNTS=1000,100000,1000000 PASSKEYS_BENCH_DIR=/var/tmp/passkeys-bench \
//	PASSKEYS_TEST_POSTGRES_DSN='postgres://root@127.0.0.1:5432/test?sslmode=disable' \
//		go test -run XXX -bench 'Growth/(sqlite|postgres)' -benchmem -benchtime 2000x -count 6 ./selfhosted/
//
// With PASSKEYS_BENCH_DIR set, the seeded databases are kept between runs
// and reused when they hold the same seed (growthSeedVersion) and size: a
// SQLite file per size in that directory, a PostgreSQL schema per size
// (growth_v<version>_<accounts>) in the DSN's database. Each run removes
// the accounts, ceremonies and sessions it added before and after it
// measures, so every run meets the seeded state; with -count the sizes of
// each request take turns without seeding again. Without it every run
// seeds a temporary database and drops it.
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

// growthSeedVersion names what seedRow writes. A cached database records
// it and is seeded anew when it differs: change it with seedRow.
const growthSeedVersion = 1

// growthCacheDir is PASSKEYS_BENCH_DIR, the directory of the seeded SQLite
// databases kept between runs; "" keeps none.
func growthCacheDir() string { return os.Getenv("PASSKEYS_BENCH_DIR") }

// The benchmark's own accounts have emails starting "growth", so that a
// range of the unique email index finds them for removal; no seeded email
// ("seed-...") falls in it.
const (
	growthEmail    = "growth@example.com"
	growthOwnWhere = "email >= 'growth' AND email < 'growti'"
)

// growthStore opens a store holding n seeded accounts.
type growthStore struct {
	name string
	open func(b *testing.B, n int, tmpl []byte) *seededStore
}

// seededStore is a store under a growth benchmark with its size and
// statement count.
type seededStore struct {
	store selfhosted.Store
	// seeded is how long seeding took, 0 when a cached database was used.
	seeded time.Duration
	// bytes is the database's size in bytes after seeding, 0 when not
	// measured.
	bytes int64
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

func openGrowthMemory(b *testing.B, n int, tmpl []byte) *seededStore {
	s := memstore.New()
	ctx, now, t0 := context.Background(), time.Now(), time.Now()
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
	return &seededStore{store: s, seeded: time.Since(t0)}
}

// growthSQLiteTables are the tables of sqlitestore that no seed writes:
// emptied before and after a run on a cached database.
var growthSQLiteTables = []string{"ceremonies", "otps", "sessions", "activity"}

func openGrowthSQLite(b *testing.B, n int, tmpl []byte) *seededStore {
	dir := growthCacheDir()
	cached := dir != ""
	if !cached {
		dir = b.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("growth-v%d-%d.db", growthSeedVersion, n))
	// A second connection to the same file for the bulk insert, the seed
	// record and the removal of what a run added. Seeding without fsync
	// and with a large cache is safe here: an interrupted seed leaves no
	// seed record, and the file is seeded anew.
	open := func() *sql.DB {
		db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=synchronous(OFF)&_pragma=cache_size(-524288)")
		if err != nil {
			b.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		return db
	}
	var bytes int64
	if cached {
		db := open()
		var version, accounts int
		err := db.QueryRow(`SELECT version, accounts, bytes FROM growth_seed`).Scan(&version, &accounts, &bytes)
		db.Close()
		if err != nil || version != growthSeedVersion || accounts != n {
			bytes = 0
			for _, suffix := range []string{"", "-wal", "-shm"} {
				if err := os.Remove(path + suffix); err != nil && !os.IsNotExist(err) {
					b.Fatal(err)
				}
			}
		}
	}
	s, err := sqlitestore.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	db := open()
	b.Cleanup(func() { db.Close() })
	ss := &seededStore{store: s, bytes: bytes}
	if bytes == 0 {
		t0 := time.Now()
		seedSQLite(b, db, n, tmpl)
		ss.seeded = time.Since(t0)
		var pages, size int64
		if err := db.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
			b.Fatal(err)
		}
		if err := db.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil {
			b.Fatal(err)
		}
		ss.bytes = pages * size
		if _, err := db.Exec(`CREATE TABLE growth_seed (version INTEGER, accounts INTEGER, bytes INTEGER);
			INSERT INTO growth_seed VALUES (?, ?, ?)`, growthSeedVersion, n, ss.bytes); err != nil {
			b.Fatal(err)
		}
	}
	if cached {
		// What an interrupted run left, and after this run what it added.
		reset := func() {
			stmts := []string{
				`DELETE FROM credentials WHERE user_id IN (SELECT id FROM users WHERE ` + growthOwnWhere + `)`,
				`DELETE FROM users WHERE ` + growthOwnWhere,
			}
			for _, t := range growthSQLiteTables {
				stmts = append(stmts, "DELETE FROM "+t)
			}
			for _, q := range append(stmts, `PRAGMA wal_checkpoint(TRUNCATE)`) {
				if _, err := db.Exec(q); err != nil {
					b.Fatalf("%s: %v", q, err)
				}
			}
		}
		reset()
		b.Cleanup(reset)
	}
	return ss
}

// seedSQLite adds n accounts in transactions of 50,000.
func seedSQLite(b *testing.B, db *sql.DB, n int, tmpl []byte) {
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
}

// countingTracer counts the statements a pool sends.
type countingTracer struct{ n *atomic.Int64 }

func (t countingTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	t.n.Add(1)
	return ctx
}

func (countingTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// growthPostgresTables are the tables of pgstore that no seed writes.
var growthPostgresTables = []string{"ceremonies", "otps", "rate_limits", "sessions", "activity"}

func openGrowthPostgres(b *testing.B, n int, tmpl []byte) *seededStore {
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
	cached := growthCacheDir() != ""
	schema := "growth_" + hex.EncodeToString(randomID(6))
	if cached {
		schema = fmt.Sprintf("growth_v%d_%d", growthSeedVersion, n)
	}
	ident := pgx.Identifier{schema}.Sanitize()
	b.Cleanup(pool.Close)
	var bytes int64
	if cached {
		var version, accounts int
		err := pool.QueryRow(ctx, `SELECT version, accounts, bytes FROM `+ident+`.growth_seed`).Scan(&version, &accounts, &bytes)
		if err != nil || version != growthSeedVersion || accounts != n {
			bytes = 0
			if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+ident+" CASCADE"); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.Cleanup(func() {
			if _, err := pool.Exec(ctx, "DROP SCHEMA "+ident+" CASCADE"); err != nil {
				b.Errorf("dropping schema %s: %v", schema, err)
			}
		})
	}
	s, err := pgstore.New(ctx, pool, pgstore.WithSchema(schema))
	if err != nil {
		b.Fatal(err)
	}
	ss := &seededStore{store: s, stmts: stmts, bytes: bytes}
	if bytes == 0 {
		t0 := time.Now()
		seedPostgres(b, pool, schema, n, tmpl)
		ss.seeded = time.Since(t0)
		err := pool.QueryRow(ctx, `SELECT pg_total_relation_size($1::regclass) + pg_total_relation_size($2::regclass)`,
			ident+".users", ident+".credentials").Scan(&ss.bytes)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `CREATE TABLE `+ident+`.growth_seed (version int, accounts int, bytes bigint)`); err != nil {
			b.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO `+ident+`.growth_seed VALUES ($1, $2, $3)`, growthSeedVersion, n, ss.bytes); err != nil {
			b.Fatal(err)
		}
	}
	if cached {
		reset := func() {
			stmts := []string{
				`DELETE FROM {s}.credentials WHERE user_id IN (SELECT id FROM {s}.users WHERE ` + growthOwnWhere + `)`,
				`DELETE FROM {s}.users WHERE ` + growthOwnWhere,
			}
			for _, t := range growthPostgresTables {
				stmts = append(stmts, "DELETE FROM {s}."+t)
			}
			// The dead rows of the removed accounts would otherwise pile up
			// over the runs, in the small databases most.
			stmts = append(stmts, `VACUUM (ANALYZE) {s}.users, {s}.credentials, {s}.ceremonies, {s}.sessions`)
			for _, q := range stmts {
				if _, err := pool.Exec(ctx, strings.ReplaceAll(q, "{s}", ident)); err != nil {
					b.Fatalf("%s: %v", q, err)
				}
			}
		}
		reset()
		b.Cleanup(reset)
	}
	return ss
}

// seedPostgres adds n accounts by COPY of 100,000 at a time.
func seedPostgres(b *testing.B, pool *pgxpool.Pool, schema string, n int, tmpl []byte) {
	ctx, now := context.Background(), time.Now()
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
	ident := pgx.Identifier{schema}.Sanitize()
	if _, err := pool.Exec(ctx, "VACUUM (ANALYZE) "+ident+".users, "+ident+".credentials"); err != nil {
		b.Fatal(err)
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
	ss := g.open(b, n, tmpl)
	bytesPerAccount := float64(ss.bytes) / float64(n)
	if ss.seeded > 0 {
		b.Logf("%s: seeded %d accounts in %s, %.0f database bytes per account", g.name, n, ss.seeded.Round(time.Millisecond), bytesPerAccount)
	}

	bh := newBenchHandler(b, ss.store)
	email := growthEmail
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
