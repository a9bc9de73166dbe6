package passkeys

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sync"
	"sync/atomic"
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
	// CredentialID, when not empty, is sent as the problem's credentialId
	// member: the credential ID (unpadded base64url) of an
	// [ErrUnknownCredential], which the client sent and may pass to
	// PublicKeyCredential.signalUnknownCredential.
	CredentialID string
	// Reason, when set, sorts the failure into a category for the
	// handler's events (the Reason of an [EventVerificationFailed]) and
	// so for metrics: for passkey_verification_failed one of
	// [ReasonCeremony], [ReasonOrigin], [ReasonKey], [ReasonCounter] and
	// [ReasonDuplicate]; unset is [ReasonInvalid]. It is never sent to the
	// client, and the public Detail may change without changing it. Set
	// it with [Error.WithReason]; [Error.With] keeps it.
	Reason string
	// Err is the internal cause. It is logged, never written to a client.
	Err error
}

// The categories of a passkey verification failure, for [Error.Reason]
// and the Reason of an [EventVerificationFailed].
const (
	// ReasonCeremony: the ceremony is unknown, expired or already used.
	ReasonCeremony = "ceremony"
	// ReasonOrigin: the response was made for another site.
	ReasonOrigin = "origin"
	// ReasonKey: the public key is malformed, of an unsupported kind or
	// too weak.
	ReasonKey = "key"
	// ReasonCounter: the signature counter went backwards.
	ReasonCounter = "counter"
	// ReasonDuplicate: the passkey is already registered.
	ReasonDuplicate = "duplicate"
	// ReasonInvalid: any other failed check, such as the signature.
	ReasonInvalid = "invalid"
)

// WithReason returns a copy of e with Reason set to reason.
func (e *Error) WithReason(reason string) *Error {
	c := *e
	c.Reason = reason
	return &c
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
	// ErrUnknownCredential answers a login or autofill finish whose
	// credential no account owns (deleted, or never registered here), when
	// the ceremony itself was valid: its challenge was issued and not yet
	// used, and the response was made for a configured origin. The answer's
	// credentialId member is the credential ID the client sent (see
	// [Error.CredentialID]), so the page can tell the browser to forget the
	// passkey with PublicKeyCredential.signalUnknownCredential. Any failure
	// of a credential some account owns (a bad signature, a wrong user
	// handle, another account's passkey) stays [ErrVerificationFailed].
	// Use [UnknownCredential] to build one.
	ErrUnknownCredential = &Error{Status: http.StatusUnauthorized, Code: "unknown_credential", Title: "Unknown passkey", Detail: "This passkey is not registered here (it may have been deleted); use another passkey or sign in with a code."}
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
	ErrUnsupportedMediaType = &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Title: "Unsupported media type", Detail: "The request body must be JSON: send Content-Type: application/json."}
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
	// ErrReauthenticationRequired refuses a destructive operation (deleting
	// a passkey, the account or another session, changing the email) when
	// the session's sign-in is older than [Options.ReauthenticationAge]:
	// the client signs in again with any login flow and retries with the
	// new session.
	ErrReauthenticationRequired = &Error{Status: http.StatusForbidden, Code: "reauthentication_required", Title: "Reauthentication required", Detail: "This operation needs a recent sign-in: sign in again with any login flow, then retry with the new session."}
	// ErrNotSupported refuses a well-formed request for something the
	// configured backend cannot do (a conditional create on the Corbado
	// backend, say). Nothing changed; the client falls back to the plain
	// form of the request.
	ErrNotSupported = &Error{Status: http.StatusBadRequest, Code: "not_supported", Title: "Not supported", Detail: "The passkey backend does not support this request."}
)

// UnknownCredential returns [ErrUnknownCredential] for the credential
// with this ID (the raw bytes the client sent), with cause as its internal
// cause.
func UnknownCredential(id []byte, cause error) *Error {
	e := ErrUnknownCredential.With("", cause)
	e.CredentialID = base64.RawURLEncoding.EncodeToString(id)
	return e
}

