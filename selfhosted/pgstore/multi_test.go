package pgstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
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

// These tests run three instances of a server, each with its own Handler,
// engine and pgstore pool, on one database schema, the way several copies
// of an application run behind a load balancer. They share only what such
// copies share: the database, the OTP and JWT keys, the clock and the mail.

// cluster is three instances on one fresh schema.
type cluster struct {
	clock   *e2e.Clock
	mailbox *e2e.Mailbox
	a, b, c *instance
}

// instance is one server of a cluster.
type instance struct {
	t    *testing.T
	name string
	url  string
}

// newCluster starts three instances on a fresh schema of the server named
// by PASSKEYS_TEST_POSTGRES_DSN, or skips the test. tweak, when not nil,
// changes each instance's Options. The schema is dropped when the test
// ends.
func newCluster(t *testing.T, tweak func(*passkeys.Options)) *cluster {
	t.Helper()
	dsn := os.Getenv("PASSKEYS_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("set PASSKEYS_TEST_POSTGRES_DSN (e.g. postgres://root@127.0.0.1:5432/test?sslmode=disable) to run against PostgreSQL")
	}
	schema := "multi_" + strings.ToLower(rand.Text())
	t.Cleanup(func() { dropSchema(t, dsn, schema) })

	cl := &cluster{clock: e2e.NewClock(), mailbox: e2e.NewMailbox()}
	otpKey := make([]byte, 32)
	rand.Read(otpKey)
	start := func(name string) *instance {
		store, err := pgstore.Open(t.Context(), dsn, pgstore.WithSchema(schema), pgstore.WithClock(cl.clock.Now))
		if err != nil {
			t.Fatalf("instance %s: %v", name, err)
		}
		t.Cleanup(store.Close)
		engine, err := selfhosted.New(selfhosted.Config{
			RPID: e2e.RPID, Origins: []string{e2e.Origin},
			Store: store, OTPSender: cl.mailbox, OTPKey: otpKey, Clock: cl.clock.Now,
		})
		if err != nil {
			t.Fatalf("instance %s: %v", name, err)
		}
		opts := passkeys.Options{
			Backend: engine,
			JWTKey:  e2e.JWTKey,
			Limiter: store,
			Clock:   cl.clock.Now,
			Logger:  slog.New(slog.DiscardHandler),
		}
		if tweak != nil {
			tweak(&opts)
		}
		h, err := passkeys.New(opts)
		if err != nil {
			t.Fatalf("instance %s: %v", name, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/auth/", http.StripPrefix("/auth", h))
		mux.Handle("GET /api/me", h.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, _ := passkeys.UserFromContext(r.Context())
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"user": u})
		})))
		ts := httptest.NewServer(mux)
		t.Cleanup(ts.Close)
		return &instance{t: t, name: name, url: ts.URL}
	}
	cl.a, cl.b, cl.c = start("A"), start("B"), start("C")
	return cl
}

func dropSchema(t *testing.T, dsn, schema string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Errorf("drop test schema: %v", err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		t.Errorf("drop test schema: %v", err)
	}
}

// all returns the instances in order.
func (cl *cluster) all() []*instance { return []*instance{cl.a, cl.b, cl.c} }

// lastCode returns the last code mailed to email.
func (cl *cluster) lastCode(t *testing.T, email string) string {
	t.Helper()
	codes := cl.mailbox.Codes(email)
	if len(codes) == 0 {
		t.Fatalf("no code was sent to %s", email)
	}
	return codes[len(codes)-1]
}

// reply is a decoded response.
type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// str returns the string at path in the body, or "".
func (r reply) str(path ...string) string {
	s, _ := r.get(path...).(string)
	return s
}

