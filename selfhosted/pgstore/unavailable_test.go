package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/selfhosted"
)

func TestUnavailableClasses(t *testing.T) {
	pg := func(code string) error { return &pgconn.PgError{Severity: "FATAL", Code: code, Message: "m"} }
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"admin_shutdown", pg("57P01"), true},
		{"crash_shutdown", pg("57P02"), true},
		{"cannot_connect_now", pg("57P03"), true},
		{"connection_failure", pg("08006"), true},
		{"connection_does_not_exist", pg("08003"), true},
		{"too_many_connections", pg("53300"), true},
		{"serialization_failure", pg("40001"), true},
		{"read only during a failover", pg("25006"), true},
		{"wrapped admin_shutdown", fmt.Errorf("x: %w", pg("57P01")), true},
		{"syntax_error", pg("42601"), false},
		{"undefined_table", pg("42P01"), false},
		{"unique_violation", pg("23505"), false},
		{"foreign_key_violation", pg("23503"), false},
		{"invalid_password", pg("28P01"), false},
		{"invalid_catalog_name", pg("3D000"), false},
		{"disk_full", pg("53100"), false},
		{"broken connection", fmt.Errorf("failed to receive message: %w", io.ErrUnexpectedEOF), true},
		{"closed connection", io.EOF, true},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, true},
		{"pgconn closed", fmt.Errorf("x: %w", pgconn.ErrConnClosed), true},
		{"deadline", context.DeadlineExceeded, true},
		{"cancelled by the client", context.Canceled, false},
		{"no rows", pgx.ErrNoRows, false},
		{"anything else", errors.New("cannot scan"), false},
	} {
		if got := unavailable(tc.err); got != tc.want {
			t.Errorf("%s: unavailable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

// TestUnavailableRealErrors classifies errors that a real server and pgx
// produce: a refused connection and a backend terminated by an
// administrator are unavailable; bad SQL, an undefined table and a
// foreign key violation are bugs; a deadline passed waiting for a pool
// connection is unavailable, a cancelled request is not.
func TestUnavailableRealErrors(t *testing.T) {
	dsn := testDSN(t)
	ctx := t.Context()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Host, cfg.Port, cfg.Fallbacks = "127.0.0.1", uint16(ln.Addr().(*net.TCPAddr).Port), nil
	if _, err := pgx.ConnectConfig(ctx, cfg); err == nil || !unavailable(err) {
		t.Errorf("connecting to %s, where nothing listens: %v, want unavailable", closed, err)
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "SELEC 1"); err == nil || unavailable(err) {
		t.Errorf("a syntax error: %v, want an error that is not unavailable", err)
	}
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend($1)", conn.PgConn().PID()); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, "SELECT 1")
	var pgErr *pgconn.PgError
	if err == nil || !unavailable(err) {
		t.Errorf("a terminated backend: %v, want unavailable", err)
	} else if errors.As(err, &pgErr) && pgErr.Code != "57P01" {
		t.Errorf("a terminated backend: SQLSTATE %s, want 57P01", pgErr.Code)
	}

	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pcfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s, err := New(ctx, pool, WithSchema(freshSchema(t, pool)))
	if err != nil {
		t.Fatal(err)
	}
	err = s.AddCredential(ctx, selfhosted.CredentialRecord{ID: []byte{1}, UserID: "nobody", Name: "n", Data: []byte("{}"), CreatedAt: day0})
	if err == nil || errors.Is(err, passkeys.ErrUnavailable) || errors.Is(err, selfhosted.ErrNotFound) {
		t.Errorf("a credential of an unknown user (foreign key violation): %v, want a plain error", err)
	}

	held, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond) // the only connection is held: the wait always ends by the deadline
	_, err = s.UserByID(short, "alice")
	cancel()
	if !errors.Is(err, passkeys.ErrUnavailable) {
		t.Errorf("UserByID while the pool's only connection is held past the deadline: %v, want ErrUnavailable", err)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.UserByID(gone, "alice"); err == nil || errors.Is(err, passkeys.ErrUnavailable) {
		t.Errorf("UserByID for a request already cancelled: %v, want an error that is not ErrUnavailable", err)
	}
	if _, err := held.Exec(ctx, s.sql(`ALTER TABLE {schema}.ceremonies RENAME TO ceremonies_gone`)); err != nil {
		t.Fatal(err)
	}
	held.Release()
	err = s.PutCeremony(ctx, selfhosted.Ceremony{Challenge: "c", Kind: selfhosted.CeremonyLogin, Session: []byte("{}"), ExpiresAt: day0.Add(time.Minute)}, day0)
	if err == nil || errors.Is(err, passkeys.ErrUnavailable) {
		t.Errorf("PutCeremony on a schema without its table: %v, want a plain error", err)
	}
}