// onSessionRoute is the one place where the handler answers with another
// status than the [*Error] it was given: on a route that needs a session,
// 401 means only that the session (or its account) is not valid, so a
// passkey that fails verification there is [ErrAppendVerificationFailed]
// (400), with the detail, reason and cause it had. Every other error keeps its
// own Status, which is what the client gets.
func onSessionRoute(err error) error {
	var e *Error
	if !errors.As(err, &e) || e.Code != ErrVerificationFailed.Code || e.Status == ErrAppendVerificationFailed.Status {
		return err
	}
	return ErrAppendVerificationFailed.With(e.Detail, e.Err).WithReason(e.Reason)
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

// errorWriter writes errors as problem+json and logs their causes: a
// client error at INFO, one line per request; a server error (5xx) at
// ERROR, but at most one line per burst per code, so that an outage of a
// database or of Corbado does not write one line per request. The first
// failure of a code is logged at once and opens a burst of logBurstWindow;
// failures of that code within it are counted, not logged, and once the
// window has passed (noticed at the next request) one summary line gives
// their count and the last cause. Causes are scrubbed of credentials
// (see redactSecrets) before they are logged.
type errorWriter struct {
	logger *slog.Logger
	clock  func() time.Time // default time.Now

	pending atomic.Bool // some burst has suppressed lines to summarise
	mu      sync.Mutex
	bursts  map[string]*burst // by code
}

// logBurstWindow is how long a burst of server errors of one code lasts
// after its first logged line.
const logBurstWindow = 5 * time.Second

// burst is the state of one code's burst of server errors.
type burst struct {
	start      time.Time
	suppressed int
	lastCause  string
	lastPath   string
}

func (ew *errorWriter) now() time.Time {
	if ew.clock == nil {
		return time.Now()
	}
	return ew.clock()
}

func (ew *errorWriter) log() *slog.Logger {
	if ew.logger == nil {
		return slog.Default()
	}
	return ew.logger
}

// serverError decides whether a 5xx of this code is logged now. It
// returns false when it counted it in an open burst instead.
func (ew *errorWriter) serverError(ctx context.Context, code, path, cause string) bool {
	now := ew.now()
	ew.mu.Lock()
	defer ew.mu.Unlock()
	b := ew.bursts[code]
	if b != nil && now.Sub(b.start) < logBurstWindow && !now.Before(b.start) {
		b.suppressed++
		b.lastCause, b.lastPath = cause, path
		ew.pending.Store(true)
		return false
	}
	if b != nil {
		ew.summarise(ctx, code, b)
	}
	if ew.bursts == nil {
		ew.bursts = map[string]*burst{}
	}
	ew.bursts[code] = &burst{start: now}
	return true
}

// flush writes the summary of every burst whose window has passed. It is
// cheap when nothing is pending.
func (ew *errorWriter) flush(ctx context.Context) {
	if !ew.pending.Load() {
		return
	}
	now := ew.now()
	ew.mu.Lock()
	defer ew.mu.Unlock()
	more := false
	for code, b := range ew.bursts {
		if b.suppressed == 0 {
			continue
		}
		if now.Sub(b.start) < logBurstWindow && !now.Before(b.start) {
			more = true
			continue
		}
		ew.summarise(ctx, code, b)
		delete(ew.bursts, code)
	}
	ew.pending.Store(more)
}

// summarise logs the count of b's suppressed lines, if any. ew.mu is held.
func (ew *errorWriter) summarise(ctx context.Context, code string, b *burst) {
	if b.suppressed == 0 {
		return
	}
	ew.log().Log(ctx, slog.LevelError, "passkeys: requests failed (burst summary)",
		"code", code, "suppressed", b.suppressed, "since", b.start.UTC().Format(time.RFC3339),
		"last_path", b.lastPath, "last_cause", b.lastCause)
	b.suppressed = 0
}

type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	// RequestID is the X-Request-ID of the answer (see Event.RequestID).
	RequestID string `json:"requestId,omitempty"`
	// CredentialID is Error.CredentialID (unknown_credential).
	CredentialID string `json:"credentialId,omitempty"`
}

