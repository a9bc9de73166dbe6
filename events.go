package passkeys

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// EventKind names what happened in an [Event].
type EventKind string

// The kinds of [Event] the handler emits. Each names the fields it sets
// beyond those every event carries (Time, RequestID, Endpoint, Client).
const (
	// EventRequest ends every request the handler answers, emitted after
	// the response is written: HTTPMethod, Status, Code (the problem code
	// of a failure, "" on success) and Duration; User when the request
	// had a session.
	EventRequest EventKind = "request"
	// EventCodeSent: a one-time code was sent to Email. Reason is
	// "sign_in" (signUpOrLogin) or "email_change" (account/email; Email
	// is then the new address and User the account).
	EventCodeSent EventKind = "code_sent"
	// EventCodeFailed: a code check for Email failed (wrong, expired or
	// used code). Reason as for EventCodeSent.
	EventCodeFailed EventKind = "code_failed"
	// EventSignUp: a code check created the account of User. A login
	// event follows.
	EventSignUp EventKind = "sign_up"
	// EventLogin: User proved who they are by Method (otp, passkey or
	// autofill). An EventSessionCreated follows.
	EventLogin EventKind = "login"
	// EventSessionCreated: a session was issued to User, who signed in by
	// Method (after an email change too).
	EventSessionCreated EventKind = "session_created"
	// EventSessionRevoked: a session of User ended before its time.
	// SessionID is the revoked session's ID when the session system has
	// IDs; Reason is "logout" or "revoked" (DELETE sessions/{id}).
	EventSessionRevoked EventKind = "session_revoked"
	// EventPasskeyAdded: User added the passkey PasskeyID named
	// PasskeyName.
	EventPasskeyAdded EventKind = "passkey_added"
	// EventPasskeyRenamed: User renamed the passkey PasskeyID to
	// PasskeyName.
	EventPasskeyRenamed EventKind = "passkey_renamed"
	// EventPasskeyRemoved: User deleted the passkey PasskeyID.
	EventPasskeyRemoved EventKind = "passkey_removed"
	// EventAccountDeleted: User deleted their account (and its sessions).
	EventAccountDeleted EventKind = "account_deleted"
	// EventEmailChanged: User's email moved from OldEmail to Email (User
	// holds the new address).
	EventEmailChanged EventKind = "email_changed"
	// EventRateLimited: a request was refused by the limit named in
	// Reason: "ip", "email", "otpcheck", "otpfail" or "start" (see
	// [Options.IPLimit] and the others), or another limit's key class. Email is set for the
	// per-email limits.
	EventRateLimited EventKind = "rate_limited"
	// EventVerificationFailed: a passkey response was refused. Ceremony
	// is "login", "autofill" or "append"; Reason is a category:
	// "ceremony" (unknown, expired or used ceremony), "origin" (made for
	// another site), "key" (malformed or weak public key), "counter"
	// (signature counter went backwards), "duplicate" (passkey already
	// registered), "unknown_credential" (a login with a passkey no account
	// owns, answered with [ErrUnknownCredential]) or "invalid" (any other
	// failed check, such as the signature). It is the [Error.Reason] the
	// backend gave the failure ("invalid" when it gave none), never read
	// from the public detail.
	EventVerificationFailed EventKind = "verification_failed"
)

