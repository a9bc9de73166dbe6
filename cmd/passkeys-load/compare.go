package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"
)

// parseCompare reads -compare: distinct stores among memory, sqlite,
// sqlite-single (SQLite with the example server's -sqlite-single-process)
// and postgres, and checks the flags they need.
func parseCompare(s string, c config) ([]string, error) {
	var stores []string
	for name := range strings.SplitSeq(s, ",") {
		switch {
		case name != "memory" && name != "sqlite" && name != "sqlite-single" && name != "postgres":
			return nil, fmt.Errorf("-compare %q: stores are memory, sqlite, sqlite-single and postgres", s)
		case slices.Contains(stores, name):
			return nil, fmt.Errorf("-compare %q names %s twice", s, name)
		}
		stores = append(stores, name)
	}
	switch {
	case c.server == "":
		return nil, errors.New("-compare needs -server, the example server binary")
	case slices.Contains(stores, "postgres") && c.postgres == "":
		return nil, errors.New("-compare postgres needs -postgres, the DSN")
	case c.rounds < 1 || c.rounds > 100:
		return nil, errors.New("-rounds must be between 1 and 100")
	}
	return stores, nil
}

// runCompare runs c.rounds rounds, each starting the server on every store
// of c.compare in turn and running the load against it, then prints the
// medians and each store's share of the first store's throughput.
func runCompare(ctx context.Context, c config, stdout io.Writer) error {
	dir, err := os.MkdirTemp("", "passkeys-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	runs := map[string][]*result{}
	failed := 0
	for round := 1; round <= c.rounds; round++ {
		for _, store := range c.compare {
			fmt.Fprintf(stdout, "\n== round %d, store %s\n", round, store)
			rc := c
			rc.runID = fmt.Sprintf("%s-%d-%s", c.runID, round, store)
			res, err := runOnServer(ctx, rc, store, filepath.Join(dir, fmt.Sprintf("%d-%s", round, store)), stdout)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", round, store, err)
			}
			failed += res.errorCount()
			runs[store] = append(runs[store], res)
		}
	}
	printCompare(stdout, c, runs)
	if failed > 0 {
		return fmt.Errorf("%d operations failed", failed)
	}
	return nil
}

// listening is the example server's start line; its addr is where it
// accepts connections.
var listening = regexp.MustCompile(`msg="passkeys example server listening" addr=(\S+)`)

// runOnServer starts the server on store with its log in dir, runs the load
// against it and stops it.
func runOnServer(ctx context.Context, c config, store, dir string, stdout io.Writer) (*result, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	args := []string{"-addr", "127.0.0.1:0", "-origin", c.origin, "-start-limit", "-1", "-store", strings.TrimSuffix(store, "-single")}
	switch store {
	case "sqlite":
		args = append(args, "-db", filepath.Join(dir, "load.db"))
	case "sqlite-single":
		args = append(args, "-db", filepath.Join(dir, "load.db"), "-sqlite-single-process")
	case "postgres":
		key := make([]byte, 32)
		rand.Read(key)
		args = append(args, "-postgres", c.postgres, "-postgres-schema", loadSchema(c.runID), "-jwt-secret", hex.EncodeToString(key))
	}
	cmd := exec.Command(c.server, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// The server must not see this tool's PASSKEYS_* settings.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PASSKEYS_") && !strings.HasPrefix(kv, "CORBADO_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("-server: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var stopped bool
	stop := func() {
		if !stopped {
			stopped = true
			stopServer(cmd, exited)
		}
	}
	defer stop()
	if store == "postgres" {
		defer dropSchema(ctx, c.postgres, loadSchema(c.runID))
	}

	addr, err := waitListening(ctx, logPath, exited)
	if err != nil {
		return nil, err
	}
	rc := c
	rc.target = &url.URL{Scheme: "http", Host: addr}
	rc.otpLog, rc.pid = logPath, cmd.Process.Pid
	res, err := runOnce(ctx, rc, stdout)
	if err != nil {
		return nil, err
	}
	stop()
	if res.ceremonies, err = ceremoniesLeft(ctx, c, store, dir); err != nil {
		return nil, fmt.Errorf("counting the ceremonies left: %w", err)
	}
	if res.ceremonies != nil {
		fmt.Fprintf(stdout, "ceremonies left in the store after the server stopped: %d (%d not yet expired)\n",
			res.ceremonies.total, res.ceremonies.live)
	}
	return res, nil
}

// loadSchema is the PostgreSQL schema of the run named runID: each run
// starts on empty tables of its own, as each SQLite run on its own file,
// and its ceremonies are counted apart from any other user's of the
// database.
func loadSchema(runID string) string {
	return "passkeys_load_" + strings.ReplaceAll(runID, "-", "_")
}

// dropSchema removes a run's schema once its ceremonies are counted.
func dropSchema(ctx context.Context, dsn, schema string) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
}

// leftCount is what a store held of ceremonies after its server stopped.
type leftCount struct {
	total int64 // every ceremony row
	live  int64 // of those, the ones not yet expired
}

