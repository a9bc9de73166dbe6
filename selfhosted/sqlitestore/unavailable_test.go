package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
)

// TestLockedDatabaseIsUnavailable holds the write lock of a database file
// on one connection while a store without a busy timeout writes to it:
// SQLITE_BUSY is ErrUnavailable in the store and 503 with Retry-After
// through the handler, and once the lock is released the same request
// succeeds. A missing table, a bug, stays a plain error and 500.
func TestLockedDatabaseIsUnavailable(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "passkeys.db")
	first, err := Open(path) // creates the schema and switches to WAL
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Close() })

	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	locker, err := first.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := locker.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	err = s.PutCeremony(ctx, selfhosted.Ceremony{Challenge: "c", Kind: selfhosted.CeremonyLogin, Session: []byte("{}"), ExpiresAt: now.Add(time.Minute)}, now)
	if !errors.Is(err, passkeys.ErrUnavailable) {
		t.Errorf("PutCeremony while another connection holds the write lock: %v, want ErrUnavailable", err)
	}

	engine, err := selfhosted.New(selfhosted.Config{
		RPID: "localhost", Origins: []string{"http://localhost:8080"},
		Store: s, OTPSender: passkeystest.NewMailbox(),
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := passkeys.New(passkeys.Options{Backend: engine, JWTKey: []byte("sqlite-unavailable-test-key-0123456789"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	post := func() (int, string, string) {
		t.Helper()
		res, err := http.Post(ts.URL+"/signUpOrLogin", "application/json", strings.NewReader(`{"email":"locked@example.com"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var p struct{ Code string }
		_ = json.NewDecoder(res.Body).Decode(&p)
		return res.StatusCode, p.Code, res.Header.Get("Retry-After")
	}
	if st, code, ra := post(); st != 503 || code != "unavailable" || ra == "" {
		t.Errorf("request a code while the database is locked: %d %q Retry-After %q, want 503 unavailable with Retry-After", st, code, ra)
	}

	if _, err := locker.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	locker.Close()
	if st, code, _ := post(); st != 200 {
		t.Errorf("request a code once the lock is released: %d %q, want 200", st, code)
	}

	if _, err := first.db.ExecContext(ctx, "DROP TABLE otps"); err != nil {
		t.Fatal(err)
	}
	if st, code, ra := post(); st != 500 || code != "internal" || ra != "" {
		t.Errorf("request a code without the otps table: %d %q Retry-After %q, want 500 internal without Retry-After", st, code, ra)
	}
}

func TestUnavailableClasses(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"deadline", context.DeadlineExceeded, true},
		{"connection closed", sql.ErrConnDone, true},
		{"cancelled by the client", context.Canceled, false},
		{"no rows", sql.ErrNoRows, false},
		{"anything else", errors.New("x"), false},
	} {
		if got := unavailable(tc.err); got != tc.want {
			t.Errorf("%s: unavailable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