// Event is one thing that happened in the handler, for an [EventSink].
// It never holds a code, token, challenge or key material.
type Event struct {
	Kind EventKind
	// Time is when it happened, by [Options.Clock].
	Time time.Time
	// RequestID identifies the request: the X-Request-ID response header
	// that the host's middleware set before calling the handler, else
	// the X-Request-ID header of a request that came through one of
	// [Options.TrustedProxies] (either when it is 1 to 128 characters of
	// A-Z a-z 0-9 . _ : -), else a random 32-hex string. The handler
	// sends it back as X-Request-ID.
	RequestID string
	// Endpoint is the route that served the request, as in the endpoint
	// table ("/passkey/login/finish", "/passkeys/{id}"), or "other" for a
	// path that is none.
	Endpoint string
	// Client is the requester's IP (after the trusted-proxy rule) and
	// user agent.
	Client Client
	// User is the account concerned when it is known.
	User User
	// Email is the address a code was sent to or checked for, or the
	// new address of an email change.
	Email string
	// OldEmail is the address an email change moved away from.
	OldEmail string
	// Method is how the user signed in (login and session_created).
	Method Method
	// NewUser reports that the login created the account.
	NewUser bool
	// Ceremony is the passkey ceremony of a verification failure.
	Ceremony string
	// Reason is the kind-specific category described with each kind.
	Reason string
	// PasskeyID and PasskeyName identify a passkey (ID in unpadded
	// base64url, as listed by GET passkeys).
	PasskeyID   string
	PasskeyName string
	// SessionID identifies a revoked session.
	SessionID string
	// HTTPMethod, Status, Code and Duration describe the answered
	// request (EventRequest only).
	HTTPMethod string
	Status     int
	Code       string
	Duration   time.Duration
}

// EventSink receives the handler's events. A request only queues its
// events; HandleEvent is called on a goroutine of the handler's own, one
// event at a time, in the order they happened (see [Options.Events]). ctx
// carries the request's values but is not cancelled with it. A sink that
// does slow work (sending mail, say) holds up the events behind it, not
// the requests.
type EventSink interface {
	HandleEvent(ctx context.Context, e Event)
}

// EventBatchSink is an optional capability of an [EventSink], discovered
// with a type assertion: a sink that has it gets the events that are
// queued together (up to [MaxEventBatch] of them, in the order they
// happened) in one HandleEvents call instead of one HandleEvent call each,
// so that it can write them together (selfhosted's activity sink stores a
// batch in one transaction). A batch never reaches past the events that
// GET account/activity waits for. ctx carries the values of the first
// event's request and is not cancelled. HandleEvents must not keep events
// after it returns. A sink handed around without this method (wrapped in
// an [EventSinkFunc], say) still gets every event, one at a time.
type EventBatchSink interface {
	EventSink
	HandleEvents(ctx context.Context, events []Event)
}

// MaxEventBatch is the most events one [EventBatchSink.HandleEvents] call
// gets.
const MaxEventBatch = 256

// EventSinkFunc is a function that is an [EventSink].
type EventSinkFunc func(ctx context.Context, e Event)

// HandleEvent calls f.
func (f EventSinkFunc) HandleEvent(ctx context.Context, e Event) { f(ctx, e) }

// MultiSink returns a sink that hands every event to each of sinks in
// turn. A sink that panics is recovered and logged by the handler without
// keeping the event from the sinks after it. It is an [EventBatchSink]: a
// batch goes whole to those of sinks that are one too, and event by event
// to the others.
func MultiSink(sinks ...EventSink) EventSink {
	return multiSink(append([]EventSink(nil), sinks...))
}

type multiSink []EventSink

var _ EventBatchSink = multiSink(nil)

func (m multiSink) HandleEvent(ctx context.Context, e Event) {
	for _, s := range m {
		if s != nil {
			deliverTo(ctx, s, e, nil)
		}
	}
}

func (m multiSink) HandleEvents(ctx context.Context, events []Event) {
	for _, s := range m {
		if s == nil {
			continue
		}
		if b, ok := s.(EventBatchSink); ok {
			deliverBatchTo(ctx, b, events, nil)
			continue
		}
		for _, e := range events {
			deliverTo(ctx, s, e, nil)
		}
	}
}

// batches reports whether s, or one of the sinks of a MultiSink s, takes
// batches.
func batches(s EventSink) bool {
	m, ok := s.(multiSink)
	if !ok {
		_, ok := s.(EventBatchSink)
		return ok
	}
	for _, s := range m {
		if s != nil && batches(s) {
			return true
		}
	}
	return false
}

// DefaultEventQueue is the default of [Options.EventQueue].
const DefaultEventQueue = 4096

// dispatcher queues events and hands them to the sink from one goroutine,
// started when the queue gets its first event and ended when it is empty.
type dispatcher struct {
	sink    EventSink
	logger  *slog.Logger
	max     int
	batches bool // the sink, or one of a MultiSink's, is an EventBatchSink
	dropped atomic.Uint64

	mu      sync.Mutex
	queue   []queued
	events  int // how many of queue are events, not marks of wait
	running bool
	idle    chan struct{} // closed when the running goroutine stops
}

