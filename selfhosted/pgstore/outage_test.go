package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/pgstore"
)

// These tests put a TCP proxy on 127.0.0.1 between a pgstore pool and
// PostgreSQL and cut it (the listener closed, every connection closed) to
// stand for a database that went away, without touching the server that
// other tests use.

// proxy forwards TCP connections from its address to target until cut.
type proxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener // nil while cut
	conns map[net.Conn]struct{}
}

// newProxy starts a proxy to target on a free port of 127.0.0.1; it is
// cut when the test ends.
func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			if p.ln != ln { // cut while dialling
				p.mu.Unlock()
				c.Close()
				up.Close()
				continue
			}
			p.conns[c], p.conns[up] = struct{}{}, struct{}{}
			p.mu.Unlock()
			pipe := func(dst, src net.Conn) {
				_, _ = io.Copy(dst, src)
				dst.Close()
				src.Close()
			}
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
}

// cut closes the listener and every connection: new connections are
// refused, open ones break.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// restore listens on the proxy's address again.
func (p *proxy) restore() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serve(ln)
}

// outageEnv is what the instances of one test share: a fresh schema, the
// clock, the mail, the OTP key.
type outageEnv struct {
	t       *testing.T
	dsn     string // the server's DSN, direct
	schema  string
	clock   *e2e.Clock
	mailbox *e2e.Mailbox
	otpKey  []byte
}

