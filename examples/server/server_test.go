package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/passkeystest/corbadotest"

	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest"
)

// startServer runs the example in-process on a free port with args and
// returns its base URL and its stderr. Unless env or args name a database
// file, it is one in a temporary directory, not ./passkeys.db in the
// source tree.
func startServer(t *testing.T, env map[string]string, args ...string) (string, *e2e.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &e2e.Buffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	db := filepath.Join(t.TempDir(), "passkeys.db")
	getenv := func(k string) string {
		if k == "PASSKEYS_DB" && env[k] == "" {
			return db
		}
		return env[k]
	}
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), getenv, stderr, ready)
	}()
	select {
	case addr := <-ready:
		t.Cleanup(func() {
			// A connection the client dialed for a request that another
			// connection served sits idle in its pool without having sent
			// a request; the server counts it as active for 5 s, as long as
			// its shutdown deadline. Closing the pool lets Shutdown finish.
			http.DefaultClient.CloseIdleConnections()
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server stopped with %v", err)
			}
		})
		return "http://" + addr, stderr
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v\n%s", err, stderr)
	}
	return "", nil
}

type client struct {
	t    *testing.T
	base string
}

func (c client) call(method, path string, body any, token string) (int, map[string]any) {
	c.t.Helper()
	res := e2e.Call(c.t, nil, method, c.base+path, body, token)
	var out map[string]any
	if len(res.Body) > 0 {
		if err := json.Unmarshal(res.Body, &out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, res.Body)
		}
	}
	return res.Status, out
}

func field(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, _ := v.(map[string]any)
		v = mm[p]
	}
	return v
}