type queued struct {
	ctx context.Context
	e   Event
	// done, when set, marks a barrier (see wait): run closes it when it
	// gets there, and it carries no event.
	done chan struct{}
}

func newDispatcher(sink EventSink, max int, logger *slog.Logger) *dispatcher {
	if sink == nil {
		return nil
	}
	return &dispatcher{sink: sink, max: max, logger: logger, batches: batches(sink)}
}

// add queues e, or drops and counts it when the queue is full.
func (d *dispatcher) add(ctx context.Context, e Event) {
	d.mu.Lock()
	if d.events >= d.max {
		d.mu.Unlock()
		if n := d.dropped.Add(1); n&(n-1) == 0 {
			d.logger.Log(ctx, slog.LevelError, "passkeys: event queue full, events dropped",
				"dropped_total", n, "queue", d.max)
		}
		return
	}
	d.queue = append(d.queue, queued{ctx: context.WithoutCancel(ctx), e: e})
	d.events++
	if !d.running {
		d.running = true
		d.idle = make(chan struct{})
		go d.run()
	}
	d.mu.Unlock()
}

func (d *dispatcher) run() {
	for {
		d.mu.Lock()
		if len(d.queue) == 0 {
			d.running = false
			d.queue = nil
			close(d.idle)
			d.mu.Unlock()
			return
		}
		if d.batches && d.queue[0].done == nil {
			d.runBatch()
			continue
		}
		q := d.queue[0]
		d.queue[0] = queued{}
		d.queue = d.queue[1:]
		if q.done != nil {
			d.mu.Unlock()
			close(q.done)
			continue
		}
		d.events--
		d.mu.Unlock()
		if m, ok := d.sink.(multiSink); ok {
			for _, s := range m {
				if s != nil {
					deliverTo(q.ctx, s, q.e, d.logger)
				}
			}
			continue
		}
		deliverTo(q.ctx, d.sink, q.e, d.logger)
	}
}

// runBatch takes the events at the head of the queue, up to the first
// mark of wait and at most MaxEventBatch, and hands them to the sink: as
// one batch to an EventBatchSink, one by one to another sink of a
// MultiSink (each with its own request's context). It is called with d.mu
// held and releases it.
func (d *dispatcher) runBatch() {
	n := 0
	for n < len(d.queue) && n < MaxEventBatch && d.queue[n].done == nil {
		n++
	}
	batch := make([]queued, n)
	copy(batch, d.queue[:n])
	clear(d.queue[:n])
	d.queue = d.queue[n:]
	d.events -= n
	d.mu.Unlock()
	events := make([]Event, n)
	for i, q := range batch {
		events[i] = q.e
	}
	ctx := batch[0].ctx
	sinks, ok := d.sink.(multiSink)
	if !ok {
		sinks = multiSink{d.sink}
	}
	for _, s := range sinks {
		if s == nil {
			continue
		}
		if b, ok := s.(EventBatchSink); ok {
			deliverBatchTo(ctx, b, events, d.logger)
			continue
		}
		for _, q := range batch {
			deliverTo(q.ctx, s, q.e, d.logger)
		}
	}
}