func (ew *errorWriter) write(w http.ResponseWriter, r *http.Request, err error) {
	ew.writeAt(w, r, err, slog.LevelInfo)
}

// fullPath is the request's path as the client sent it, before any
// http.StripPrefix: the path of r.RequestURI, or r.URL.Path for a request
// made in-process without one.
func fullPath(r *http.Request) string {
	if r.RequestURI != "" {
		if u, err := url.ParseRequestURI(r.RequestURI); err == nil && u.Path != "" {
			return u.Path
		}
	}
	return r.URL.Path
}

// writeAt is write with the level of a client error's log line (a server
// error is always logged at ERROR).
func (ew *errorWriter) writeAt(w http.ResponseWriter, r *http.Request, err error, clientLevel slog.Level) {
	if clientGone(r, err) {
		ew.log().Log(r.Context(), slog.LevelDebug, "passkeys: client went away", "method", r.Method, "path", fullPath(r))
		w.WriteHeader(statusClientClosed)
		return
	}
	e := asError(err)
	rid := answered(r, e.Code)
	cause := ""
	if e.Err != nil {
		cause = redactSecrets(e.Err.Error())
	}
	path := fullPath(r)
	level, logIt := clientLevel, true
	if e.Status >= 500 {
		level = slog.LevelError
		logIt = ew.serverError(r.Context(), e.Code, path, cause)
	}
	if logIt {
		attrs := []any{"method", r.Method, "path", path, "status", e.Status, "code", e.Code}
		if e.Err != nil {
			attrs = append(attrs, "cause", cause)
		}
		if rid != "" {
			attrs = append(attrs, "request_id", rid)
		}
		ew.log().Log(r.Context(), level, "passkeys: request failed", attrs...)
	}

	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Type", "application/problem+json")
	hdr.Set("Cache-Control", "no-store")
	if e.RetryAfter > 0 {
		hdr.Set("Retry-After", fmt.Sprint(int64(math.Ceil(e.RetryAfter.Seconds()))))
	}
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(problem{
		Type: "urn:passkeys:error:" + e.Code, Title: e.Title, Status: e.Status, Detail: e.Detail, Code: e.Code, RequestID: rid,
		CredentialID: e.CredentialID,
	})
}

// statusClientClosed is the status the handler gives a request
// whose client disconnected before the answer was ready (nginx's 499): the
// request's context was cancelled and the failure is that cancellation or
// a server error it caused. Nobody reads the answer; the status is for
// access logs and middleware. It is logged at DEBUG, not as a server
// error.
const statusClientClosed = 499

// clientGone reports whether err is the fallout of r's client going
// away: r's context was cancelled (which net/http does when the
// connection closes) and err is that cancellation or a server error.
func clientGone(r *http.Request, err error) bool {
	if !errors.Is(r.Context().Err(), context.Canceled) {
		return false
	}
	return errors.Is(err, context.Canceled) || asError(err).Status >= 500
}

// writeJSON writes a JSON response that no cache may keep.
func writeJSON(w http.ResponseWriter, status int, v any) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// secretPatterns find credentials that an error message may carry: the
// password of a URL's user info (a PostgreSQL DSN, say), password= and
// sslpassword= settings of a key/value connection string, quoted or not,
// bearer tokens, JWTs and Corbado API secrets.
var secretPatterns = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*):[^@\s]*@`), "${1}:xxxxx@"},
	{regexp.MustCompile(`(?i)((?:ssl)?password\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^\s&]*)`), "${1}xxxxx"},
	{regexp.MustCompile(`(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+`), "${1}xxxxx"},
	{regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`), "xxxxx"},
	{regexp.MustCompile(`corbado1_[A-Za-z0-9_-]+`), "corbado1_xxxxx"},
}

// redactSecrets masks every credential that secretPatterns find in s, so
// that a store or transport error that quotes its connection string does
// not put a password into the log.
func redactSecrets(s string) string {
	for _, p := range secretPatterns {
		s = p.re.ReplaceAllString(s, p.with)
	}
	return s
}