func obj(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

var codeLine = regexp.MustCompile(`DEVELOPMENT ONLY otp email=(\S+) code=(\d{6})`)

func lastCode(t *testing.T, stderr *e2e.Buffer, email string) string {
	t.Helper()
	code := ""
	for _, m := range codeLine.FindAllStringSubmatch(stderr.String(), -1) {
		if m[1] == email {
			code = m[2]
		}
	}
	if code == "" {
		t.Fatalf("no code for %s in the server output:\n%s", email, stderr)
	}
	return code
}

// TestExampleServerFlow drives the whole flow over HTTP against the example
// server, as a browser would, with the software authenticator.
func TestExampleServerFlow(t *testing.T) {
	db := filepath.Join(t.TempDir(), "passkeys.db")
	flow(t, "dev@example.com", nil, nil, "-db", db)
	if b, err := os.ReadFile(db + ".jwt-secret"); err != nil || len(b) < 64 {
		t.Errorf("development key file: %v (%d bytes)", err, len(b))
	}
}

// TestExampleServerSQLiteSingleProcess runs the same flow with
// -sqlite-single-process, and checks that the database file is locked
// while the server runs.
func TestExampleServerSQLiteSingleProcess(t *testing.T) {
	db := filepath.Join(t.TempDir(), "passkeys.db")
	flow(t, "alone@example.com", nil, nil, "-db", db, "-sqlite-single-process")
	other, err := sql.Open("sqlite", db+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var n int
	if err := other.QueryRow("SELECT count(*) FROM users").Scan(&n); err == nil {
		t.Errorf("another connection read the database of a -sqlite-single-process server (%d users)", n)
	}
}

// TestExampleServerPostgres runs the same flow with -postgres.
func TestExampleServerPostgres(t *testing.T) {
	dsn := os.Getenv("PASSKEYS_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("set PASSKEYS_TEST_POSTGRES_DSN to run the example server on PostgreSQL")
	}
	email := "pg-" + strings.ToLower(rand.Text()) + "@example.com"
	flow(t, email, nil, nil, "-postgres", dsn, "-jwt-secret", "a development key of at least 32 bytes")
}

// TestExampleServerCorbado runs the same flow with the Corbado backend,
// pointed at the emulator by CORBADO_BACKEND_API.
func TestExampleServerCorbado(t *testing.T) {
	env, codes := corbadoEmulator(t, "http://localhost:3000")
	flow(t, "corbado@example.com", env, codes, "-db", filepath.Join(t.TempDir(), "passkeys.db"))
}

// corbadoEmulator serves a Corbado emulator for RP ID localhost and
// origin, and returns the environment that points the example server at
// it and the buffer its codes appear in, one line each as the server logs
// them in development.
func corbadoEmulator(t *testing.T, origin string) (env map[string]string, codes *e2e.Buffer) {
	t.Helper()
	codes = &e2e.Buffer{}
	emu, err := corbadotest.New(corbadotest.Options{
		RPID: "localhost", Origins: []string{origin},
		OnOTP: func(email, code string) {
			fmt.Fprintf(codes, "passkeys DEVELOPMENT ONLY otp email=%s code=%s\n", email, code)
		},
		Errorf: t.Errorf,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return map[string]string{"CORBADO_PROJECT_ID": emu.ProjectID(), "CORBADO_API_SECRET": emu.APISecret(), "CORBADO_BACKEND_API": srv.URL}, codes
}

// flow runs the whole flow against a server started with env and args,
// reading codes from codes, or from the server's stderr when codes is nil.
func flow(t *testing.T, email string, env map[string]string, codes *e2e.Buffer, args ...string) {
	base, stderr := startServer(t, env, args...)
	if codes == nil {
		codes = stderr
	}
	c := client{t, base}

	st, body := c.call("POST", "/auth/signUpOrLogin", map[string]string{"email": email}, "")
	if st != 200 || body["otpSent"] != true {
		t.Fatalf("request code: %d %v", st, body)
	}
	st, body = c.call("POST", "/auth/signUpOrLogin", map[string]string{"email": email, "otp": lastCode(t, codes, email)}, "")
	if st != 200 || body["newUser"] != true {
		t.Fatalf("sign up: %d %v", st, body)
	}
	token := body["sessionToken"].(string)
	userID := field(body, "user", "id")

	auth := passkeystest.New("http://localhost:3000")
	st, body = c.call("POST", "/auth/passkey/append/start", map[string]any{}, token)
	if st != 200 || body["appendAllow"] != true {
		t.Fatalf("append start: %d %v", st, body)
	}
	att, err := auth.Create(obj(body["attestationOptions"]))
	if err != nil {
		t.Fatal(err)
	}
	st, body = c.call("POST", "/auth/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, token)
	credID := base64.RawURLEncoding.EncodeToString(auth.Credentials()[0].ID)
	if st != 200 || field(body, "passkey", "id") != credID {
		t.Fatalf("append finish: %d %v", st, body)
	}

	st, body = c.call("POST", "/auth/passkey/login/start", map[string]string{"email": email}, "")
	if st != 200 || body["loginAllow"] != true {
		t.Fatalf("login start: %d %v", st, body)
	}
	asr, err := auth.Get(obj(body["assertionOptions"]))
	if err != nil {
		t.Fatal(err)
	}
	st, body = c.call("POST", "/auth/passkey/login/finish", map[string]json.RawMessage{"assertionResponse": asr}, "")
	if st != 200 || field(body, "user", "id") != userID {
		t.Fatalf("login finish: %d %v", st, body)
	}

	st, body = c.call("POST", "/auth/passkey/mediation/start", map[string]any{}, "")
	if st != 200 || field(body, "assertionOptions", "mediation") != "conditional" {
		t.Fatalf("mediation start: %d %v", st, body)
	}
	asr, err = auth.Get(obj(body["assertionOptions"]))
	if err != nil {
		t.Fatal(err)
	}
	st, body = c.call("POST", "/auth/passkey/mediation/finish", map[string]json.RawMessage{"assertionResponse": asr}, "")
	if st != 200 || field(body, "user", "id") != userID {
		t.Fatalf("mediation finish: %d %v", st, body)
	}
	mediated := body["sessionToken"].(string)

	st, body = c.call("GET", "/api/me", nil, mediated)
	if st != 200 || field(body, "user", "email") != email || field(body, "user", "id") != userID {
		t.Fatalf("/api/me: %d %v", st, body)
	}
	st, body = c.call("GET", "/auth/passkeys", nil, token)
	if list, _ := body["passkeys"].([]any); st != 200 || len(list) != 1 || field(list[0].(map[string]any), "id") != credID {
		t.Fatalf("list: %d %v", st, body)
	}
	if st, _ = c.call("DELETE", "/auth/passkeys/"+credID, nil, token); st != 200 && st != 204 { // 200 with the signals
		t.Fatalf("delete: %d", st)
	}
	st, body = c.call("POST", "/auth/passkey/login/start", map[string]string{"email": email}, "")
	if st != 200 || body["loginAllow"] != false {
		t.Fatalf("login start after delete: %d %v", st, body)
	}
	if st, _ = c.call("GET", "/api/me", nil, ""); st != 401 {
		t.Fatalf("/api/me without session: %d", st)
	}

	// The stored audit trail lists what the user did, newest first, and
	// nothing of another user.
	wantActivity(t, c, "the user", token, "passkey_removed", "login autofill", "login passkey", "passkey_added", "login otp", "sign_up otp")
	other := "other-" + email
	c.call("POST", "/auth/signUpOrLogin", map[string]string{"email": other}, "")
	st, body = c.call("POST", "/auth/signUpOrLogin", map[string]string{"email": other, "otp": lastCode(t, codes, other)}, "")
	if st != 200 {
		t.Fatalf("sign up %s: %d %v", other, st, body)
	}
	wantActivity(t, c, "another user", body["sessionToken"].(string), "login otp", "sign_up otp")
	wantActivity(t, c, "the user after another signed up", token, "passkey_removed", "login autofill", "login passkey", "passkey_added", "login otp", "sign_up otp")
}

// wantActivity checks GET /auth/account/activity of token: its records'
// kinds and methods ("kind method"), newest first.
func wantActivity(t *testing.T, c client, who, token string, want ...string) {
	t.Helper()
	st, body := c.call("GET", "/auth/account/activity", nil, token)
	list, _ := body["activity"].([]any)
	var got []string
	for _, a := range list {
		m, _ := a.(map[string]any)
		line, _ := m["kind"].(string)
		if method, _ := m["method"].(string); method != "" {
			line += " " + method
		}
		got = append(got, line)
	}
	if st != 200 || strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("activity of %s: %d %v\n\t%s\nwant\n\t%s", who, st, body, strings.Join(got, ", "), strings.Join(want, ", "))
	}
}

// TestExampleServerMemoryStore runs the flow on -store memory, which warns
// at start and writes no file.
func TestExampleServerMemoryStore(t *testing.T) {
	flow(t, "mem@example.com", nil, nil, "-store", "memory")
	dir := t.TempDir()
	_, stderr := startServer(t, nil, "-store", "memory", "-db", filepath.Join(dir, "passkeys.db"))
	if !strings.Contains(stderr.String(), "level=WARN") || !strings.Contains(stderr.String(), "FOR MEASUREMENT ONLY") {
		t.Errorf("no measurement-only warning at start:\n%s", stderr)
	}
	if !strings.Contains(stderr.String(), "store=memory") {
		t.Errorf("start line does not name the memory store:\n%s", stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("-store memory wrote files: %v", entries)
	}
}

func TestExampleServerStoreFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // store, or the error's text
	}{
		{nil, "sqlite"},
		{[]string{"-postgres", "postgres://x"}, "postgres"},
		{[]string{"-store", "memory"}, "memory"},
		{[]string{"-store", "postgres", "-postgres", "postgres://x"}, "postgres"},
		{[]string{"-store", "postgres"}, "-store postgres needs -postgres"},
		{[]string{"-store", "memory", "-postgres", "postgres://x"}, "-postgres is set but -store is memory"},
		{[]string{"-store", "redis"}, "-store must be sqlite, postgres or memory"},
		{[]string{"-sqlite-single-process"}, "sqlite"},
		{[]string{"-store", "memory", "-sqlite-single-process"}, "-sqlite-single-process is set but -store is memory"},
		{[]string{"-postgres", "postgres://x", "-sqlite-single-process"}, "-sqlite-single-process is set but -store is postgres"},
		{[]string{"-postgres-schema", "other"}, "-postgres-schema is set but -store is sqlite"},
	} {
		c, err := parseConfig(tc.args, func(string) string { return "" }, io.Discard)
		if err != nil {
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
			}
			continue
		}
		if c.store != tc.want {
			t.Errorf("%v: store %q, want %q", tc.args, c.store, tc.want)
		}
	}
}

// TestExampleServerKeepsSessionsAcrossRestart: the generated development
// key is reused, so a session survives a restart on the same database,
// and so does the audit trail.
func TestExampleServerKeepsSessionsAcrossRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "passkeys.db")
	base, stderr := startServer(t, nil, "-db", db)
	c := client{t, base}
	c.call("POST", "/auth/signUpOrLogin", map[string]string{"email": "r@example.com"}, "")
	_, body := c.call("POST", "/auth/signUpOrLogin", map[string]string{"email": "r@example.com", "otp": lastCode(t, stderr, "r@example.com")}, "")
	token, _ := body["sessionToken"].(string)

	base2, _ := startServer(t, nil, "-db", db)
	if st, body := (client{t, base2}).call("GET", "/api/me", nil, token); st != 200 || field(body, "user", "email") != "r@example.com" {
		t.Errorf("after restart: %d %v", st, body)
	}
	wantActivity(t, client{t, base2}, "the user after the restart", token, "login otp", "sign_up otp")
}

