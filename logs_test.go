package passkeys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/passkeyready/passkeys"
)

// logLines decodes the JSON log lines written so far.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logLines) take(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	l.buf.Reset()
	return out
}

// An outage answers every request 503 with Retry-After, but logs one
// ERROR line per burst and code: the first failure at once, then, once
// the burst window has passed on the injected clock, one summary with
// the count of the failures it did not log.
func TestOutageLogsOncePerBurst(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	logs := &logLines{}
	b := &recordingBackend{}
	h, err := passkeys.New(passkeys.Options{
		Backend: b, JWTKey: key, Clock: clock, IPLimit: passkeys.Rate{Events: -1}, OTPCheckLimit: passkeys.Rate{Events: -1},
		Logger: slog.New(slog.NewJSONHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	down := fmt.Errorf("pgstore: %w: %w", passkeys.ErrUnavailable, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused"))
	check := func() int {
		return post(t, h, "/signUpOrLogin", `{"email":"a@example.com","otp":"123456"}`, "").Code
	}

	b.finishOTPErr = down
	for i := range 100 {
		rec := post(t, h, "/signUpOrLogin", `{"email":"a@example.com","otp":"123456"}`, "")
		status, code, detail := problemOf(t, rec)
		if status != 503 || code != "unavailable" || detail != "The service is briefly unavailable; try again shortly." || rec.Header().Get("Retry-After") != "2" {
			t.Fatalf("request %d: %d %s %q Retry-After %q", i, status, code, detail, rec.Header().Get("Retry-After"))
		}
		advance(10 * time.Millisecond) // 1 s in all, inside the window
	}
	lines := logs.take(t)
	if len(lines) != 1 || lines[0]["level"] != "ERROR" || lines[0]["code"] != "unavailable" ||
		!strings.Contains(fmt.Sprint(lines[0]["cause"]), "connection refused") {
		t.Fatalf("a burst of 100 failures logged %d lines, want the first with its cause: %v", len(lines), lines)
	}

	// Another code in the same window has its own burst.
	b.finishOTPErr = errors.New("a bug")
	for range 3 {
		if s := check(); s != 500 {
			t.Fatalf("bug: %d", s)
		}
	}
	if lines := logs.take(t); len(lines) != 1 || lines[0]["code"] != "internal" {
		t.Fatalf("three internal errors logged %v, want one line", lines)
	}

	// Client errors are logged each time, at INFO.
	b.finishOTPErr = nil
	for range 2 {
		post(t, h, "/signUpOrLogin", `{"email":"a@example.com","otp":"000000"}`, "")
	}
	if lines := logs.take(t); len(lines) != 2 || lines[0]["level"] != "INFO" {
		t.Fatalf("two client errors logged %v", lines)
	}

	// The window passes; the next request, a success, brings the summaries.
	advance(5 * time.Second)
	if s := check(); s != 200 {
		t.Fatalf("after the outage: %d", s)
	}
	lines = logs.take(t)
	summary := map[string]float64{}
	for _, l := range lines {
		if l["level"] != "ERROR" || l["msg"] != "passkeys: requests failed (burst summary)" {
			t.Errorf("unexpected line after the window: %v", l)
			continue
		}
		summary[fmt.Sprint(l["code"])] = l["suppressed"].(float64)
		if l["code"] == "unavailable" && !strings.Contains(fmt.Sprint(l["last_cause"]), "connection refused") {
			t.Errorf("summary without the last cause: %v", l)
		}
	}
	if summary["unavailable"] != 99 || summary["internal"] != 2 || len(summary) != 2 {
		t.Errorf("summaries %v, want unavailable 99 and internal 2", summary)
	}
	if s := check(); s != 200 || len(logs.take(t)) != 0 {
		t.Errorf("a summary was written twice")
	}

	// A new outage after the window is logged at once again.
	b.finishOTPErr = down
	check()
	check()
	if lines := logs.take(t); len(lines) != 1 || lines[0]["code"] != "unavailable" || lines[0]["msg"] != "passkeys: request failed" {
		t.Errorf("a new burst logged %v, want its first failure", lines)
	}
}

// A store error that quotes its connection string does not put the
// password into the log: the errors pgx returns for a failed connect and
// for a DSN it cannot parse, and a store's own message holding the DSN.
func TestCausesCarryNoCredentials(t *testing.T) {
	const pw = "s3cret-Pa55"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var causes []error
	for _, dsn := range []string{
		"postgres://root:" + pw + "@127.0.0.1:1/test?sslmode=disable&connect_timeout=2",
		"host=127.0.0.1 port=1 user=root password=" + pw + " dbname=test sslmode=disable connect_timeout=2",
		"host=127.0.0.1 port=1 user=root password='" + pw + " x' sslmode=disable",
		"postgres://root:" + pw + "@127.0.0.1:1/test?sslmode=bogus",
		"postgres://root@127.0.0.1:1/test?password=" + pw + "&sslmode=disable&connect_timeout=2",
	} {
		_, err := pgconn.Connect(ctx, dsn)
		if err == nil {
			t.Fatalf("connected to port 1 with %q", dsn)
		}
		causes = append(causes, err, fmt.Errorf("pgstore: connecting to %s: %w", dsn, err))
	}
	causes = append(causes,
		errors.New(`corbado: POST /v2/users: Authorization: Bearer abc.def-ghi rejected`),
		errors.New(`verifying eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3JfMSJ9.c2lnbmF0dXJl failed`),
		errors.New(`basic auth with corbado1_`+pw+` refused`),
		errors.New(`mysql://app:`+pw+`@db:3306/x unreachable`),
	)
	for i, cause := range causes {
		logs := &logLines{}
		b := &recordingBackend{}
		b.finishOTPErr = fmt.Errorf("%w: %w", passkeys.ErrUnavailable, cause)
		h, err := passkeys.New(passkeys.Options{Backend: b, JWTKey: key, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if rec := post(t, h, "/signUpOrLogin", `{"email":"a@example.com","otp":"123456"}`, ""); rec.Code != 503 {
			t.Fatalf("cause %d: %d %s", i, rec.Code, rec.Body)
		}
		out := logs.buf.String()
		for _, secret := range []string{pw, "abc.def-ghi", "c2lnbmF0dXJl"} {
			if strings.Contains(out, secret) {
				t.Errorf("cause %d (%v) logged a secret: %s", i, cause, out)
			}
		}
		if !strings.Contains(out, `"cause"`) {
			t.Errorf("cause %d was not logged: %s", i, out)
		}
	}
}

// A request whose client went away (its context cancelled, the backend
// failing with that cancellation) is no server fault: no ERROR line, no
// burst opened, a DEBUG line and a 499 that nobody reads. A 500 of the
// same request with its client still there stays an ERROR.
func TestClientGoneIsNotAnError(t *testing.T) {
	logs := &logLines{}
	b := &stubBackend{}
	h, err := passkeys.New(passkeys.Options{
		Backend: b, JWTKey: key, IPLimit: passkeys.Rate{Events: -1}, OTPCheckLimit: passkeys.Rate{Events: -1},
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	// First, the same cause while the client is still there is a bug: 500, ERROR.
	b.finishOTPErr = context.Canceled
	rec := post(t, h, "/signUpOrLogin", `{"email":"a@example.com","otp":"123456"}`, "")
	if rec.Code != 500 {
		t.Errorf("cancelled cause, client present: %d, want 500", rec.Code)
	}
	if lines := logs.take(t); len(lines) != 1 || lines[0]["level"] != "ERROR" {
		t.Errorf("cancelled cause, client present: log %v, want one ERROR line", lines)
	}
	for _, cause := range []error{
		context.Canceled,
		fmt.Errorf("sqlitestore: take ceremony: %w", context.Canceled),
		passkeys.ErrInternal.With("", fmt.Errorf("corbado: %w", context.Canceled)),
	} {
		b.finishOTPErr = cause
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req := httptest.NewRequestWithContext(ctx, "POST", "/signUpOrLogin", strings.NewReader(`{"email":"a@example.com","otp":"123456"}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 499 {
			t.Errorf("%v: status %d, want 499", cause, rec.Code)
		}
		lines := logs.take(t)
		if len(lines) != 1 || lines[0]["level"] != "DEBUG" || lines[0]["path"] != "/signUpOrLogin" {
			t.Errorf("%v: log %v, want one DEBUG line naming the path", cause, lines)
		}
	}
}
