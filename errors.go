package passkeys

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"time"
)

// Error is a failure with a public face: the HTTP status, a stable
// machine-readable Code, a Title and a Detail that are safe to show a client.
// Err, the cause, is logged by the handler and never sent.
//
// Two Errors match with [errors.Is] when their Codes are equal, so
// errors.Is(err, ErrOTPInvalid) holds for any wrapped variant.
//
// The handler sends Status as it is, with one exception decided in one
// place: on the routes that hold a session, where a 401 would mean that
// the session is bad, a passkey verification failure (which happens there
// at passkey/append/finish) is answered as [ErrAppendVerificationFailed],
// 400 instead of 401.
type Error struct {
	// Status is the HTTP status the client gets.
	Status int
	Code   string
	Title  string
	Detail string
	// RetryAfter, when positive, is sent as a Retry-After header (seconds,
	// rounded up).
	RetryAfter time.Duration
	// Err is the internal cause. It is logged, never written to a client.
	Err error
}

func (e *Error) Error() string {
	msg := e.Code + ": " + e.Detail
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same Code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// With returns a copy of e with a new public detail and an internal cause.
// An empty detail keeps e's.
func (e *Error) With(detail string, cause error) *Error {
	c := *e
	if detail != "" {
		c.Detail = detail
	}
	c.Err = cause
	return &c
}

// Withf is With with a formatted detail and no cause.
func (e *Error) Withf(format string, args ...any) *Error {
	return e.With(fmt.Sprintf(format, args...), nil)
}

// The errors a client can see. Backends and session verifiers return them,
// usually through [Error.With], and the handlers write them as
// application/problem+json.
var (
	ErrInvalidRequest     = &Error{Status: http.StatusBadRequest, Code: "invalid_request", Title: "Invalid request", Detail: "The request is malformed."}
	ErrUnauthorized       = &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Title: "Unauthorized", Detail: "A valid session token is required."}
	ErrOTPInvalid         = &Error{Status: http.StatusUnauthorized, Code: "otp_invalid", Title: "Invalid code", Detail: "The code is wrong, expired or already used."}
	ErrTooManyAttempts    = &Error{Status: http.StatusTooManyRequests, Code: "too_many_attempts", Title: "Too many attempts", Detail: "Too many attempts; try again later."}
	ErrVerificationFailed = &Error{Status: http.StatusUnauthorized, Code: "passkey_verification_failed", Title: "Passkey verification failed", Detail: "The passkey response could not be verified."}
	// ErrAppendVerificationFailed is ErrVerificationFailed on a route that
	// needs a session, passkey/append/finish: the same Code, so
	// errors.Is(err, ErrVerificationFailed) holds for it, but status 400.
	// The caller's session is valid there, and a 401 would tell the client
	// to log in again. Backends may return either from FinishAppend; the
	// handler answers with this one.
	ErrAppendVerificationFailed = &Error{Status: http.StatusBadRequest, Code: "passkey_verification_failed", Title: "Passkey verification failed", Detail: "The passkey response could not be verified."}
	ErrNotFound                 = &Error{Status: http.StatusNotFound, Code: "not_found", Title: "Not found", Detail: "The resource does not exist."}
	ErrMethodNotAllowed         = &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Title: "Method not allowed", Detail: "The method is not allowed for this resource."}
	// ErrPayloadTooLarge is a body over [Options.MaxBodyBytes]; the
	// handler's detail names that limit.
	ErrPayloadTooLarge      = &Error{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large", Title: "Payload too large", Detail: "The request body exceeds the size limit."}
	ErrUnsupportedMediaType = &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Title: "Unsupported media type", Detail: "The request body must be application/json."}
	ErrUpstream             = &Error{Status: http.StatusBadGateway, Code: "upstream_error", Title: "Upstream error", Detail: "The passkey service failed to answer correctly."}
	ErrUpstreamTimeout      = &Error{Status: http.StatusGatewayTimeout, Code: "upstream_timeout", Title: "Upstream timeout", Detail: "The passkey service did not answer in time."}
	ErrInternal             = &Error{Status: http.StatusInternalServerError, Code: "internal", Title: "Internal error", Detail: "An internal error occurred."}
	// ErrUnavailable is a fault that passes by itself: a database that
	// refuses connections, is shutting down or terminated the session, a
	// connection pool that timed out. The client gets 503 with Retry-After
	// and is told to try again shortly, so it and a load balancer can tell
	// an outage from a bug.
	//
	// A Store or Backend reports such a fault by wrapping this sentinel
	// together with the cause, in either form:
	//
	//	return fmt.Errorf("pgstore: %w: %w", passkeys.ErrUnavailable, err)
	//	return passkeys.ErrUnavailable.With("", err)
	//
	// errors.Is(err, ErrUnavailable) then holds, the handler answers 503,
	// and it logs the cause at ERROR, at most one line per burst of such
	// failures. Wrap only faults a retry can cure; a query the database
	// refuses as wrong stays a plain error (500 internal). The cause is
	// logged, so it must not hold a password or token (a DSN, say).
	ErrUnavailable = &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Title: "Service unavailable", Detail: "The service is briefly unavailable; try again shortly.", RetryAfter: 2 * time.Second}
)

// onSessionRoute is the one place where the handler answers with another
// status than the [*Error] it was given: on a route that needs a session,
// 401 means only that the session (or its account) is not valid, so a
// passkey that fails verification there is [ErrAppendVerificationFailed]
// (400), with the detail and cause it had. Every other error keeps its
// own Status, which is what the client gets.
func onSessionRoute(err error) error {
	var e *Error
	if !errors.As(err, &e) || e.Code != ErrVerificationFailed.Code || e.Status == ErrAppendVerificationFailed.Status {
		return err
	}
	return ErrAppendVerificationFailed.With(e.Detail, e.Err)
}

// asError turns any error into an *Error: an *Error anywhere in the chain is
// used (when it has no cause of its own but was wrapped, as in
// fmt.Errorf("%w: %w", ErrUnavailable, err), the whole chain becomes its
// cause, so the log keeps it), anything else becomes ErrInternal wrapping it.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		if e.Err == nil && e != err {
			c := *e
			c.Err = err
			return &c
		}
		return e
	}
	return ErrInternal.With("", err)
}

// errorWriter writes errors as problem+json and logs their causes.
type errorWriter struct {
	logger *slog.Logger
}

type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

func (ew *errorWriter) write(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err)
	logger := ew.logger
	if logger == nil {
		logger = slog.Default()
	}
	level := slog.LevelInfo
	if e.Status >= 500 {
		level = slog.LevelError
	}
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", e.Status, "code", e.Code}
	if e.Err != nil {
		attrs = append(attrs, "cause", e.Err.Error())
	}
	logger.Log(r.Context(), level, "passkeys: request failed", attrs...)

	hdr := w.Header()
	hdr.Set("Content-Type", "application/problem+json")
	hdr.Set("Cache-Control", "no-store")
	if e.RetryAfter > 0 {
		hdr.Set("Retry-After", fmt.Sprint(int64(math.Ceil(e.RetryAfter.Seconds()))))
	}
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(problem{
		Type: "urn:passkeys:error:" + e.Code, Title: e.Title, Status: e.Status, Detail: e.Detail, Code: e.Code,
	})
}

// writeJSON writes a 200 JSON response that no cache may keep.
func writeJSON(w http.ResponseWriter, status int, v any) {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