func TestExampleServerConfig(t *testing.T) {
	env := map[string]string{"PASSKEYS_RP_ID": "example.com", "PASSKEYS_ORIGIN": "https://example.com,https://www.example.com", "PASSKEYS_ADDR": ":8080"}
	c, err := parseConfig([]string{"-addr", ":9090"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != ":9090" || c.rpID != "example.com" || len(c.origins) != 2 || c.origins[1] != "https://www.example.com" {
		t.Errorf("config %+v", c)
	}
	c, _ = parseConfig([]string{"-origin", "https://a.example.com", "-origin", "https://b.example.com"}, func(k string) string { return env[k] }, io.Discard)
	if len(c.origins) != 2 || c.origins[0] != "https://a.example.com" {
		t.Errorf("repeated -origin replaces the env default: %v", c.origins)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = run(ctx, []string{"-db", filepath.Join(t.TempDir(), "x.db"), "-jwt-secret", "short"}, func(string) string { return "" }, io.Discard, nil)
	if err == nil {
		t.Error("short -jwt-secret accepted")
	}
	err = run(ctx, []string{"-postgres", "postgres://127.0.0.1:1/x"}, func(string) string { return "" }, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "-jwt-secret") {
		t.Errorf("-postgres without -jwt-secret: %v", err)
	}
}

// TestExampleServerHeaders: every response says nosniff, the page also
// carries its CSP and Cross-Origin-Opener-Policy, and the example's own
// routes answer other methods with 405 and Allow (problem+json under /api/,
// as the passkey handler's errors are).
func TestExampleServerHeaders(t *testing.T) {
	base, _ := startServer(t, nil, "-db", filepath.Join(t.TempDir(), "passkeys.db"))
	for _, tc := range []struct {
		method, path string
		status       int
		contentType  string
		allow        string
		code         string // problem+json code
		page         bool   // the demo page's headers
	}{
		{"GET", "/", 200, "text/html", "", "", true},
		{"HEAD", "/", 200, "text/html", "", "", true},
		{"GET", "/app.js", 200, "text/javascript", "", "", true},
		{"GET", "/missing.js", 404, "text/plain", "", "", true},
		{"POST", "/", 405, "text/plain", "GET, HEAD", "", false},
		{"DELETE", "/app.js", 405, "text/plain", "GET, HEAD", "", false},
		{"GET", "/api/me", 401, "application/problem+json", "", "unauthorized", false},
		{"HEAD", "/api/me", 401, "application/problem+json", "", "", false},
		{"POST", "/api/me", 405, "application/problem+json", "GET, HEAD", "method_not_allowed", false},
		{"PUT", "/api/me", 405, "application/problem+json", "GET, HEAD", "method_not_allowed", false},
		{"DELETE", "/api/me", 405, "application/problem+json", "GET, HEAD", "method_not_allowed", false},
		{"PATCH", "/api/me", 405, "application/problem+json", "GET, HEAD", "method_not_allowed", false},
		{"OPTIONS", "/api/me", 405, "application/problem+json", "GET, HEAD", "method_not_allowed", false},
		{"GET", "/api/other", 404, "application/problem+json", "", "not_found", false},
		{"POST", "/api/me/x", 404, "application/problem+json", "", "not_found", false},
		{"GET", "/auth/passkeys", 401, "application/problem+json", "", "unauthorized", false},
		{"GET", "/auth/nowhere", 404, "application/problem+json", "", "not_found", false},
		{"POST", "/auth/signUpOrLogin", 400, "application/problem+json", "", "invalid_request", false},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.path, nil)
			if tc.method == "POST" && strings.HasPrefix(tc.path, "/auth/") {
				req, _ = http.NewRequest(tc.method, base+tc.path, strings.NewReader(`{"email":""}`))
				req.Header.Set("Content-Type", "application/json")
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			raw, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status {
				t.Errorf("status %d, want %d: %s", res.StatusCode, tc.status, raw)
			}
			if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, tc.contentType) {
				t.Errorf("Content-Type %q, want %s", got, tc.contentType)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
			if got := res.Header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
			if tc.code != "" {
				var p map[string]any
				if err := json.Unmarshal(raw, &p); err != nil || p["code"] != tc.code || p["status"] != float64(tc.status) || p["type"] != "urn:passkeys:error:"+tc.code {
					t.Errorf("problem %s (%v), want code %s", raw, err, tc.code)
				}
				if got := res.Header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("Cache-Control %q, want no-store", got)
				}
			}
			coop, csp := res.Header.Get("Cross-Origin-Opener-Policy"), res.Header.Get("Content-Security-Policy")
			if tc.page && (coop != "same-origin" || csp != contentSecurityPolicy) {
				t.Errorf("Cross-Origin-Opener-Policy %q, Content-Security-Policy %q: want same-origin and the page's policy", coop, csp)
			}
		})
	}
}

