package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

// testServer is the example server's set-up in-process: the handler on the
// self-hosted engine and an in-memory store, mounted under /auth/, with the
// development OTP sender writing to a file.
type testServer struct {
	url    string
	otpLog string
	store  *memstore.Store
}

func newTestServer(t *testing.T, tweak func(*passkeys.Options)) *testServer {
	t.Helper()
	otpLog := filepath.Join(t.TempDir(), "server.log")
	f, err := os.OpenFile(otpLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	store := memstore.New()
	engine, err := selfhosted.New(selfhosted.Config{
		RPID: "localhost", Origins: []string{"http://localhost:3000"},
		Store: store, OTPSender: &passkeys.DevelopmentOTPSender{W: f},
	})
	if err != nil {
		t.Fatal(err)
	}
	opts := passkeys.Options{
		Backend: engine, JWTKey: []byte("load-test-session-key-0123456789abcdef"),
		Logger: slog.New(slog.DiscardHandler),
	}
	if tweak != nil {
		tweak(&opts)
	}
	h, err := passkeys.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", h))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return &testServer{url: ts.URL, otpLog: otpLog, store: store}
}

func runLoad(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	if stderr.Len() > 0 {
		t.Logf("stderr: %s", stderr.String())
	}
	return stdout.String(), err
}

// rowCount returns the count column of the summary row of kind.
func rowCount(t *testing.T, out, kind string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + kind + `\s+(\d+)\s`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %s row in:\n%s", kind, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestRunAgainstServer(t *testing.T) {
	s := newTestServer(t, nil)
	out, err := runLoad(t, "-target", s.url, "-otp-log", s.otpLog, "-users", "2", "-max-ops", "50",
		"-duration", "1m", "-mix", "register=0.5", "-run-id", "test", "-pid", strconv.Itoa(os.Getpid()))
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	for _, want := range []string{"setup: 2 users signed up", ", 50 ceremonies, ", " 0 errors\n", "errors: none\n", "server rss: start "} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	logins, registrations, deletions := rowCount(t, out, kindLogin), rowCount(t, out, kindRegister), rowCount(t, out, kindDelete)
	if logins+registrations != 50 || deletions != registrations {
		t.Errorf("login %d + register %d should be 50, delete %d should equal register:\n%s", logins, registrations, deletions, out)
	}

	// Every registration's passkey was deleted again, and each login
	// advanced the counter of its user's remaining passkey by one.
	ctx := context.Background()
	counted := 0
	for _, email := range []string{"load-test-0@example.com", "load-test-1@example.com"} {
		u, err := s.store.UserByEmail(ctx, email)
		if err != nil {
			t.Fatalf("%s: %v", email, err)
		}
		creds, err := s.store.CredentialsByUser(ctx, u.ID)
		if err != nil || len(creds) != 1 {
			t.Fatalf("%s has %d passkeys (%v), want 1", email, len(creds), err)
		}
		counted += int(creds[0].SignCount)
	}
	if counted != logins {
		t.Errorf("the server counted %d logins, the summary %d", counted, logins)
	}
}

func TestRunAutofill(t *testing.T) {
	s := newTestServer(t, nil)
	out, err := runLoad(t, "-target", s.url, "-otp-log", s.otpLog, "-users", "2", "-max-ops", "20",
		"-duration", "1m", "-login", "autofill", "-warmup", "100ms", "-run-id", "fill")
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	if n := rowCount(t, out, kindLogin); n != 20 {
		t.Errorf("%d logins counted, want 20:\n%s", n, out)
	}
	// The warm-up's logins are not counted but did happen.
	ctx := context.Background()
	counted := 0
	for _, email := range []string{"load-fill-0@example.com", "load-fill-1@example.com"} {
		u, err := s.store.UserByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		creds, _ := s.store.CredentialsByUser(ctx, u.ID)
		counted += int(creds[0].SignCount)
	}
	if counted <= 20 {
		t.Errorf("the server counted %d logins, want the 20 measured and the warm-up's", counted)
	}
}

// TestCompare builds the example server and compares the memory and
// SQLite stores with it (and PostgreSQL when PASSKEYS_TEST_POSTGRES_DSN is
// set).
func TestCompare(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example server; run without -short")
	}
	bin := filepath.Join(t.TempDir(), "pk-server")
	build := exec.Command("go", "build", "-o", bin, "../../examples/server")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	stores, args := "memory,sqlite,sqlite-single", []string{}
	if dsn := os.Getenv("PASSKEYS_TEST_POSTGRES_DSN"); dsn != "" {
		stores, args = stores+",postgres", []string{"-postgres", dsn}
	}
	out, err := runLoad(t, append(args, "-compare", stores, "-server", bin, "-rounds", "2", "-users", "2",
		"-max-ops", "10", "-duration", "1m", "-sample", "50ms")...)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	for _, store := range strings.Split(stores, ",") {
		if n := strings.Count(out, "store "+store+"\n"); n != 2 {
			t.Errorf("%s ran %d times, want 2:\n%s", store, n, out)
		}
		m := regexp.MustCompile(`(?m)^\s*` + store + `\s+([\d.]+)\s+([\d.]+)\s+\S+ms\s+\S+ms\s+0\s+[-+][\d.]+MiB\s+(\d+|-)\s*$`).FindStringSubmatch(out)
		if m == nil {
			t.Errorf("no summary row for %s:\n%s", store, out)
			continue
		}
		if store == "memory" && m[2] != "1.00" {
			t.Errorf("memory's share of itself is %s", m[2])
		}
		// Every ceremony a run started it finished: a store that keeps
		// them in its database holds none afterwards.
		left := "0"
		if store == "memory" || store == "sqlite-single" {
			left = "-" // kept in the process, not countable after it stops
		}
		if m[3] != left {
			t.Errorf("%s: %s ceremonies left, want %s:\n%s", store, m[3], left, out)
		}
	}
	if strings.Count(out, ", 10 ceremonies, ") != 2*len(strings.Split(stores, ",")) {
		t.Errorf("not every run made its 10 ceremonies:\n%s", out)
	}
}