func newOutageEnv(t *testing.T) *outageEnv {
	dsn := os.Getenv("PASSKEYS_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("set PASSKEYS_TEST_POSTGRES_DSN (e.g. postgres://root@127.0.0.1:5432/test?sslmode=disable) to run against PostgreSQL")
	}
	env := &outageEnv{t: t, dsn: dsn, schema: "outage_" + strings.ToLower(rand.Text()),
		clock: e2e.NewClock(), mailbox: e2e.NewMailbox(), otpKey: make([]byte, 32)}
	rand.Read(env.otpKey)
	t.Cleanup(func() { dropSchema(t, dsn, env.schema) })
	return env
}

// proxied returns the DSN through p, with a password (the server's own,
// or one that trust authentication ignores) that must never be logged.
func (env *outageEnv) proxied(p *proxy) (dsn, password string) {
	u, err := url.Parse(env.dsn)
	if err != nil || u.Host == "" {
		env.t.Fatalf("PASSKEYS_TEST_POSTGRES_DSN must be a postgres:// URL here: %v", err)
	}
	password, ok := u.User.Password()
	if !ok {
		password = "pw-" + rand.Text()
		u.User = url.UserPassword(u.User.Username(), password)
	}
	u.Host = p.addr
	return u.String(), password
}

// target is the server's host:port.
func (env *outageEnv) target() string {
	u, err := url.Parse(env.dsn)
	if err != nil || u.Host == "" {
		env.t.Fatalf("PASSKEYS_TEST_POSTGRES_DSN must be a postgres:// URL here: %v", err)
	}
	if u.Port() == "" {
		return u.Host + ":5432"
	}
	return u.Host
}

// start runs an instance on dsn; wrap, when not nil, stands between the
// engine and the store. The instance logs to logs.
func (env *outageEnv) start(name, dsn string, logs io.Writer, wrap func(*pgstore.Store) selfhosted.Store) *instance {
	t := env.t
	store, err := pgstore.Open(t.Context(), dsn, pgstore.WithSchema(env.schema), pgstore.WithClock(env.clock.Now))
	if err != nil {
		t.Fatalf("instance %s: %v", name, err)
	}
	t.Cleanup(store.Close)
	var s selfhosted.Store = store
	if wrap != nil {
		s = wrap(store)
	}
	engine, err := selfhosted.New(selfhosted.Config{
		RPID: e2e.RPID, Origins: []string{e2e.Origin},
		Store: s, OTPSender: env.mailbox, OTPKey: env.otpKey, Clock: env.clock.Now,
	})
	if err != nil {
		t.Fatalf("instance %s: %v", name, err)
	}
	h, err := passkeys.New(passkeys.Options{
		Backend: engine, JWTKey: e2e.JWTKey, Clock: env.clock.Now,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatalf("instance %s: %v", name, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", h))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return &instance{t: t, name: name, url: ts.URL}
}

// account is a signed-up user with a passkey.
type account struct {
	email string
	token string
	auth  *passkeystest.Authenticator
}

// signUp signs email up on in and adds a passkey there.
func (env *outageEnv) signUp(in *instance, email string) account {
	t := env.t
	t.Helper()
	want(t, "request code", in.requestCode(email), 200, "")
	codes := env.mailbox.Codes(email)
	if len(codes) == 0 {
		t.Fatalf("no code was sent to %s", email)
	}
	r := in.checkCode(email, codes[len(codes)-1])
	want(t, "check code", r, 200, "")
	a := account{email: email, token: r.str("sessionToken"), auth: passkeystest.New(e2e.Origin)}
	r = in.post("/auth/passkey/append/start", map[string]any{}, a.token)
	want(t, "append start", r, 200, "")
	att, err := a.auth.Create(r.object("attestationOptions"))
	if err != nil {
		t.Fatal(err)
	}
	want(t, "append finish", in.post("/auth/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, a.token), 200, "")
	return a
}

// loginAssertion starts a login for a on in and returns the signed
// assertion, not yet sent.
func (env *outageEnv) loginAssertion(in *instance, a account) []byte {
	t := env.t
	t.Helper()
	env.clock.Advance(time.Second) // a fresh counter value
	r := in.post("/auth/passkey/login/start", map[string]string{"email": a.email}, "")
	want(t, "login start", r, 200, "")
	if r.get("loginAllow") != true {
		t.Fatalf("login start: %s", r.raw)
	}
	resp, err := a.auth.Get(r.object("assertionOptions"))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// wantUnavailable reports a violation unless r is 503 unavailable with a
// Retry-After header.
func wantUnavailable(t *testing.T, what string, r reply) {
	t.Helper()
	want(t, what, r, http.StatusServiceUnavailable, "unavailable")
	if r.header.Get("Retry-After") == "" {
		t.Errorf("%s: no Retry-After header", what)
	}
}

// errorLines returns the log's lines at level ERROR.
func errorLines(logs *e2e.Buffer) []string {
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "level=ERROR") {
			lines = append(lines, l)
		}
	}
	return lines
}

func TestOutageAnswers503AndRecovers(t *testing.T) {
	env := newOutageEnv(t)
	p := newProxy(t, env.target())
	dsn, password := env.proxied(p)
	logs := &e2e.Buffer{}
	in := env.start("A", dsn, logs, nil)

	a := env.signUp(in, "outage@example.com")
	pending := env.loginAssertion(in, a) // a ceremony started before the outage

	p.cut()
	var requests []func() reply
	requests = append(requests,
		func() reply { return in.post("/auth/passkey/login/start", map[string]string{"email": a.email}, "") },
		func() reply {
			r, err := finish(in, "login", pending)
			if err != nil {
				t.Fatal(err)
			}
			return r
		},
		func() reply { return in.post("/auth/passkey/mediation/start", map[string]any{}, "") },
		func() reply { return in.requestCode("someone@example.com") },
		func() reply { return in.checkCode(a.email, "123456") },
		func() reply { return in.post("/auth/passkey/append/start", map[string]any{}, a.token) },
		func() reply {
			r, err := in.send(http.MethodGet, "/auth/passkeys", nil, a.token)
			if err != nil {
				t.Fatal(err)
			}
			return r
		},
	)
	const burst = 42
	for i := range burst {
		wantUnavailable(t, "request during the outage", requests[i%len(requests)]())
	}
	lines := errorLines(logs)
	if len(lines) != 1 {
		t.Errorf("%d ERROR lines for a burst of %d failing requests, want 1:\n%s", len(lines), burst, strings.Join(lines, "\n"))
	} else if !strings.Contains(lines[0], "code=unavailable") || !strings.Contains(lines[0], "pgstore:") {
		t.Errorf("the ERROR line does not give the code and the store's cause: %s", lines[0])
	}

	p.restore()
	env.clock.Advance(6 * time.Second) // past the burst window
	r, err := finish(in, "login", pending)
	if err != nil {
		t.Fatal(err)
	}
	want(t, "the pending login finished after the outage", r, 200, "")
	r, err = finish(in, "login", pending)
	if err != nil {
		t.Fatal(err)
	}
	want(t, "the same assertion again", r, 401, "passkey_verification_failed")
	r, err = finish(in, "login", env.loginAssertion(in, a))
	if err != nil {
		t.Fatal(err)
	}
	want(t, "a new login after the outage", r, 200, "")
	list, err := in.send(http.MethodGet, "/auth/passkeys", nil, a.token)
	if err != nil {
		t.Fatal(err)
	}
	want(t, "list passkeys after the outage", list, 200, "")

	lines = errorLines(logs)
	if len(lines) != 2 || !strings.Contains(lines[1], "burst summary") || !strings.Contains(lines[1], "suppressed="+strconv.Itoa(burst-1)) || !strings.Contains(lines[1], `last_cause="pgstore:`) {
		t.Errorf("ERROR lines after the burst window:\n%s\nwant the first line and a summary with suppressed=%d and the last cause", strings.Join(lines, "\n"), burst-1)
	}
	if strings.Contains(logs.String(), password) {
		t.Errorf("the log holds the DSN's password:\n%s", logs.String())
	}
}

// cutter is a pgstore.Store that cuts the proxy at one moment of a finish.
type cutter struct {
	*pgstore.Store
	p *proxy

	mu          sync.Mutex
	afterTake   bool // cut once TakeCeremony has taken the ceremony
	beforeWrite bool // cut before RecordCredentialUse writes the counter
	afterCode   bool // cut once DeleteOTP has used up a code
}

func (c *cutter) DeleteOTP(ctx context.Context, email string, hash []byte) error {
	err := c.Store.DeleteOTP(ctx, email, hash)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.afterCode && err == nil {
		c.afterCode = false
		c.p.cut()
	}
	return err
}

func (c *cutter) arm(afterTake, beforeWrite bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.afterTake, c.beforeWrite = afterTake, beforeWrite
}

func (c *cutter) TakeCeremony(ctx context.Context, challenge string, now time.Time) (selfhosted.Ceremony, error) {
	cer, err := c.Store.TakeCeremony(ctx, challenge, now)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.afterTake && err == nil {
		c.afterTake = false
		c.p.cut()
	}
	return cer, err
}

// TakeCeremonyWithUser cuts after the take as TakeCeremony does: a button
// login's finish takes its ceremony and reads the user in this one
// statement, so the cut falls on the statement after it.
func (c *cutter) TakeCeremonyWithUser(ctx context.Context, challenge string, now time.Time) (selfhosted.Ceremony, selfhosted.UserRecord, []selfhosted.CredentialRecord, error) {
	cer, u, creds, err := c.Store.TakeCeremonyWithUser(ctx, challenge, now)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.afterTake && err == nil {
		c.afterTake = false
		c.p.cut()
	}
	return cer, u, creds, err
}

// TakeCeremonyWithHandleUser is TakeCeremonyWithUser for an autofill
// login, which takes its ceremony and reads the user by handle in one
// statement.
func (c *cutter) TakeCeremonyWithHandleUser(ctx context.Context, challenge string, handle []byte, now time.Time) (selfhosted.Ceremony, selfhosted.UserRecord, []selfhosted.CredentialRecord, error) {
	cer, u, creds, err := c.Store.TakeCeremonyWithHandleUser(ctx, challenge, handle, now)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.afterTake && err == nil {
		c.afterTake = false
		c.p.cut()
	}
	return cer, u, creds, err
}

func (c *cutter) RecordCredentialUse(ctx context.Context, u selfhosted.CredentialUse) error {
	c.mu.Lock()
	if c.beforeWrite {
		c.beforeWrite = false
		c.p.cut()
	}
	c.mu.Unlock()
	return c.Store.RecordCredentialUse(ctx, u)
}

func TestOutageBetweenTakeAndFinish(t *testing.T) {
	env := newOutageEnv(t)
	p := newProxy(t, env.target())
	dsn, _ := env.proxied(p)
	c := &cutter{p: p}
	in := env.start("A", dsn, io.Discard, func(s *pgstore.Store) selfhosted.Store { c.Store = s; return c })
	a := env.signUp(in, "halfway@example.com")

	mediationAssertion := func() []byte {
		env.clock.Advance(time.Second)
		r := in.post("/auth/passkey/mediation/start", map[string]any{}, "")
		want(t, "mediation start", r, 200, "")
		resp, err := a.auth.Get(r.object("assertionOptions"))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for _, tc := range []struct {
		name                  string
		kind                  string
		afterTake, beforeSave bool
	}{
		{"the statement after the take fails", "login", true, false},
		{"counter write-back fails", "login", false, true},
		{"autofill: the statement after the take fails", "mediation", true, false},
		{"autofill: counter write-back fails", "mediation", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := func() []byte { return env.loginAssertion(in, a) }
			if tc.kind == "mediation" {
				start = mediationAssertion
			}
			assertion := start()
			c.arm(tc.afterTake, tc.beforeSave)
			r, err := finish(in, tc.kind, assertion)
			if err != nil {
				t.Fatal(err)
			}
			wantUnavailable(t, "finish when the store goes away", r)
			if !strings.Contains(r.str("detail"), "start it again") {
				t.Errorf("detail %q does not tell the client to start again", r.str("detail"))
			}
			p.restore()
			for i := range 3 {
				r, err = finish(in, tc.kind, assertion)
				if err != nil {
					t.Fatal(err)
				}
				want(t, "the same assertion after the outage, try "+strconv.Itoa(i+1), r, 401, "passkey_verification_failed")
			}
			r, err = finish(in, tc.kind, start())
			if err != nil {
				t.Fatal(err)
			}
			want(t, "a new login", r, 200, "")
		})
	}
}

func TestOutageAfterCodeUsedUp(t *testing.T) {
	env := newOutageEnv(t)
	p := newProxy(t, env.target())
	dsn, _ := env.proxied(p)
	c := &cutter{p: p}
	in := env.start("A", dsn, io.Discard, func(s *pgstore.Store) selfhosted.Store { c.Store = s; return c })
	const email = "code@example.com"
	want(t, "request code", in.requestCode(email), 200, "")
	code := env.mailbox.Codes(email)[0]

	c.mu.Lock()
	c.afterCode = true
	c.mu.Unlock()
	r := in.checkCode(email, code)
	wantUnavailable(t, "check code when the store goes away after using it up", r)
	if !strings.Contains(r.str("detail"), "request a new code") {
		t.Errorf("detail %q does not say to request a new code", r.str("detail"))
	}
	p.restore()
	want(t, "the same code after the outage", in.checkCode(email, code), 401, "otp_invalid")
	env.clock.Advance(time.Minute) // past the resend cooldown
	want(t, "request a new code", in.requestCode(email), 200, "")
	codes := env.mailbox.Codes(email)
	want(t, "the new code", in.checkCode(email, codes[len(codes)-1]), 200, "")
}

func TestOneInstanceCutOtherFinishesItsCeremonies(t *testing.T) {
	env := newOutageEnv(t)
	p := newProxy(t, env.target())
	dsn, _ := env.proxied(p)
	a := env.start("A", dsn, io.Discard, nil)
	b := env.start("B", env.dsn, io.Discard, nil)
	acct := env.signUp(b, "pair@example.com")

	var pending [][]byte // started on A
	for range 5 {
		pending = append(pending, env.loginAssertion(a, acct))
	}
	r := a.post("/auth/passkey/mediation/start", map[string]any{}, "")
	want(t, "mediation start on A", r, 200, "")
	mediation, err := acct.auth.Get(r.object("assertionOptions"))
	if err != nil {
		t.Fatal(err)
	}

	p.cut()
	wantUnavailable(t, "login start on the cut instance", a.post("/auth/passkey/login/start", map[string]string{"email": acct.email}, ""))
	errs := 0
	for i, resp := range pending {
		r, err := finish(b, "login", resp)
		if err != nil || r.status != 200 {
			errs++
			t.Errorf("B finishing A's login %d: %v %d %s", i+1, err, r.status, r.raw)
		}
	}
	if r, err := finish(b, "mediation", mediation); err != nil || r.status != 200 {
		errs++
		t.Errorf("B finishing A's mediation: %v %d %s", err, r.status, r.raw)
	}
	if errs != 0 {
		t.Errorf("%d of %d of A's ceremonies failed on B", errs, len(pending)+1)
	}
	wantUnavailable(t, "login start on the cut instance, still", a.post("/auth/passkey/login/start", map[string]string{"email": acct.email}, ""))

	p.restore()
	// A dead connection may still sit idle in A's pool; the store reports
	// it as unavailable and the pool drops it, so A serves again within a
	// few requests and never answers 500.
	ok := false
	for i := 0; i < pgstore.DefaultMaxConns+2 && !ok; i++ {
		r := a.post("/auth/passkey/login/start", map[string]string{"email": acct.email}, "")
		switch r.status {
		case 200:
			ok = true
		case 503:
		default:
			t.Fatalf("A after the outage: %d %s", r.status, r.raw)
		}
	}
	if !ok {
		t.Errorf("A does not serve again after the outage")
	}
}

func TestProgrammingErrorStays500(t *testing.T) {
	env := newOutageEnv(t)
	in := env.start("A", env.dsn, io.Discard, nil)
	conn, err := pgx.Connect(t.Context(), env.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), "ALTER TABLE "+pgx.Identifier{env.schema, "ceremonies"}.Sanitize()+" RENAME TO ceremonies_gone"); err != nil {
		t.Fatal(err)
	}
	r := in.post("/auth/passkey/mediation/start", map[string]any{}, "")
	want(t, "mediation start on a schema without its ceremonies table", r, 500, "internal")
	if got := r.header.Get("Retry-After"); got != "" {
		t.Errorf("a bug is answered with Retry-After %q", got)
	}
}