// TestExampleServerLogout: with the default flags (revocable store
// sessions), POST /auth/logout answers 204 and the token is refused from
// then on, by the example's own /api/me and by the handler, while the
// user's other session stays.
func TestExampleServerLogout(t *testing.T) {
	base, stderr := startServer(t, nil)
	c := client{t, base}
	signIn := func() string {
		t.Helper()
		const email = "logout@example.com"
		if st, body := c.call("POST", "/auth/signUpOrLogin", map[string]string{"email": email}, ""); st != 200 {
			t.Fatalf("request code: %d %v", st, body)
		}
		st, body := c.call("POST", "/auth/signUpOrLogin", map[string]string{"email": email, "otp": lastCode(t, stderr, email)}, "")
		token, _ := body["sessionToken"].(string)
		if st != 200 || token == "" {
			t.Fatalf("sign in: %d %v", st, body)
		}
		return token
	}
	token := signIn()
	other := signIn()
	if st, body := c.call("GET", "/api/me", nil, token); st != 200 || field(body, "user", "email") != "logout@example.com" {
		t.Fatalf("/api/me before logout: %d %v", st, body)
	}
	if st, body := c.call("POST", "/auth/logout", map[string]any{}, token); st != 204 || body != nil {
		t.Fatalf("logout: %d %v, want 204 without a body", st, body)
	}
	if st, body := c.call("GET", "/api/me", nil, token); st != 401 || body["code"] != "unauthorized" {
		t.Errorf("/api/me after logout: %d %v, want 401 unauthorized", st, body)
	}
	if st, body := c.call("POST", "/auth/logout", map[string]any{}, token); st != 401 || body["code"] != "unauthorized" {
		t.Errorf("logout again: %d %v, want 401 unauthorized", st, body)
	}
	if st, body := c.call("GET", "/api/me", nil, other); st != 200 {
		t.Errorf("/api/me with the other session: %d %v", st, body)
	}
	st, body := c.call("GET", "/auth/sessions", nil, other)
	if list, _ := body["sessions"].([]any); st != 200 || len(list) != 1 || field(list[0].(map[string]any), "current") != true {
		t.Errorf("sessions after logout: %d %v", st, body)
	}
}