// wait waits until every event queued before the call has been handed to
// the sink, or ctx is done. Unlike flush it does not wait for events
// queued after it. Its mark in the queue is not an event: it may go
// beyond the queue's bound and is never dropped.
func (d *dispatcher) wait(ctx context.Context) error {
	d.mu.Lock()
	if !d.running {
		d.mu.Unlock()
		return nil
	}
	done := make(chan struct{})
	d.queue = append(d.queue, queued{done: done})
	d.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flush waits until the queue is empty.
func (d *dispatcher) flush(ctx context.Context) error {
	d.mu.Lock()
	if !d.running {
		d.mu.Unlock()
		return nil
	}
	idle := d.idle
	d.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// deliverTo calls s, recovering and logging a panic (at ERROR, with the
// event's kind and request ID only). A nil logger is slog.Default().
func deliverTo(ctx context.Context, s EventSink, e Event, logger *slog.Logger) {
	defer func() {
		if v := recover(); v != nil {
			if logger == nil {
				logger = slog.Default()
			}
			logger.Log(ctx, slog.LevelError, "passkeys: event sink panicked",
				"kind", string(e.Kind), "request_id", e.RequestID, "panic", redactSecrets(fmt.Sprint(v)))
		}
	}()
	s.HandleEvent(ctx, e)
}

// deliverBatchTo calls s.HandleEvents, recovering and logging a panic (at
// ERROR, with the first event's kind and request ID and the batch's size).
// A nil logger is slog.Default().
func deliverBatchTo(ctx context.Context, s EventBatchSink, events []Event, logger *slog.Logger) {
	defer func() {
		if v := recover(); v != nil {
			if logger == nil {
				logger = slog.Default()
			}
			logger.Log(ctx, slog.LevelError, "passkeys: event sink panicked",
				"kind", string(events[0].Kind), "request_id", events[0].RequestID, "events", len(events),
				"panic", redactSecrets(fmt.Sprint(v)))
		}
	}()
	s.HandleEvents(ctx, events)
}

// FlushEvents waits until every event emitted so far has been handed to
// [Options.Events], or until ctx is done. Call it on shutdown, after the
// HTTP server has stopped, so that no event is lost.
func (h *Handler) FlushEvents(ctx context.Context) error {
	if h.events == nil {
		return nil
	}
	return h.events.flush(ctx)
}

// DroppedEvents is how many events were dropped because the queue of
// [Options.EventQueue] was full.
func (h *Handler) DroppedEvents() uint64 {
	if h.events == nil {
		return 0
	}
	return h.events.dropped.Load()
}

// requestInfo is what the handler knows about a request for its events.
type requestInfo struct {
	id     string
	start  time.Time
	client Client
	email  string // the address the request is about, once decoded
	user   User   // the session's user, once verified
	code   string // the problem code of the error answered, if any
}

type requestInfoKey struct{}

// maxRequestID bounds an X-Request-ID taken from a trusted proxy.
const maxRequestID = 128

// requestID is the request's ID: the X-Request-ID that the host's own
// middleware already set on the response, or a trusted proxy's
// X-Request-ID, when well-formed; a fresh random one otherwise.
func (h *Handler) requestID(w http.ResponseWriter, r *http.Request) string {
	if id := w.Header().Get("X-Request-ID"); id != "" && validRequestID(id) {
		return id
	}
	if id := r.Header.Get("X-Request-ID"); id != "" && len(h.opts.TrustedProxies) > 0 && validRequestID(id) &&
		fromTrustedProxy(r, h.opts.TrustedProxies) {
		return id
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func validRequestID(id string) bool {
	if len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._:-", c) >= 0) {
			return false
		}
	}
	return true
}

// track starts a request: it gives it an ID (sent as X-Request-ID) and,
// when there is a sink, records what its events need and wraps w to learn
// the status. The returned func emits the request's EventRequest.
func (h *Handler) track(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, func()) {
	ri := &requestInfo{id: h.requestID(w, r)}
	w.Header().Set("X-Request-ID", ri.id)
	r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, ri))
	if h.events == nil {
		return w, r, func() {}
	}
	ri.start = h.opts.Clock()
	ri.client = h.client(r)
	sw := &statusWriter{ResponseWriter: w}
	return sw, r, func() {
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		h.emit(r, Event{Kind: EventRequest, User: ri.user, HTTPMethod: r.Method, Status: status, Code: ri.code, Duration: h.opts.Clock().Sub(ri.start)})
	}
}

// statusWriter remembers the status written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// answered records the problem code a request is answered with and
// returns the request's ID ("" for a request that did not come through
// ServeHTTP).
func answered(r *http.Request, code string) string {
	if ri := requestInfoFrom(r.Context()); ri != nil {
		ri.code = code
		return ri.id
	}
	return ""
}

// requestInfoFrom is the request's info, or nil for a request that did
// not come through ServeHTTP.
func requestInfoFrom(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return ri
}