// ceremoniesLeft reads, after the server has stopped, the ceremonies its
// store still holds: every ceremony the load started it also finished (a
// run ends by letting the operations in flight complete), so any row left
// is one a finish did not take, or one of a failed operation. It is nil
// for the stores that keep ceremonies in the process (memory,
// sqlite-single), whose count ends with it.
func ceremoniesLeft(ctx context.Context, c config, store, dir string) (*leftCount, error) {
	now := time.Now()
	var n leftCount
	switch store {
	case "sqlite":
		db, err := sql.Open("sqlite", filepath.Join(dir, "load.db")+"?_pragma=busy_timeout(10000)")
		if err != nil {
			return nil, err
		}
		defer db.Close()
		err = db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE expires_at > ?) FROM ceremonies`, now.UnixMicro()).
			Scan(&n.total, &n.live)
		return &n, err
	case "postgres":
		conn, err := pgx.Connect(ctx, c.postgres)
		if err != nil {
			return nil, err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		err = conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE expires_at > $1) FROM `+
			pgx.Identifier{loadSchema(c.runID), "ceremonies"}.Sanitize(), now).Scan(&n.total, &n.live)
		return &n, err
	}
	return nil, nil
}

// waitListening polls the server's log until its start line appears, the
// server exits, or 30 seconds pass.
func waitListening(ctx context.Context, logPath string, exited <-chan error) (string, error) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		if addr := findListening(logPath); addr != "" {
			if _, err := loopbackTarget("http://" + addr); err != nil {
				return "", fmt.Errorf("server listens on %s: %w", addr, err)
			}
			return addr, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case err := <-exited:
			return "", fmt.Errorf("server exited before listening (%v); its log is %s", err, tailOf(logPath))
		case <-deadline:
			return "", fmt.Errorf("server did not start in 30s; its log is %s", tailOf(logPath))
		case <-tick.C:
		}
	}
}

func findListening(logPath string) string {
	f, err := os.Open(logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			return m[1]
		}
	}
	return ""
}

// tailOf returns the last lines of a log for an error message.
func tailOf(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], "\n")
}

// stopServer asks the server to stop and kills it after 10 seconds.
func stopServer(cmd *exec.Cmd, exited <-chan error) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

func median(v []float64) float64 {
	v = slices.Sorted(slices.Values(v))
	if n := len(v); n%2 == 1 {
		return v[n/2]
	} else {
		return (v[n/2-1] + v[n/2]) / 2
	}
}

// printCompare prints per store the medians over the rounds of the login
// (and registration) rate and latencies, and the login rate as a share of
// the first store's, and the ceremonies its database held after the runs
// (summed over the rounds; "-" for the stores that keep them in the
// process).
func printCompare(w io.Writer, c config, runs map[string][]*result) {
	fmt.Fprintf(w, "\n%d rounds, %d users, %s login, %s each after a %s warm-up, register share %.2f; medians over the rounds\n",
		c.rounds, c.users, c.login, c.duration, c.warmup, c.register)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "store\tlogins/s\tshare of " + c.compare[0] + "\tp50\tp99\t"
	if c.register > 0 {
		head += "registrations/s\tregistration p99\t"
	}
	fmt.Fprintln(tw, head+"errors\trss change\tceremonies left\t")
	stat := func(rs []*result, f func(*result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return median(v)
	}
	base := stat(runs[c.compare[0]], func(r *result) float64 { return r.rate(kindLogin) })
	for _, store := range c.compare {
		rs := runs[store]
		rate := stat(rs, func(r *result) float64 { return r.rate(kindLogin) })
		share := "-"
		if base > 0 {
			share = fmt.Sprintf("%.2f", rate/base)
		}
		msOf := func(kind string, q float64) string {
			return fmt.Sprintf("%.2fms", stat(rs, func(r *result) float64 { return float64(r.p(kind, q)) / float64(time.Millisecond) }))
		}
		line := fmt.Sprintf("%s\t%.1f\t%s\t%s\t%s\t", store, rate, share, msOf(kindLogin, 0.50), msOf(kindLogin, 0.99))
		if c.register > 0 {
			line += fmt.Sprintf("%.1f\t%s\t", stat(rs, func(r *result) float64 { return r.rate(kindRegister) }), msOf(kindRegister, 0.99))
		}
		errs, rss := 0, "-"
		for _, r := range rs {
			errs += r.errorCount()
		}
		if rs[0].rss != nil {
			rss = fmt.Sprintf("%+.1fMiB", stat(rs, func(r *result) float64 {
				return float64(r.rss[len(r.rss)-1].kb-r.rss[0].kb) / 1024
			}))
		}
		left := "-"
		if rs[0].ceremonies != nil {
			var n int64
			for _, r := range rs {
				n += r.ceremonies.total
			}
			left = fmt.Sprint(n)
		}
		fmt.Fprintln(tw, line+fmt.Sprintf("%d\t%s\t%s\t", errs, rss, left))
	}
	tw.Flush()
}