// TestExampleServerSessions: by default the example issues the revocable
// store-backed sessions of selfhosted.NewSessions (opaque tokens), and with
// -sessions jwt the demo JWT (three dot-separated parts), both accepted by
// the guard; another -sessions value is a startup error naming the flag.
func TestExampleServerSessions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		parts int
	}{
		{"default store", nil, 1},
		{"jwt", []string{"-sessions", "jwt"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, stderr := startServer(t, nil, tc.args...)
			c := client{t, base}
			c.call("POST", "/auth/signUpOrLogin", map[string]string{"email": "s@example.com"}, "")
			st, body := c.call("POST", "/auth/signUpOrLogin", map[string]string{"email": "s@example.com", "otp": lastCode(t, stderr, "s@example.com")}, "")
			token, _ := body["sessionToken"].(string)
			if st != 200 || token == "" {
				t.Fatalf("sign up: %d %v", st, body)
			}
			if n := len(strings.Split(token, ".")); n != tc.parts {
				t.Errorf("token has %d dot-separated parts, want %d", n, tc.parts)
			}
			if st, body := c.call("GET", "/api/me", nil, token); st != 200 || field(body, "user", "email") != "s@example.com" {
				t.Errorf("/api/me: %d %v", st, body)
			}
			if st, _ := c.call("GET", "/api/me", nil, token+"x"); st != 401 {
				t.Errorf("/api/me with a changed token: %d", st)
			}
		})
	}
	_, err := parseConfig([]string{"-sessions", "cookie"}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-sessions") {
		t.Errorf("-sessions cookie: %v", err)
	}
	_, err = parseConfig(nil, func(k string) string { return map[string]string{"PASSKEYS_SESSIONS": "nope"}[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-sessions") {
		t.Errorf("PASSKEYS_SESSIONS=nope: %v", err)
	}
}
