package passkeys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/corbadoapi"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

// issued is one call of IssueSession as the recordingIssuer saw it.
type issued struct {
	User   passkeys.User
	Auth   passkeys.Authentication
	AuthOK bool
	Client passkeys.Client
}

// recordingIssuer is a SessionIssuer that records the login context the
// handler passes to IssueSession, then lets the real issuer issue.
type recordingIssuer struct {
	next passkeys.SessionIssuer
	mu   sync.Mutex
	log  []issued
}

func (r *recordingIssuer) IssueSession(ctx context.Context, u passkeys.User) (string, error) {
	a, ok := passkeys.AuthenticationFromContext(ctx)
	c, _ := passkeys.ClientFromContext(ctx)
	r.mu.Lock()
	r.log = append(r.log, issued{User: u, Auth: a, AuthOK: ok, Client: c})
	r.mu.Unlock()
	return r.next.IssueSession(ctx, u)
}

// last returns the latest recorded issue.
func (r *recordingIssuer) last(t *testing.T) issued {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.log) == 0 {
		t.Fatal("IssueSession was not called")
	}
	return r.log[len(r.log)-1]
}

// rigOptions picks what an httpRig runs on.
type rigOptions struct {
	// corbado selects the Corbado backend on an emulator instead of the
	// self-hosted engine on memstore.
	corbado bool
	// jwt selects the demo JWT sessions instead of selfhosted.NewSessions.
	jwt bool
	// verifier, when set, wraps the session system as the handler's
	// SessionVerifier (a failing revoke, say).
	verifier func(*selfhosted.Sessions) passkeys.SessionVerifier
	// tweak changes the handler's options last.
	tweak func(*passkeys.Options)
}

// httpRig is a handler mounted under /auth/ on a real httptest.Server,
// next to a host route /api/me behind its guard (also at /app/me, under
// a stripped prefix), with everything on one
// injected clock: the self-hosted engine on memstore (or the Corbado
// backend on the emulator), revocable sessions of selfhosted.NewSessions
// on memstore (or the demo JWT), a mailbox for the codes and a software
// authenticator for the passkeys.
type httpRig struct {
	t        *testing.T
	clock    *e2e.Clock
	mail     *passkeystest.Mailbox
	store    *memstore.Store      // the engine's store; nil on Corbado
	sessions *selfhosted.Sessions // nil with the demo JWT
	issuer   *recordingIssuer
	api      *corbadoapi.Client // the emulator's Backend API; nil on the engine
	logs     *logLines
	opts     passkeys.Options // the handler's options
	h        *passkeys.Handler
	ts       *httptest.Server
	auth     *passkeystest.Authenticator
}

func newHTTPRig(t *testing.T, o rigOptions) *httpRig {
	t.Helper()
	r := &httpRig{t: t, clock: e2e.NewClock(), mail: passkeystest.NewMailbox(), logs: &logLines{}, auth: passkeystest.New(e2e.Origin)}
	var backend passkeys.Backend
	sessionStore := memstore.New()
	if o.corbado {
		env := &e2e.Env{Clock: r.clock, Mailbox: r.mail}
		emu, ets := corbadoEmulator(t, env)
		backend = corbadoOn(t, env, emu, ets.URL, nil)
		r.api = corbadoapi.New(corbadoapi.Config{BaseURL: ets.URL, ProjectID: emu.ProjectID(), APISecret: emu.APISecret()})
	} else {
		r.store = sessionStore
		engine, err := selfhosted.New(selfhosted.Config{
			RPID: e2e.RPID, Origins: []string{e2e.Origin}, Store: r.store, OTPSender: r.mail, Clock: r.clock.Now,
		})
		if err != nil {
			t.Fatal(err)
		}
		backend = engine
	}
	opts := passkeys.Options{
		Backend: backend, Clock: r.clock.Now,
		Logger: slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if o.jwt {
		lookup, _ := backend.(passkeys.UserLookup)
		j, err := passkeys.NewJWTSessions(passkeys.JWTOptions{Key: key, Clock: r.clock.Now, Lookup: lookup})
		if err != nil {
			t.Fatal(err)
		}
		r.issuer = &recordingIssuer{next: j}
		opts.SessionIssuer, opts.SessionVerifier = r.issuer, j
	} else {
		s, err := selfhosted.NewSessions(sessionStore, selfhosted.SessionsConfig{Clock: r.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		r.sessions = s
		r.issuer = &recordingIssuer{next: s}
		opts.SessionIssuer, opts.SessionVerifier = r.issuer, s
		if o.verifier != nil {
			opts.SessionVerifier = o.verifier(s)
		}
	}
	if o.tweak != nil {
		o.tweak(&opts)
	}
	h, err := passkeys.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	r.opts, r.h = opts, h
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", h))
	me := h.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u, _ := passkeys.UserFromContext(req.Context())
		s, _ := passkeys.SessionFromContext(req.Context())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"id": u.ID, "email": u.Email, "session": s.ID})
	}))
	mux.Handle("GET /api/me", me)
	mux.Handle("GET /app/", http.StripPrefix("/app", me)) // a host route behind a prefix of its own
	r.ts = httptest.NewServer(mux)
	t.Cleanup(r.ts.Close)
	return r
}

