package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"github.com/passkeyready/passkeys"
)

// wrapErr wraps err, a failed statement, with what was being done; a
// fault that a retry can cure (see [unavailable]) becomes
// [passkeys.ErrUnavailable] with that as its cause, so that the handler
// answers 503 with Retry-After instead of 500 and logs the cause. pgx's error texts name the user, database
// and address of a connection, never its password.
func wrapErr(op string, err error) error {
	if unavailable(err) {
		return passkeys.ErrUnavailable.With("", fmt.Errorf("pgstore: %s: %w", op, err))
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

// unavailable reports whether err is a fault of the database or of the way
// to it that passes by itself, rather than a statement the database
// refuses as wrong:
//
//   - an error the server sent with a SQLSTATE of class 08 (connection
//     exception), 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
//     cannot_connect_now (starting up, shutting down, in recovery), 57P05
//     idle_session_timeout, 57014 query_canceled (statement_timeout),
//     53300 too_many_connections, 40001 serialization_failure, 40P01
//     deadlock_detected, 55P03 lock_not_available or 25006
//     read_only_sql_transaction (a standby during a failover);
//   - a connection that could not be made (refused, unreachable, timed
//     out) unless the server refused it with another SQLSTATE, such as a
//     wrong password (28P01) or an unknown database (3D000);
//   - a connection that broke or was closed mid-statement, a network
//     error, a deadline that passed while waiting for the pool or the
//     server, and a closed pool (the application shutting down).
//
// A cancelled context is not: the client has gone and nobody reads the
// answer. Everything else (bad SQL, a constraint violation, a value that
// does not scan) is a bug and stays a plain error, 500.
func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return unavailableCode(pgErr.Code)
	}
	var (
		connectErr *pgconn.ConnectError
		netErr     net.Error
	)
	switch {
	case errors.Is(err, context.Canceled):
		return false
	case errors.As(err, &connectErr),
		errors.Is(err, context.DeadlineExceeded),
		pgconn.Timeout(err),
		pgconn.SafeToRetry(err),
		errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, puddle.ErrClosedPool),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.As(err, &netErr):
		return true
	}
	return false
}

// unavailableCode reports whether a SQLSTATE is one of unavailable's.
func unavailableCode(code string) bool {
	if strings.HasPrefix(code, "08") {
		return true
	}
	switch code {
	case "57P01", "57P02", "57P03", "57P05", "57014", "53300", "40001", "40P01", "55P03", "25006":
		return true
	}
	return false
}