func (r reply) get(path ...string) any {
	var v any = r.body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

// object returns the JSON at path, re-encoded, for the authenticator.
func (r reply) object(path ...string) []byte {
	b, _ := json.Marshal(r.get(path...))
	return b
}

// send makes a request with an optional JSON body and bearer token.
func (in *instance) send(method, path string, body any, token string) (reply, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, in.url+path, rd)
	if err != nil {
		return reply{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer res.Body.Close()
	r := reply{status: res.StatusCode, header: res.Header}
	if r.raw, err = io.ReadAll(res.Body); err != nil {
		return r, err
	}
	if len(r.raw) > 0 {
		if err := json.Unmarshal(r.raw, &r.body); err != nil {
			return r, fmt.Errorf("%s %s on %s: body is not a JSON object: %s", method, path, in.name, r.raw)
		}
	}
	return r, nil
}

// post sends a POST and stops the test if there is no response.
func (in *instance) post(path string, body any, token string) reply {
	in.t.Helper()
	r, err := in.send(http.MethodPost, path, body, token)
	if err != nil {
		in.t.Fatal(err)
	}
	return r
}

// want reports a violation unless r has the status and, when code is not
// empty, that problem code.
func want(t *testing.T, what string, r reply, status int, code string) {
	t.Helper()
	if r.status != status || (code != "" && r.str("code") != code) {
		t.Errorf("%s: status %d, body %s; want %d %s", what, r.status, r.raw, status, code)
	}
}

// requestCode asks in to send a code to email.
func (in *instance) requestCode(email string) reply {
	in.t.Helper()
	return in.post("/auth/signUpOrLogin", map[string]string{"email": email}, "")
}

// checkCode submits a code for email to in.
func (in *instance) checkCode(email, code string) reply {
	in.t.Helper()
	return in.post("/auth/signUpOrLogin", map[string]string{"email": email, "otp": code}, "")
}

// finish posts an assertion to a login or mediation finish.
func finish(in *instance, kind string, assertion []byte) (reply, error) {
	return in.send(http.MethodPost, "/auth/passkey/"+kind+"/finish", map[string]json.RawMessage{"assertionResponse": assertion}, "")
}

// signUpWithPasskey signs email up on A and adds a passkey on A; it
// returns the authenticator holding the passkey.
func (cl *cluster) signUpWithPasskey(t *testing.T, email string) *passkeystest.Authenticator {
	t.Helper()
	want(t, "request code", cl.a.requestCode(email), 200, "")
	r := cl.a.checkCode(email, cl.lastCode(t, email))
	want(t, "check code", r, 200, "")
	token := r.str("sessionToken")
	auth := passkeystest.New(e2e.Origin)
	r = cl.a.post("/auth/passkey/append/start", map[string]any{}, token)
	want(t, "append start", r, 200, "")
	att, err := auth.Create(r.object("attestationOptions"))
	if err != nil {
		t.Fatal(err)
	}
	want(t, "append finish", cl.a.post("/auth/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, token), 200, "")
	return auth
}

func TestInstancesShareCeremoniesAndSessions(t *testing.T) {
	cl := newCluster(t, nil)
	a, b, c := cl.a, cl.b, cl.c
	const email = "multi@example.com"

	// Sign up: the code is requested on A and checked on B.
	want(t, "request code on A", a.requestCode(email), 200, "")
	r := b.checkCode(email, cl.lastCode(t, email))
	want(t, "check code on B", r, 200, "")
	token, id := r.str("sessionToken"), r.str("user", "id")
	if r.get("newUser") != true || id == "" || token == "" {
		t.Fatalf("sign-up on B: %s", r.raw)
	}

	// Add a passkey: start on A, finish on B.
	auth := passkeystest.New(e2e.Origin)
	r = a.post("/auth/passkey/append/start", map[string]any{}, token)
	want(t, "append start on A", r, 200, "")
	att, err := auth.Create(r.object("attestationOptions"))
	if err != nil {
		t.Fatal(err)
	}
	r = b.post("/auth/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, token)
	want(t, "append finish on B", r, 200, "")

	// Log in: start on B, finish on A; A's session works on C.
	cl.clock.Advance(time.Minute)
	r = b.post("/auth/passkey/login/start", map[string]string{"email": email}, "")
	want(t, "login start on B", r, 200, "")
	if r.get("loginAllow") != true {
		t.Fatalf("login start on B: %s", r.raw)
	}
	resp, err := auth.Get(r.object("assertionOptions"))
	if err != nil {
		t.Fatal(err)
	}
	r, err = finish(a, "login", resp)
	if err != nil {
		t.Fatal(err)
	}
	want(t, "login finish on A", r, 200, "")
	if r.str("user", "id") != id {
		t.Fatalf("login finish on A: %s, want user %s", r.raw, id)
	}
	me, err := c.send(http.MethodGet, "/api/me", nil, r.str("sessionToken"))
	if err != nil {
		t.Fatal(err)
	}
	want(t, "A's session on C", me, 200, "")
	if me.str("user", "id") != id {
		t.Errorf("A's session on C: %s, want user %s", me.raw, id)
	}

	// Conditional UI: start on C, finish on B.
	cl.clock.Advance(time.Minute)
	r = c.post("/auth/passkey/mediation/start", map[string]any{}, "")
	want(t, "mediation start on C", r, 200, "")
	resp, err = auth.Get(r.object("assertionOptions"))
	if err != nil {
		t.Fatal(err)
	}
	r, err = finish(b, "mediation", resp)
	if err != nil {
		t.Fatal(err)
	}
	want(t, "mediation finish on B", r, 200, "")
	if r.str("user", "id") != id {
		t.Errorf("mediation finish on B: %s, want user %s", r.raw, id)
	}

	// The last use, written by B, is what A lists.
	list, err := a.send(http.MethodGet, "/auth/passkeys", nil, token)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := list.get("passkeys").([]any)
	if len(keys) != 1 {
		t.Fatalf("passkeys on A: %s, want one", list.raw)
	}
	if used, _ := keys[0].(map[string]any)["lastUsedAt"].(string); used != cl.clock.Now().Format(time.RFC3339) {
		t.Errorf("lastUsedAt on A = %q, want %q", used, cl.clock.Now().Format(time.RFC3339))
	}
}

func TestConcurrentFinishesAcrossInstances(t *testing.T) {
	cl := newCluster(t, nil)
	auth := cl.signUpWithPasskey(t, "race@example.com")
	for _, kind := range []string{"login", "mediation"} {
		cl.clock.Advance(time.Minute)
		var r reply
		if kind == "login" {
			r = cl.a.post("/auth/passkey/login/start", map[string]string{"email": "race@example.com"}, "")
		} else {
			r = cl.a.post("/auth/passkey/mediation/start", map[string]any{}, "")
		}
		want(t, kind+" start", r, 200, "")
		resp, err := auth.Get(r.object("assertionOptions"))
		if err != nil {
			t.Fatal(err)
		}

		// One assertion, finished twenty times at once across A, B and C.
		statuses := make([]int, 20)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Go(func() {
				<-start
				r, err := finish(cl.all()[i%3], kind, resp)
				if err != nil {
					t.Error(err)
				}
				statuses[i] = r.status
			})
		}
		close(start)
		wg.Wait()
		ok, refused := 0, 0
		for _, st := range statuses {
			switch st {
			case 200:
				ok++
			case 401:
				refused++
			}
		}
		if ok != 1 || refused != len(statuses)-1 {
			t.Errorf("%s: statuses %v; want one 200 and the rest 401", kind, statuses)
		}
	}
}

func TestOTPAttemptsAddUpAcrossInstances(t *testing.T) {
	cl := newCluster(t, nil)
	const email = "brute@example.com"
	want(t, "request code on A", cl.a.requestCode(email), 200, "")
	code := cl.lastCode(t, email)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := range 5 {
		in := cl.all()[i%3]
		want(t, fmt.Sprintf("wrong code %d on %s", i+1, in.name), in.checkCode(email, wrong), 401, "otp_invalid")
	}
	want(t, "right code on C after five wrong ones", cl.c.checkCode(email, code), 401, "otp_invalid")
}

func TestOTPCooldownAcrossInstances(t *testing.T) {
	cl := newCluster(t, nil)
	const email = "cool@example.com"
	want(t, "request code on A", cl.a.requestCode(email), 200, "")
	cl.clock.Advance(10 * time.Second)
	want(t, "request code on B", cl.b.requestCode(email), 200, "")
	if n := len(cl.mailbox.Codes(email)); n != 1 {
		t.Fatalf("%d codes sent within the cooldown, want 1", n)
	}
	cl.clock.Advance(21 * time.Second)
	want(t, "request code on C after the cooldown", cl.c.requestCode(email), 200, "")
	if n := len(cl.mailbox.Codes(email)); n != 2 {
		t.Fatalf("%d codes sent, want 2", n)
	}
	want(t, "the new code on A", cl.a.checkCode(email, cl.lastCode(t, email)), 200, "")
}

func TestRateLimitAcrossInstances(t *testing.T) {
	cl := newCluster(t, func(o *passkeys.Options) {
		o.EmailLimit = passkeys.Rate{Events: 3, Per: time.Minute}
	})
	const email = "limited@example.com"
	for _, in := range cl.all() {
		want(t, "request within the limit on "+in.name, in.requestCode(email), 200, "")
	}
	for _, in := range cl.all() {
		r := in.requestCode(email)
		want(t, "fourth request on "+in.name, r, 429, "too_many_attempts")
		if got := r.header.Get("Retry-After"); got != "20" {
			t.Errorf("Retry-After on %s = %q, want 20", in.name, got)
		}
	}
	want(t, "another email on B", cl.b.requestCode("other@example.com"), 200, "")
	cl.clock.Advance(20 * time.Second)
	want(t, "request on C after Retry-After", cl.c.requestCode(email), 200, "")
}
