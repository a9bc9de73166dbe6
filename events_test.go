package passkeys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

const (
	eventsRPID   = "localhost"
	eventsOrigin = "http://localhost:3000"
	eventsUA     = "events-test/1.0"
)

// recorder is an EventSink that keeps what it is given.
type recorder struct {
	mu     sync.Mutex
	events []passkeys.Event
}

func (r *recorder) HandleEvent(_ context.Context, e passkeys.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// take returns and forgets the events recorded so far.
func (r *recorder) take() []passkeys.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

// eventsEnv is a handler on the self-hosted engine (memstore, store
// sessions, a fixed clock) behind a real HTTP server under /auth.
type eventsEnv struct {
	h      *passkeys.Handler
	ts     *httptest.Server
	c      *passkeystest.Client
	mail   *passkeystest.Mailbox
	now    time.Time
	events *recorder
}

func newEventsEnv(t testing.TB, opts passkeys.Options) *eventsEnv {
	t.Helper()
	env := &eventsEnv{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), mail: passkeystest.NewMailbox(), events: &recorder{}}
	clock := func() time.Time { return env.now }
	store := memstore.New()
	engine, err := selfhosted.New(selfhosted.Config{
		RPID: eventsRPID, Origins: []string{eventsOrigin}, Store: store, OTPSender: env.mail, Clock: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := selfhosted.NewSessions(store, selfhosted.SessionsConfig{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	opts.Backend, opts.SessionIssuer, opts.SessionVerifier, opts.Clock = engine, sessions, sessions, clock
	if opts.Events == nil {
		opts.Events = env.events
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	env.h, err = passkeys.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", env.h))
	env.ts = httptest.NewServer(mux)
	t.Cleanup(env.ts.Close)
	env.c = passkeystest.NewClient(env.ts.URL+"/auth", passkeystest.ClientOptions{
		Authenticator: passkeystest.New(eventsOrigin), Mailbox: env.mail,
		Header: http.Header{"User-Agent": {eventsUA}},
	})
	return env
}

// flushed waits for the handler's events and returns them.
func (env *eventsEnv) flushed(t testing.TB) []passkeys.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := env.h.FlushEvents(ctx); err != nil {
		t.Fatalf("FlushEvents: %v", err)
	}
	return env.events.take()
}

// do sends a request with a session token and returns the status.
func (env *eventsEnv) do(t testing.TB, method, path, token string) int {
	t.Helper()
	req, _ := http.NewRequest(method, env.ts.URL+"/auth"+path, strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("User-Agent", eventsUA)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// brief is the part of an event a sequence test compares.
type brief struct {
	Kind     passkeys.EventKind
	Endpoint string
	UserID   string
	Email    string
	Method   passkeys.Method
	Reason   string
	Ceremony string
	Status   int
	Code     string
}

func briefs(events []passkeys.Event) []brief {
	out := make([]brief, len(events))
	for i, e := range events {
		out[i] = brief{Kind: e.Kind, Endpoint: e.Endpoint, UserID: e.User.ID, Email: e.Email, Method: e.Method,
			Reason: e.Reason, Ceremony: e.Ceremony, Status: e.Status, Code: e.Code}
	}
	return out
}

func request(endpoint, userID string, status int, code string) brief {
	return brief{Kind: passkeys.EventRequest, Endpoint: endpoint, UserID: userID, Status: status, Code: code}
}

func TestEventsOfEachFlow(t *testing.T) {
	ctx := context.Background()
	env := newEventsEnv(t, passkeys.Options{})
	const email = "ada@example.com"

	check := func(t *testing.T, step string, want []brief) []passkeys.Event {
		t.Helper()
		got := env.flushed(t)
		if diff := cmp.Diff(want, briefs(got)); diff != "" {
			t.Errorf("%s: events (-want +got):\n%s", step, diff)
		}
		for _, e := range got {
			if !e.Time.Equal(env.now) || e.Client.RemoteAddr != "127.0.0.1" || e.Client.UserAgent != eventsUA || len(e.RequestID) != 32 {
				t.Errorf("%s: %s event has time %v, client %+v, request ID %q", step, e.Kind, e.Time, e.Client, e.RequestID)
			}
		}
		return got
	}

	s, err := env.c.SignUpOrLogin(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	uid := s.User.ID
	got := check(t, "sign-up", []brief{
		{Kind: passkeys.EventCodeSent, Endpoint: "/signUpOrLogin", Email: email, Reason: "sign_in"},
		request("/signUpOrLogin", "", 200, ""),
		{Kind: passkeys.EventSignUp, Endpoint: "/signUpOrLogin", UserID: uid, Method: passkeys.MethodOTP},
		{Kind: passkeys.EventLogin, Endpoint: "/signUpOrLogin", UserID: uid, Method: passkeys.MethodOTP},
		{Kind: passkeys.EventSessionCreated, Endpoint: "/signUpOrLogin", UserID: uid, Method: passkeys.MethodOTP},
		request("/signUpOrLogin", "", 200, ""),
	})
	if len(got) == 6 && (got[2].RequestID != got[5].RequestID || got[0].RequestID == got[2].RequestID || !got[3].NewUser) {
		t.Errorf("request IDs %q %q %q or NewUser %v: want the events of one request to share one", got[0].RequestID, got[2].RequestID, got[5].RequestID, got[3].NewUser)
	}

	pk, err := env.c.AppendPasskey(ctx, s.Token)
	if err != nil {
		t.Fatal(err)
	}
	got = check(t, "append", []brief{
		request("/passkey/append/start", uid, 200, ""),
		{Kind: passkeys.EventPasskeyAdded, Endpoint: "/passkey/append/finish", UserID: uid},
		request("/passkey/append/finish", uid, 200, ""),
	})
	if len(got) == 3 && (got[1].PasskeyID != pk.ID || got[1].PasskeyName != pk.Name || got[1].User.Email != email) {
		t.Errorf("passkey_added carries %q %q %q, want %q %q %q", got[1].PasskeyID, got[1].PasskeyName, got[1].User.Email, pk.ID, pk.Name, email)
	}

	if _, err := env.c.LoginWithPasskey(ctx, email); err != nil {
		t.Fatal(err)
	}
	check(t, "passkey login", []brief{
		request("/passkey/login/start", "", 200, ""),
		{Kind: passkeys.EventLogin, Endpoint: "/passkey/login/finish", UserID: uid, Method: passkeys.MethodPasskey},
		{Kind: passkeys.EventSessionCreated, Endpoint: "/passkey/login/finish", UserID: uid, Method: passkeys.MethodPasskey},
		request("/passkey/login/finish", "", 200, ""),
	})

	if _, err := env.c.LoginWithAutofill(ctx); err != nil {
		t.Fatal(err)
	}
	check(t, "autofill login", []brief{
		request("/passkey/mediation/start", "", 200, ""),
		{Kind: passkeys.EventLogin, Endpoint: "/passkey/mediation/finish", UserID: uid, Method: passkeys.MethodAutofill},
		{Kind: passkeys.EventSessionCreated, Endpoint: "/passkey/mediation/finish", UserID: uid, Method: passkeys.MethodAutofill},
		request("/passkey/mediation/finish", "", 200, ""),
	})

	if _, err := env.c.RequestCode(ctx, email); err != nil {
		t.Fatal(err)
	}
	code, _ := env.mail.Last(email)
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	if _, err := env.c.SubmitCode(ctx, email, wrong); err == nil {
		t.Fatal("a wrong code signed in")
	}
	check(t, "wrong code", []brief{
		{Kind: passkeys.EventCodeSent, Endpoint: "/signUpOrLogin", Email: email, Reason: "sign_in"},
		request("/signUpOrLogin", "", 200, ""),
		{Kind: passkeys.EventCodeFailed, Endpoint: "/signUpOrLogin", Email: email, Reason: "sign_in"},
		request("/signUpOrLogin", "", 401, "otp_invalid"),
	})

	cer, err := env.c.StartLogin(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := env.c.Authenticator().Get(cer.Options, passkeystest.Tamper{Origin: "https://evil.example"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.c.FinishLogin(ctx, resp); err == nil {
		t.Fatal("a response for another origin signed in")
	}
	if _, err := env.c.FinishLogin(ctx, resp); err == nil {
		t.Fatal("a used ceremony signed in")
	}
	check(t, "verification failed", []brief{
		request("/passkey/login/start", "", 200, ""),
		{Kind: passkeys.EventVerificationFailed, Endpoint: "/passkey/login/finish", Ceremony: "login", Reason: "origin"},
		request("/passkey/login/finish", "", 401, "passkey_verification_failed"),
		{Kind: passkeys.EventVerificationFailed, Endpoint: "/passkey/login/finish", Ceremony: "login", Reason: "ceremony"},
		request("/passkey/login/finish", "", 401, "passkey_verification_failed"),
	})

	other, err := env.c.LoginWithPasskey(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	env.flushed(t)
	list, err := env.c.Passkeys(ctx, s.Token)
	if err != nil || len(list) != 1 {
		t.Fatalf("passkeys %v, %v", list, err)
	}
	if err := env.c.DeletePasskey(ctx, s.Token, list[0].ID); err != nil {
		t.Fatal(err)
	}
	got = check(t, "passkey removed", []brief{
		request("/passkeys", uid, 200, ""),
		{Kind: passkeys.EventPasskeyRemoved, Endpoint: "/passkeys/{id}", UserID: uid},
		request("/passkeys/{id}", uid, 200, ""), // with the signals
	})
	if len(got) == 3 && got[1].PasskeyID != pk.ID {
		t.Errorf("passkey_removed carries %q, want %q", got[1].PasskeyID, pk.ID)
	}

	var sessions struct {
		Sessions []passkeys.SessionInfo `json:"sessions"`
	}
	req, _ := http.NewRequest(http.MethodGet, env.ts.URL+"/auth/sessions", nil)
	req.Header.Set("Authorization", "Bearer "+other.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(res.Body).Decode(&sessions)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var otherID string
	for _, si := range sessions.Sessions {
		if si.Current {
			otherID = si.ID
		}
	}
	env.flushed(t)
	if st := env.do(t, http.MethodDelete, "/sessions/"+otherID, s.Token); st != http.StatusNoContent {
		t.Fatalf("DELETE sessions/{id}: %d", st)
	}
	got = check(t, "session revoked", []brief{
		{Kind: passkeys.EventSessionRevoked, Endpoint: "/sessions/{id}", UserID: uid, Reason: "revoked"},
		request("/sessions/{id}", uid, 204, ""),
	})
	if len(got) == 2 && got[0].SessionID != otherID {
		t.Errorf("session_revoked carries %q, want %q", got[0].SessionID, otherID)
	}
	if st := env.do(t, http.MethodPost, "/logout", other.Token); st != http.StatusUnauthorized {
		t.Errorf("logout with the revoked session: %d, want 401", st)
	}
	check(t, "revoked token", []brief{request("/logout", "", 401, "unauthorized")})

	if st := env.do(t, http.MethodDelete, "/account", s.Token); st != http.StatusNoContent {
		t.Fatalf("DELETE account: %d", st)
	}
	check(t, "account deleted", []brief{
		{Kind: passkeys.EventAccountDeleted, Endpoint: "/account", UserID: uid},
		request("/account", uid, 204, ""),
	})
}

func TestEventsOfLogoutAndEmailChange(t *testing.T) {
	ctx := context.Background()
	env := newEventsEnv(t, passkeys.Options{})
	s, err := env.c.SignUpOrLogin(ctx, "old@example.com")
	if err != nil {
		t.Fatal(err)
	}
	uid := s.User.ID
	env.flushed(t)

	post := func(body string) int {
		req, _ := http.NewRequest(http.MethodPost, env.ts.URL+"/auth/account/email", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if st := post(`{"email":"new@example.com"}`); st != http.StatusOK {
		t.Fatalf("email change start: %d", st)
	}
	code, _ := env.mail.Last("new@example.com")
	if st := post(`{"email":"new@example.com","otp":"` + code + `"}`); st != http.StatusOK {
		t.Fatalf("email change finish: %d", st)
	}
	got := env.flushed(t)
	want := []brief{
		{Kind: passkeys.EventCodeSent, Endpoint: "/account/email", UserID: uid, Email: "new@example.com", Reason: "email_change"},
		request("/account/email", uid, 200, ""),
		{Kind: passkeys.EventEmailChanged, Endpoint: "/account/email", UserID: uid, Email: "new@example.com"},
		{Kind: passkeys.EventSessionCreated, Endpoint: "/account/email", UserID: uid, Method: passkeys.MethodOTP},
		request("/account/email", uid, 200, ""),
	}
	if diff := cmp.Diff(want, briefs(got)); diff != "" {
		t.Errorf("email change events (-want +got):\n%s", diff)
	}
	if len(got) == 5 && (got[2].OldEmail != "old@example.com" || got[2].User.Email != "new@example.com") {
		t.Errorf("email_changed: old %q, user %+v", got[2].OldEmail, got[2].User)
	}

	s2, err := env.c.SignUpOrLogin(ctx, "new@example.com")
	if err != nil {
		t.Fatal(err)
	}
	env.flushed(t)
	if st := env.do(t, http.MethodPost, "/logout", s2.Token); st != http.StatusNoContent {
		t.Fatalf("logout: %d", st)
	}
	got = env.flushed(t)
	if diff := cmp.Diff([]brief{
		{Kind: passkeys.EventSessionRevoked, Endpoint: "/logout", UserID: uid, Reason: "logout"},
		request("/logout", uid, 204, ""),
	}, briefs(got)); diff != "" {
		t.Errorf("logout events (-want +got):\n%s", diff)
	}
	if len(got) == 2 && got[0].SessionID == "" {
		t.Error("session_revoked of a logout has no session ID")
	}
}

func TestEventsRateLimit(t *testing.T) {
	ctx := context.Background()
	env := newEventsEnv(t, passkeys.Options{EmailLimit: passkeys.Rate{Events: 1, Per: time.Hour}})
	if _, err := env.c.RequestCode(ctx, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	env.flushed(t)
	_, err := env.c.RequestCode(ctx, "bob@example.com")
	var pe *passkeystest.Error
	if !errors.As(err, &pe) || pe.Status != http.StatusTooManyRequests {
		t.Fatalf("second code request: %v, want 429", err)
	}
	if diff := cmp.Diff([]brief{
		{Kind: passkeys.EventRateLimited, Endpoint: "/signUpOrLogin", Email: "bob@example.com", Reason: "email"},
		request("/signUpOrLogin", "", 429, "too_many_attempts"),
	}, briefs(env.flushed(t))); diff != "" {
		t.Errorf("rate limit events (-want +got):\n%s", diff)
	}
}

func TestEventsUnknownPath(t *testing.T) {
	env := newEventsEnv(t, passkeys.Options{})
	res, err := http.Get(env.ts.URL + "/auth/nope")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if diff := cmp.Diff([]brief{request("other", "", 404, "not_found")}, briefs(env.flushed(t))); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// A sink that panics is logged, and neither the response nor the next
// events suffer.
func TestEventsSinkPanics(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	rec := &recorder{}
	panicky := passkeys.EventSinkFunc(func(_ context.Context, e passkeys.Event) {
		if e.Kind == passkeys.EventCodeSent {
			panic("sink failed")
		}
	})
	env := newEventsEnv(t, passkeys.Options{
		Events: passkeys.MultiSink(panicky, rec),
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	env.events = rec
	s, err := env.c.SignUpOrLogin(ctx, "cy@example.com")
	if err != nil || s.Token == "" {
		t.Fatalf("sign-up with a panicking sink: %v", err)
	}
	if got := len(env.flushed(t)); got != 6 {
		t.Errorf("the sink after the panicking one got %d events, want 6", got)
	}
	code, _ := env.mail.Last("cy@example.com")
	line := logs.String()
	if !strings.Contains(line, `"level":"ERROR"`) || !strings.Contains(line, "event sink panicked") || !strings.Contains(line, `"kind":"code_sent"`) {
		t.Errorf("log %q: want an ERROR line naming the event kind", line)
	}
	if strings.Contains(line, code) || strings.Contains(line, s.Token) {
		t.Errorf("log %q holds the code or the token", line)
	}
}

// A sink that blocks does not hold up any response: the queue fills, the
// rest is dropped and counted.
func TestEventsSinkBlocks(t *testing.T) {
	ctx := context.Background()
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	blocking := passkeys.EventSinkFunc(func(context.Context, passkeys.Event) {
		select {
		case started <- struct{}{}:
		default:
		}
		<-release
	})
	env := newEventsEnv(t, passkeys.Options{Events: blocking, EventQueue: 4})
	defer close(release)
	for i := range 5 {
		if _, err := env.c.SignUpOrLogin(ctx, "dee@example.com"); err != nil {
			t.Fatalf("sign-in %d with a blocked sink: %v", i, err)
		}
	}
	<-started
	// 5 sign-ins emit 26 events (6 for the first, 5 each after); one is
	// being handled, 4 wait, the rest are dropped.
	if got := env.h.DroppedEvents(); got != 21 {
		t.Errorf("DroppedEvents = %d, want 21", got)
	}
	flushCtx, cancel := context.WithCancel(ctx)
	cancel()
	if err := env.h.FlushEvents(flushCtx); !errors.Is(err, context.Canceled) {
		t.Errorf("FlushEvents with a blocked sink and a done context: %v", err)
	}
}

// A request ID that the host's middleware put on the response is kept.
func TestRequestIDFromHostMiddleware(t *testing.T) {
	env := newEventsEnv(t, passkeys.Options{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-ID", "host-7")
		http.StripPrefix("/auth", env.h).ServeHTTP(w, r)
	}))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/auth/passkeys")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	ev := env.flushed(t)
	if got := res.Header.Get("X-Request-ID"); got != "host-7" || len(ev) != 1 || ev[0].RequestID != "host-7" {
		t.Errorf("X-Request-ID %q, events %+v; want host-7 kept", got, ev)
	}
}

func TestRequestID(t *testing.T) {
	env := newEventsEnv(t, passkeys.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	untrusted := newEventsEnv(t, passkeys.Options{})
	for _, tc := range []struct {
		name   string
		env    *eventsEnv
		header string
		keep   bool
	}{
		{"trusted proxy", env, "req-42.a_b:c", true},
		{"not a trusted proxy", untrusted, "req-42", false},
		{"malformed", env, "req 42<script>", false},
		{"too long", env, strings.Repeat("a", 129), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, tc.env.ts.URL+"/auth/passkeys", nil)
			req.Header.Set("X-Request-ID", tc.header)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			got := res.Header.Get("X-Request-ID")
			if tc.keep != (got == tc.header) || got == "" {
				t.Errorf("X-Request-ID %q for %q, want it kept: %v", got, tc.header, tc.keep)
			}
			ev := tc.env.flushed(t)
			if len(ev) != 1 || ev[0].RequestID != got {
				t.Errorf("events %+v, want one with request ID %q", ev, got)
			}
		})
	}
}

func TestEventQueueOption(t *testing.T) {
	_, err := passkeys.New(passkeys.Options{Backend: (&eventsEnv{}).backend(t), JWTKey: bytes.Repeat([]byte("k"), 32), EventQueue: -1})
	if err == nil || !strings.Contains(err.Error(), "Options.EventQueue") {
		t.Errorf("New with a negative EventQueue: %v", err)
	}
}

func (*eventsEnv) backend(t *testing.T) passkeys.Backend {
	engine, err := selfhosted.New(selfhosted.Config{RPID: eventsRPID, Origins: []string{eventsOrigin}, Store: memstore.New(), OTPSender: passkeystest.NewMailbox()})
	if err != nil {
		t.Fatal(err)
	}
	return engine
}

// BenchmarkLoginFinishEvents measures passkey/login/finish served in
// process without a sink and with one that does nothing, so that the
// difference is the cost of the events (the request ID, the status
// writer, three queued events).
func BenchmarkLoginFinishEvents(b *testing.B) {
	for _, bc := range []struct {
		name string
		sink passkeys.EventSink
	}{
		{"none", nil},
		{"noop", passkeys.EventSinkFunc(func(context.Context, passkeys.Event) {})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			benchmarkLoginFinish(b, bc.sink)
		})
	}
}

// benchmarkLoginFinish signs a user up with a passkey on a handler with
// sink, then times passkey/login/finish alone.
func benchmarkLoginFinish(b *testing.B, sink passkeys.EventSink) {
	ctx := context.Background()
	env := newEventsEnv(b, passkeys.Options{Events: sink, StartLimit: passkeys.Rate{Events: -1}})
	s, err := env.c.SignUpOrLogin(ctx, "bench@example.com")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := env.c.AppendPasskey(ctx, s.Token); err != nil {
		b.Fatal(err)
	}
	auth := env.c.Authenticator()
	serve := func(path, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		env.h.ServeHTTP(w, req)
		return w
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		w := serve("/passkey/login/start", `{"email":"bench@example.com"}`)
		var start struct {
			AssertionOptions json.RawMessage `json:"assertionOptions"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &start); err != nil || w.Code != http.StatusOK {
			b.Fatalf("start: %d %s %v", w.Code, w.Body, err)
		}
		resp, err := auth.Get(start.AssertionOptions)
		if err != nil {
			b.Fatal(err)
		}
		body := `{"assertionResponse":` + string(resp) + `}`
		b.StartTimer()
		if w := serve("/passkey/login/finish", body); w.Code != http.StatusOK {
			b.Fatalf("finish: %d %s", w.Code, w.Body)
		}
	}
	b.StopTimer()
	if err := env.h.FlushEvents(ctx); err != nil {
		b.Fatal(err)
	}
}

// A problem answer and its log line carry the request's ID.
func TestRequestIDInProblemAndLog(t *testing.T) {
	var logs bytes.Buffer
	env := newEventsEnv(t, passkeys.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	res, err := http.Post(env.ts.URL+"/auth/signUpOrLogin", "application/json", strings.NewReader(`{"email":"not an address"}`))
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Code      string `json:"code"`
		RequestID string `json:"requestId"`
	}
	err = json.NewDecoder(res.Body).Decode(&p)
	res.Body.Close()
	id := res.Header.Get("X-Request-ID")
	if err != nil || res.StatusCode != http.StatusBadRequest || p.Code != "invalid_request" || p.RequestID != id || len(id) != 32 {
		t.Errorf("answer %d %+v (%v), header %q: want 400 invalid_request with the header's request ID", res.StatusCode, p, err, id)
	}
	if !strings.Contains(logs.String(), `"request_id":"`+id+`"`) {
		t.Errorf("log %q lacks request_id %s", logs.String(), id)
	}
}

// reasonBackend fails every login finish with err.
type reasonBackend struct {
	passkeys.Backend
	err error
}

func (b reasonBackend) FinishLogin(context.Context, json.RawMessage, passkeys.Client) (passkeys.User, error) {
	return passkeys.User{}, b.err
}

// The reason of a verification_failed event is the backend's
// Error.Reason, whatever the public detail says; without one it is
// invalid. Reason is never sent.
func TestVerificationReasonFromError(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"origin, reworded", passkeys.ErrVerificationFailed.With("Wrong site.", nil).WithReason(passkeys.ReasonOrigin), "origin"},
		{"counter, wrapped", fmt.Errorf("engine: %w", passkeys.ErrVerificationFailed.WithReason(passkeys.ReasonCounter).With("", errors.New("cause"))), "counter"},
		{"no reason, a detail that once meant origin", passkeys.ErrVerificationFailed.With("The passkey response was made for another web site.", nil), "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			h, err := passkeys.New(passkeys.Options{Backend: reasonBackend{err: tc.err}, JWTKey: make([]byte, 32), Events: rec,
				Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/passkey/login/finish", strings.NewReader(`{"assertionResponse":{"id":"AQID","type":"public-key"}}`))
			r.Header.Set("Content-Type", "application/json")
			h.ServeHTTP(w, r)
			if w.Code != http.StatusUnauthorized || strings.Contains(w.Body.String(), `"reason"`) || !strings.Contains(w.Body.String(), `"passkey_verification_failed"`) {
				t.Errorf("answer %d %s; want 401 passkey_verification_failed without a reason", w.Code, w.Body)
			}
			if err := h.FlushEvents(t.Context()); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range rec.take() {
				if e.Kind == passkeys.EventVerificationFailed {
					got = append(got, e.Reason)
				}
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("verification_failed reasons %v, want [%s]", got, tc.want)
			}
		})
	}
}