// client returns a passkeystest client of the handler that sends ua as
// its User-Agent.
func (r *httpRig) client(ua string) *passkeystest.Client {
	hdr := http.Header{}
	if ua != "" {
		hdr.Set("User-Agent", ua)
	}
	return passkeystest.NewClient(r.ts.URL+"/auth", passkeystest.ClientOptions{Authenticator: r.auth, Mailbox: r.mail, Header: hdr})
}

// signIn runs the code flow for email from a browser with user agent ua.
func (r *httpRig) signIn(email, ua string) passkeystest.Session {
	r.t.Helper()
	s, err := r.client(ua).SignUpOrLogin(r.t.Context(), email)
	if err != nil {
		r.t.Fatalf("code sign-in of %s: %v", email, err)
	}
	return s
}

// reply is a raw answer.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// json decodes the body into a generic value.
func (p reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(p.Body, &m); err != nil {
		t.Fatalf("body %q: %v", p.Body, err)
	}
	return m
}

// do sends a raw request to path (from the server's root, such as
// "/auth/logout") with token as its Bearer token when not empty.
func (r *httpRig) do(method, path, token, body string) reply {
	r.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(r.t.Context(), method, r.ts.URL+path, rd)
	if err != nil {
		r.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := r.ts.Client().Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return reply{Status: res.StatusCode, Header: res.Header, Body: bytes.TrimSpace(b)}
}

// wantStatus fails unless p has status.
func wantStatus(t *testing.T, what string, p reply, status int) bool {
	t.Helper()
	if p.Status != status {
		t.Errorf("%s: status %d %s, want %d", what, p.Status, p.Body, status)
		return false
	}
	return true
}

// wantProblem fails unless p is a problem+json answer with status and
// code, whose type names the code.
func wantProblem(t *testing.T, what string, p reply, status int, code string) {
	t.Helper()
	if !wantStatus(t, what, p, status) {
		return
	}
	if ct := p.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: Content-Type %q, want application/problem+json", what, ct)
	}
	var pr struct {
		Type, Code, Detail string
		Status             int
	}
	if err := json.Unmarshal(p.Body, &pr); err != nil {
		t.Errorf("%s: body %q: %v", what, p.Body, err)
		return
	}
	if pr.Code != code || pr.Type != "urn:passkeys:error:"+code || pr.Status != status || pr.Detail == "" {
		t.Errorf("%s: problem %s, want code %s, type urn:passkeys:error:%s, status %d and a detail", what, p.Body, code, code, status)
	}
}

// me is GET /api/me, the host's own guarded route, with token.
func (r *httpRig) me(token string) reply { return r.do(http.MethodGet, "/api/me", token, "") }

// sessionList is GET sessions with token, decoded; it fails the test on
// any other answer than 200.
func (r *httpRig) sessionList(token string) []passkeys.SessionInfo {
	r.t.Helper()
	p := r.do(http.MethodGet, "/auth/sessions", token, "")
	if p.Status != http.StatusOK {
		r.t.Fatalf("GET sessions: %d %s", p.Status, p.Body)
	}
	var out struct {
		Sessions []passkeys.SessionInfo `json:"sessions"`
	}
	if err := json.Unmarshal(p.Body, &out); err != nil || out.Sessions == nil {
		r.t.Fatalf("GET sessions body %s: %v", p.Body, err)
	}
	return out.Sessions
}

// stored returns the user's live sessions as the session store keeps
// them, bypassing the handler.
func (r *httpRig) stored(userID string) []passkeys.SessionInfo {
	r.t.Helper()
	list, err := r.sessions.ListSessions(r.t.Context(), userID)
	if err != nil {
		r.t.Fatal(err)
	}
	return list
}

// sessionIDs returns the IDs of list, in order.
func sessionIDs(list []passkeys.SessionInfo) []string {
	ids := make([]string, len(list))
	for i, s := range list {
		ids[i] = s.ID
	}
	return ids
}

// currentID is the ID of the session marked current in list, or "".
func currentID(list []passkeys.SessionInfo) string {
	for _, s := range list {
		if s.Current {
			return s.ID
		}
	}
	return ""
}