func TestRunCountsErrors(t *testing.T) {
	s := newTestServer(t, func(o *passkeys.Options) {
		o.StartLimit = passkeys.Rate{Events: 1, Per: time.Hour}
	})
	out, err := runLoad(t, "-target", s.url, "-otp-log", s.otpLog, "-users", "1", "-max-ops", "5", "-duration", "1m")
	if err == nil || !strings.Contains(err.Error(), "4 operations failed") {
		t.Errorf("run error %v, want 4 operations failed", err)
	}
	for _, want := range []string{", 1 ceremonies, ", "login passkey/login/start: 429 too_many_attempts: 4\n", "-start-limit -1"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestSetupGivesUpWithoutCode(t *testing.T) {
	s := newTestServer(t, nil)
	elsewhere := filepath.Join(t.TempDir(), "other.log")
	if err := os.WriteFile(elsewhere, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := runLoad(t, "-target", s.url, "-otp-log", elsewhere, "-users", "1", "-setup-timeout", "200ms")
	if err == nil || !strings.Contains(err.Error(), "no one-time code appeared") {
		t.Errorf("run error %v, want no one-time code appeared", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("setup took %s despite -setup-timeout 200ms", d)
	}
}

func TestLoopbackTarget(t *testing.T) {
	for _, tc := range []struct {
		target string
		ok     bool
	}{
		{"http://127.0.0.1:3000", true},
		{"http://127.1.2.3", true},
		{"http://[::1]:3000", true},
		{"http://localhost:8080", true},
		{"https://LOCALHOST", true},
		{"http://127.0.0.1:3000/", true},
		{"http://example.com", false},
		{"http://10.0.0.1:3000", false},
		{"http://0.0.0.0:3000", false},
		{"http://[::ffff:8.8.8.8]", false},
		{"http://127.0.0.1.nip.io", false},
		{"http://localhost.example.com", false},
		{"ftp://127.0.0.1", false},
		{"127.0.0.1:3000", false},
		{"http://127.0.0.1:3000/auth", false},
		{"http://user@127.0.0.1", false},
	} {
		t.Run(tc.target, func(t *testing.T) {
			_, err := loopbackTarget(tc.target)
			if (err == nil) != tc.ok {
				t.Errorf("loopbackTarget(%q) error %v, want ok=%v", tc.target, err, tc.ok)
			}
		})
	}
}

func TestParseConfigRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"remote target", []string{"-target", "http://192.0.2.1:3000", "-otp-log", "x"}, "not on this machine"},
		{"no otp log", nil, "-otp-log is required"},
		{"no users", []string{"-otp-log", "x", "-users", "0"}, "-users"},
		{"too many users", []string{"-otp-log", "x", "-users", "1001"}, "-users"},
		{"no duration", []string{"-otp-log", "x", "-duration", "0s"}, "-duration"},
		{"long duration", []string{"-otp-log", "x", "-duration", "2h"}, "-duration"},
		{"negative ops", []string{"-otp-log", "x", "-max-ops", "-1"}, "-max-ops"},
		{"mix name", []string{"-otp-log", "x", "-mix", "login=0.5"}, "-mix"},
		{"mix share", []string{"-otp-log", "x", "-mix", "register=1.5"}, "-mix"},
		{"run id", []string{"-otp-log", "x", "-run-id", "A B"}, "-run-id"},
		{"argument", []string{"-otp-log", "x", "extra"}, "unexpected argument"},
		{"login kind", []string{"-otp-log", "x", "-login", "conditional"}, "-login"},
		{"warm-up", []string{"-otp-log", "x", "-warmup", "-1s"}, "-warmup"},
		{"compare store", []string{"-compare", "memory,redis", "-server", "x"}, "-compare"},
		{"compare twice", []string{"-compare", "memory,memory", "-server", "x"}, "twice"},
		{"compare server", []string{"-compare", "memory,sqlite"}, "-server"},
		{"compare postgres", []string{"-compare", "memory,postgres", "-server", "x"}, "-postgres"},
		{"compare rounds", []string{"-compare", "memory", "-server", "x", "-rounds", "0"}, "-rounds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig(tc.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.95: 95 * time.Millisecond, 0.99: 99 * time.Millisecond, 1: 100 * time.Millisecond} {
		if got := percentile(d, q); got != want {
			t.Errorf("percentile(%v) = %s, want %s", q, got, want)
		}
	}
	if got := percentile(d[:1], 0.99); got != time.Millisecond {
		t.Errorf("percentile of one = %s", got)
	}
}