// authenticated records the user of a request whose session the guard
// accepted, for its EventRequest.
func (h *Handler) authenticated(r *http.Request) {
	if ri := requestInfoFrom(r.Context()); ri != nil {
		ri.user, _ = UserFromContext(r.Context())
	}
}

// about records the email address the request is about, for its events.
func (h *Handler) about(r *http.Request, email string) {
	if ri := requestInfoFrom(r.Context()); ri != nil {
		ri.email = email
	}
}

// emit fills in what every event carries and queues e. It costs nothing
// without a sink.
func (h *Handler) emit(r *http.Request, e Event) {
	if h.events == nil {
		return
	}
	ctx := r.Context()
	e.Time = h.opts.Clock()
	e.Endpoint = h.endpoint(r.URL.Path)
	if ri := requestInfoFrom(ctx); ri != nil {
		e.RequestID, e.Client = ri.id, ri.client
		if e.Email == "" && (e.Kind == EventCodeSent || e.Kind == EventCodeFailed || e.Kind == EventRateLimited) {
			e.Email = ri.email
		}
	} else {
		e.Client = h.client(r)
	}
	if e.User.ID == "" {
		e.User, _ = UserFromContext(ctx)
	}
	h.events.add(ctx, e)
}

// endpoint is the route pattern that serves path, or "other".
func (h *Handler) endpoint(path string) string {
	path = "/" + strings.TrimPrefix(path, "/")
	if _, ok := h.routes[path]; ok {
		return path
	}
	if route, _, ok := idRoute(path); ok && h.routes[route] != nil {
		return route
	}
	return "other"
}

// signedIn emits the events of a successful sign-in by m.
func (h *Handler) signedIn(r *http.Request, u User, m Method, created bool) {
	if created {
		h.emit(r, Event{Kind: EventSignUp, User: u, Method: m, NewUser: true})
	}
	h.emit(r, Event{Kind: EventLogin, User: u, Method: m, NewUser: created})
}

// failed emits the event of a failed request, if its error has one. The
// rate limits emit their own (see limit).
func (h *Handler) failed(r *http.Request, err error) {
	if h.events == nil {
		return
	}
	e := asError(err)
	switch e.Code {
	case ErrOTPInvalid.Code:
		h.emit(r, Event{Kind: EventCodeFailed, Reason: otpPurpose(r)})
	case ErrVerificationFailed.Code:
		h.emit(r, Event{Kind: EventVerificationFailed, Ceremony: ceremonyOf(r.URL.Path), Reason: verificationReason(e)})
	case ErrUnknownCredential.Code:
		h.emit(r, Event{Kind: EventVerificationFailed, Ceremony: ceremonyOf(r.URL.Path), Reason: "unknown_credential"})
	}
}

// otpPurpose is the Reason of a code event on this request's route.
func otpPurpose(r *http.Request) string {
	if strings.HasSuffix(r.URL.Path, "/account/email") {
		return "email_change"
	}
	return "sign_in"
}

// ceremonyOf names the passkey ceremony of a finish route.
func ceremonyOf(path string) string {
	switch {
	case strings.Contains(path, "/passkey/append/"):
		return "append"
	case strings.Contains(path, "/passkey/mediation/"):
		return "autofill"
	default:
		return "login"
	}
}

// verificationReason is the category of a verification failure for
// EventVerificationFailed: the Reason its backend gave it, else
// ReasonInvalid. The public detail plays no part.
func verificationReason(e *Error) string {
	if e.Reason != "" {
		return e.Reason
	}
	return ReasonInvalid
}

// limitClass is the Reason of a rate_limited event: the key's class, the
// part before its first colon.
func limitClass(key string) string {
	class, _, _ := strings.Cut(key, ":")
	return class
}

// fromTrustedProxy reports whether the connection comes from one of the
// trusted proxies.
func fromTrustedProxy(r *http.Request, trusted []netip.Prefix) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	return err == nil && isTrusted(a.Unmap(), trusted)
}

// sessionID is the ID of the request's session, if its system has IDs.
func sessionID(r *http.Request) string {
	s, _ := SessionFromContext(r.Context())
	return s.ID
}
