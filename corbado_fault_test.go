package passkeys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/passkeystest/corbadotest"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/corbadoapi"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest"
)

// corbadoRig is the handler on the Corbado backend on an emulator whose
// answers a test can break.
type corbadoRig struct {
	t      *testing.T
	env    *e2e.Env
	emu    *corbadotest.Emulator
	emuURL string
	url    string
	logs   *e2e.Buffer
}

func newCorbadoRig(t *testing.T, mod func(*passkeys.CorbadoOptions)) *corbadoRig {
	t.Helper()
	env := &e2e.Env{Clock: e2e.NewClock(), Mailbox: e2e.NewMailbox()}
	emu, ts := corbadoEmulator(t, env)
	logs := &e2e.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	backend := corbadoOn(t, env, emu, ts.URL, func(o *passkeys.CorbadoOptions) {
		// The faults are off the OpenAPI description on purpose: the client
		// must meet them as they are.
		o.HTTPClient = nil
		o.Logger = logger
		if mod != nil {
			mod(o)
		}
	})
	h, err := passkeys.New(passkeys.Options{Backend: backend, JWTKey: e2e.JWTKey, Clock: env.Clock.Now, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &corbadoRig{t: t, env: env, emu: emu, emuURL: ts.URL, url: srv.URL, logs: logs}
}

type rigResponse struct {
	status int
	body   map[string]any
	raw    []byte
}

func (r *corbadoRig) do(method, p string, body any, token string) rigResponse {
	r.t.Helper()
	res := e2e.Call(r.t, nil, method, r.url+p, body, token)
	out := rigResponse{status: res.Status, raw: res.Body}
	_ = json.Unmarshal(out.raw, &out.body)
	return out
}

// signUp runs the OTP flow and returns the session token.
func (r *corbadoRig) signUp(email string) string {
	r.t.Helper()
	if res := r.do("POST", "/signUpOrLogin", map[string]string{"email": email}, ""); res.status != 200 {
		r.t.Fatalf("request code: %d %s", res.status, res.raw)
	}
	codes := r.env.Mailbox.Codes(email)
	res := r.do("POST", "/signUpOrLogin", map[string]string{"email": email, "otp": codes[len(codes)-1]}, "")
	token, _ := res.body["sessionToken"].(string)
	if res.status != 200 || token == "" {
		r.t.Fatalf("check code: %d %s", res.status, res.raw)
	}
	return token
}

// object re-encodes the JSON member name of a response.
func (res rigResponse) object(name string) []byte {
	b, _ := json.Marshal(res.body[name])
	return b
}

// breakAPI makes the emulator answer requests with method and a path
// matching pattern (path.Match syntax, below /v2) through answer, and
// returns the count of such requests. answer nil lets them through, counted.
func (r *corbadoRig) breakAPI(method, pattern string, answer func(w http.ResponseWriter, req *http.Request)) *atomic.Int32 {
	n := &atomic.Int32{}
	r.emu.SetIntercept(func(w http.ResponseWriter, req *http.Request) bool {
		if ok, _ := path.Match("/v2"+pattern, req.URL.Path); !ok || req.Method != method {
			return false
		}
		n.Add(1)
		if answer == nil {
			return false
		}
		answer(w, req)
		return true
	})
	return n
}

// expectUpstreamFailure checks a problem+json answer with status and code
// that issued no session.
func expectUpstreamFailure(t *testing.T, what string, res rigResponse, status int, code string) {
	t.Helper()
	if res.status != status || res.body["code"] != code {
		t.Errorf("%s: %d %s, want %d %s", what, res.status, res.raw, status, code)
	}
	if bytes.Contains(res.raw, []byte("sessionToken")) {
		t.Errorf("%s: a session was issued: %s", what, res.raw)
	}
}

func TestCorbadoFaults(t *testing.T) {
	faults := []struct {
		name   string
		answer func(stall <-chan struct{}) func(http.ResponseWriter, *http.Request)
		status int
		code   string
		// retried reports whether a GET is sent again after this fault.
		retried bool
		timeout time.Duration
	}{
		{"500", func(<-chan struct{}) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(500)
				_, _ = io.WriteString(w, `{"httpStatusCode":500,"message":"Internal Server Error","requestData":{"requestID":"req-1"},"runtime":0.1,"error":{"type":"internal_error"}}`)
			}
		}, 502, "upstream_error", true, 5 * time.Second},
		{"429", func(<-chan struct{}) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTooManyRequests) }
		}, 502, "upstream_error", true, 5 * time.Second},
		{"garbage JSON", func(<-chan struct{}) func(http.ResponseWriter, *http.Request) {
			return func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"userID": [1, 2`)
			}
		}, 502, "upstream_error", false, 5 * time.Second},
		// The timeout covers the set-up calls of each case too, which
		// pass through the emulator's schema checks: under -race on a busy
		// machine they take tens of milliseconds, so the stall case keeps
		// a tenfold margin above that.
		{"stall beyond the timeout", func(stall <-chan struct{}) func(http.ResponseWriter, *http.Request) {
			return func(_ http.ResponseWriter, r *http.Request) {
				select {
				case <-stall:
				case <-r.Context().Done():
				}
			}
		}, 504, "upstream_timeout", false, 500 * time.Millisecond},
	}
	ops := []struct {
		name, method, pattern string
		// prepare runs before the fault is injected; call runs into it.
		prepare func(r *corbadoRig) any
		call    func(r *corbadoRig, state any) rigResponse
	}{
		{"request code", "GET", "/identifiers", nil, func(r *corbadoRig, _ any) rigResponse {
			return r.do("POST", "/signUpOrLogin", map[string]string{"email": "fault@example.com"}, "")
		}},
		{"send code", "POST", "/users/*/challenges", nil, func(r *corbadoRig, _ any) rigResponse {
			return r.do("POST", "/signUpOrLogin", map[string]string{"email": "fault@example.com"}, "")
		}},
		{"check code", "PATCH", "/users/*/challenges/*", func(r *corbadoRig) any {
			r.do("POST", "/signUpOrLogin", map[string]string{"email": "fault@example.com"}, "")
			return r.env.Mailbox.Codes("fault@example.com")[0]
		}, func(r *corbadoRig, code any) rigResponse {
			return r.do("POST", "/signUpOrLogin", map[string]any{"email": "fault@example.com", "otp": code}, "")
		}},
		{"append start", "POST", "/passkey/append/start", func(r *corbadoRig) any {
			return r.signUp("fault@example.com")
		}, func(r *corbadoRig, token any) rigResponse {
			return r.do("POST", "/passkey/append/start", map[string]any{}, token.(string))
		}},
		{"login finish", "POST", "/passkey/login/finish", func(r *corbadoRig) any {
			token := r.signUp("fault@example.com")
			auth := passkeystest.New(e2e.Origin)
			res := r.do("POST", "/passkey/append/start", map[string]any{}, token)
			att, err := auth.Create(res.object("attestationOptions"))
			if err != nil {
				r.t.Fatal(err)
			}
			if res := r.do("POST", "/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, token); res.status != 200 {
				r.t.Fatalf("append finish: %d %s", res.status, res.raw)
			}
			res = r.do("POST", "/passkey/login/start", map[string]string{"email": "fault@example.com"}, "")
			resp, err := auth.Get(res.object("assertionOptions"))
			if err != nil {
				r.t.Fatal(err)
			}
			return resp
		}, func(r *corbadoRig, resp any) rigResponse {
			return r.do("POST", "/passkey/login/finish", map[string]json.RawMessage{"assertionResponse": resp.([]byte)}, "")
		}},
		{"mediation start", "POST", "/passkey/mediation/start", nil, func(r *corbadoRig, _ any) rigResponse {
			return r.do("POST", "/passkey/mediation/start", map[string]any{}, "")
		}},
		{"list passkeys", "GET", "/users/*/credentials", func(r *corbadoRig) any {
			return r.signUp("fault@example.com")
		}, func(r *corbadoRig, token any) rigResponse {
			return r.do("GET", "/passkeys", nil, token.(string))
		}},
	}
	for _, f := range faults {
		for _, op := range ops {
			t.Run(f.name+"/"+op.name, func(t *testing.T) {
				r := newCorbadoRig(t, func(o *passkeys.CorbadoOptions) { o.Timeout = f.timeout })
				var state any
				if op.prepare != nil {
					state = op.prepare(r)
				}
				stall := make(chan struct{})
				t.Cleanup(func() { close(stall) })
				calls := r.breakAPI(op.method, op.pattern, f.answer(stall))
				expectUpstreamFailure(t, op.name, op.call(r, state), f.status, f.code)
				want := int32(1)
				if f.retried && op.method == "GET" {
					want = 3
				}
				if n := calls.Load(); n != want {
					t.Errorf("%s %s was sent %d times, want %d", op.method, op.pattern, n, want)
				}
			})
		}
	}
}

func TestCorbadoConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := newCorbadoRig(t, func(o *passkeys.CorbadoOptions) { o.BaseURL = "http://" + addr })
	expectUpstreamFailure(t, "request code", r.do("POST", "/signUpOrLogin", map[string]string{"email": "private.person@example.com"}, ""), 502, "upstream_error")
	expectUpstreamFailure(t, "mediation start", r.do("POST", "/passkey/mediation/start", map[string]any{}, ""), 502, "upstream_error")
	expectNoEmail(t, r.logs.String(), "connection refused")
}

// expectNoEmail checks that the log holds the cause of the failure but
// not the email address private.person@example.com, in any spelling.
func expectNoEmail(t *testing.T, logs, cause string) {
	t.Helper()
	if !strings.Contains(logs, "IdentifierList GET") || !strings.Contains(logs, cause) {
		t.Errorf("the log does not tell the failed call and its cause %q:\n%s", cause, logs)
	}
	for _, spelling := range []string{"private.person", "private.person%40example.com"} {
		if strings.Contains(logs, spelling) {
			t.Errorf("the email address reached the log:\n%s", logs)
		}
	}
}

// The log of a lookup that timed out tells the call, not the address it
// looked up.
func TestCorbadoTimeoutLogsNoEmail(t *testing.T) {
	r := newCorbadoRig(t, func(o *passkeys.CorbadoOptions) { o.Timeout = 50 * time.Millisecond })
	stall := make(chan struct{})
	t.Cleanup(func() { close(stall) })
	r.breakAPI("GET", "/identifiers", func(_ http.ResponseWriter, req *http.Request) {
		select {
		case <-stall:
		case <-req.Context().Done():
		}
	})
	expectUpstreamFailure(t, "request code", r.do("POST", "/signUpOrLogin", map[string]string{"email": "private.person@example.com"}, ""), 504, "upstream_timeout")
	expectNoEmail(t, r.logs.String(), "deadline exceeded")
}

func TestCorbadoWrongSecret(t *testing.T) {
	const secret = "corbado1_notTheEmulatorsSecret"
	r := newCorbadoRig(t, func(o *passkeys.CorbadoOptions) { o.APISecret = secret })
	for range 2 {
		expectUpstreamFailure(t, "request code", r.do("POST", "/signUpOrLogin", map[string]string{"email": "a@example.com"}, ""), 502, "upstream_error")
	}
	logs := r.logs.String()
	if n := strings.Count(logs, "Corbado rejected the project ID and API secret"); n != 1 {
		t.Errorf("the rejected credentials were logged %d times, want once:\n%s", n, logs)
	}
	if strings.Contains(logs, secret) || strings.Contains(logs, "notTheEmulatorsSecret") {
		t.Errorf("the secret reached the log:\n%s", logs)
	}
}

// A user whose identifier could not be created is deleted again, and the
// next attempt signs up normally.
func TestCorbadoNoHalfCreatedUser(t *testing.T) {
	r := newCorbadoRig(t, nil)
	var deletes atomic.Int32
	r.emu.SetIntercept(func(w http.ResponseWriter, req *http.Request) bool {
		switch ok, _ := path.Match("/v2/users/*/identifiers", req.URL.Path); {
		case ok && req.Method == "POST":
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		case req.Method == "DELETE":
			deletes.Add(1)
		}
		return false
	})
	expectUpstreamFailure(t, "request code", r.do("POST", "/signUpOrLogin", map[string]string{"email": "half@example.com"}, ""), 502, "upstream_error")
	if n := deletes.Load(); n != 1 || strings.Contains(r.logs.String(), "could not delete") {
		t.Errorf("%d users deleted after the failed identifier, want 1; logs:\n%s", n, r.logs.String())
	}
	r.emu.SetIntercept(nil)
	res := r.do("POST", "/signUpOrLogin", map[string]string{"email": "half@example.com"}, "")
	if res.status != 200 {
		t.Fatalf("request code after the fault: %d %s", res.status, res.raw)
	}
	res = r.do("POST", "/signUpOrLogin", map[string]string{"email": "half@example.com", "otp": r.env.Mailbox.Codes("half@example.com")[0]}, "")
	if res.status != 200 || res.body["newUser"] != true {
		t.Errorf("sign-up after the fault: %d %s", res.status, res.raw)
	}
}

// A check that fails upstream keeps the code usable.
func TestCorbadoCodeSurvivesUpstreamFailure(t *testing.T) {
	r := newCorbadoRig(t, nil)
	r.do("POST", "/signUpOrLogin", map[string]string{"email": "keep@example.com"}, "")
	code := r.env.Mailbox.Codes("keep@example.com")[0]
	r.breakAPI("PATCH", "/users/*/challenges/*", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
	expectUpstreamFailure(t, "check code", r.do("POST", "/signUpOrLogin", map[string]string{"email": "keep@example.com", "otp": code}, ""), 502, "upstream_error")
	r.emu.SetIntercept(nil)
	res := r.do("POST", "/signUpOrLogin", map[string]string{"email": "keep@example.com", "otp": code}, "")
	if res.status != 200 || res.body["sessionToken"] == nil {
		t.Errorf("the code after the failure: %d %s", res.status, res.raw)
	}
}

// A session whose Corbado user was deleted can no longer add passkeys.
func TestCorbadoDeletedUser(t *testing.T) {
	r := newCorbadoRig(t, nil)
	token := r.signUp("gone@example.com")
	me := r.do("GET", "/passkeys", nil, token)
	if me.status != 200 {
		t.Fatalf("list: %d %s", me.status, me.raw)
	}
	api := corbadoapi.New(corbadoapi.Config{BaseURL: r.emuURL, ProjectID: r.emu.ProjectID(), APISecret: r.emu.APISecret()})
	l, err := api.IdentifierList(context.Background(), corbadoapi.ListParams{Filter: []string{"identifierValue:eq:gone@example.com"}})
	if err != nil || len(l.Identifiers) != 1 {
		t.Fatalf("identifier: %+v, %v", l, err)
	}
	if err := api.UserDelete(context.Background(), l.Identifiers[0].UserID); err != nil {
		t.Fatal(err)
	}
	res := r.do("POST", "/passkey/append/start", map[string]any{}, token)
	if res.status != 401 || res.body["code"] != "unauthorized" {
		t.Errorf("append start for a deleted user: %d %s", res.status, res.raw)
	}
}

// Sign-ups racing for one new email end with one account, one code
// mailed, and that code signs the account up.
func TestCorbadoConcurrentSignUps(t *testing.T) {
	r := newCorbadoRig(t, nil)
	var wg sync.WaitGroup
	statuses := make([]int, 5)
	for i := range statuses {
		wg.Go(func() {
			statuses[i] = r.do("POST", "/signUpOrLogin", map[string]string{"email": "race@example.com"}, "").status
		})
	}
	wg.Wait()
	for i, st := range statuses {
		if st != 200 {
			t.Errorf("sign-up %d: status %d", i, st)
		}
	}
	api := corbadoapi.New(corbadoapi.Config{BaseURL: r.emuURL, ProjectID: r.emu.ProjectID(), APISecret: r.emu.APISecret()})
	l, err := api.IdentifierList(context.Background(), corbadoapi.ListParams{Filter: []string{"identifierValue:eq:race@example.com"}})
	if err != nil || len(l.Identifiers) != 1 {
		t.Errorf("identifiers: %+v, %v", l, err)
	}
	codes := r.env.Mailbox.Codes("race@example.com")
	if len(codes) != 1 {
		t.Fatalf("%d codes mailed, want 1", len(codes))
	}
	if res := r.checkCode("race@example.com", codes[0], 200); res.body["newUser"] != true {
		t.Errorf("sign-up with the code: %s", res.raw)
	}
}

// Options Corbado returns are checked before a ceremony is kept.
func TestCorbadoMalformedOptions(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		status       int
		body         string
	}{
		{"not JSON", `{"loginAllow":true,"assertionOptions":"nope"}`, 502, ""},
		{"no publicKey", `{"loginAllow":true,"assertionOptions":"{\"mediation\":\"conditional\"}"}`, 502, ""},
		{"no challenge", `{"loginAllow":true,"assertionOptions":"{\"publicKey\":{}}"}`, 502, ""},
		{"login not allowed", `{"loginAllow":false,"assertionOptions":""}`, 200, `{"loginAllow":false}`},
		{"mediation added", `{"loginAllow":true,"assertionOptions":"{\"publicKey\":{\"challenge\":\"AAEC\"}}"}`, 200,
			`{"loginAllow":true,"assertionOptions":{"mediation":"conditional","publicKey":{"challenge":"AAEC"}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newCorbadoRig(t, nil)
			r.breakAPI("POST", "/passkey/mediation/start", func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, tc.answer)
			})
			res := r.do("POST", "/passkey/mediation/start", map[string]any{}, "")
			if tc.status != 200 {
				expectUpstreamFailure(t, "mediation start", res, tc.status, "upstream_error")
				return
			}
			if res.status != 200 || strings.TrimSpace(string(res.raw)) != tc.body {
				t.Errorf("mediation start: %d %s, want %s", res.status, res.raw, tc.body)
			}
		})
	}
}

// A failed resend leaves the code sent before usable.
func TestCorbadoFailedResendKeepsCode(t *testing.T) {
	r := newCorbadoRig(t, nil)
	r.do("POST", "/signUpOrLogin", map[string]string{"email": "resend@example.com"}, "")
	code := r.env.Mailbox.Codes("resend@example.com")[0]
	r.env.Clock.Advance(time.Minute)
	r.breakAPI("POST", "/users/*/challenges", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
	expectUpstreamFailure(t, "resend", r.do("POST", "/signUpOrLogin", map[string]string{"email": "resend@example.com"}, ""), 502, "upstream_error")
	r.emu.SetIntercept(nil)
	res := r.do("POST", "/signUpOrLogin", map[string]string{"email": "resend@example.com", "otp": code}, "")
	if res.status != 200 || res.body["sessionToken"] == nil {
		t.Errorf("the first code after a failed resend: %d %s", res.status, res.raw)
	}
}

// A 2xx answer without the members Corbado always sends is a failure,
// and nothing is built on it.
func TestCorbadoIncompleteAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, method, pattern, answer string
		// prepare signs the email up first and returns the session token.
		prepare bool
		call    func(r *corbadoRig, token string) rigResponse
	}{
		{"user without ID", "POST", "/users", `{"userID":"","status":"pending","updated":"2030-01-02T03:04:05","updatedMs":1}`, false, requestCode},
		{"identifier without ID", "POST", "/users/*/identifiers", `{"identifierID":"","type":"email","value":"partial@example.com","status":"pending","userID":"usr-1"}`, false, requestCode},
		{"challenge without ID", "POST", "/users/*/challenges", `{"challengeID":"","type":"email_otp","identifierValue":"partial@example.com","value":"","expires":1,"status":"pending"}`, false, requestCode},
		{"empty challenge", "POST", "/users/*/challenges", `{}`, false, requestCode},
		{"login start without options", "POST", "/passkey/login/start", `{"loginAllow":true,"assertionOptions":""}`, true, func(r *corbadoRig, _ string) rigResponse {
			return r.do("POST", "/passkey/login/start", map[string]string{"email": "partial@example.com"}, "")
		}},
		{"append start without options", "POST", "/passkey/append/start", `{"appendAllow":true,"attestationOptions":""}`, true, func(r *corbadoRig, token string) rigResponse {
			return r.do("POST", "/passkey/append/start", map[string]any{}, token)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newCorbadoRig(t, nil)
			var token string
			if tc.prepare {
				token = r.signUp("partial@example.com")
			}
			var mu sync.Mutex
			var after []string
			faulted := false
			r.emu.SetIntercept(func(w http.ResponseWriter, req *http.Request) bool {
				mu.Lock()
				defer mu.Unlock()
				if ok, _ := path.Match("/v2"+tc.pattern, req.URL.Path); ok && req.Method == tc.method && !faulted {
					faulted = true
					w.Header().Set("Content-Type", "application/json")
					_, _ = io.WriteString(w, tc.answer)
					return true
				}
				if faulted {
					after = append(after, req.Method+" "+req.URL.Path)
				}
				return false
			})
			expectUpstreamFailure(t, tc.name, tc.call(r, token), 502, "upstream_error")
			mu.Lock()
			for _, call := range after {
				if !strings.HasPrefix(call, "DELETE /v2/users/usr-") {
					t.Errorf("after the incomplete answer the backend went on with %s", call)
				}
			}
			mu.Unlock()
			if tc.prepare {
				return
			}
			// Nothing is left in the way of the next request.
			r.emu.SetIntercept(nil)
			before := len(r.env.Mailbox.Codes("partial@example.com"))
			if res := requestCode(r, ""); res.status != 200 || len(r.env.Mailbox.Codes("partial@example.com")) != before+1 {
				t.Fatalf("request code after the fault: %d %s; %d codes mailed before", res.status, res.raw, before)
			}
			codes := r.env.Mailbox.Codes("partial@example.com")
			r.checkCode("partial@example.com", codes[len(codes)-1], 200)
		})
	}
}

func requestCode(r *corbadoRig, _ string) rigResponse {
	return r.do("POST", "/signUpOrLogin", map[string]string{"email": "partial@example.com"}, "")
}

// A check that Corbado applied but did not answer in time leaves the
// code spent; the next request sends a new code at once instead of
// waiting out the cooldown of the spent one.
func TestCorbadoCheckAppliedThenLost(t *testing.T) {
	r := newCorbadoRig(t, func(o *passkeys.CorbadoOptions) { o.Timeout = time.Second })
	const email = "lost@example.com"
	r.do("POST", "/signUpOrLogin", map[string]string{"email": email}, "")
	code := r.env.Mailbox.Codes(email)[0]
	stall := make(chan struct{})
	t.Cleanup(func() { close(stall) })
	var applied atomic.Bool
	r.emu.SetIntercept(func(_ http.ResponseWriter, req *http.Request) bool {
		if ok, _ := path.Match("/v2/users/*/challenges/*", req.URL.Path); !ok || req.Method != "PATCH" || !applied.CompareAndSwap(false, true) {
			return false
		}
		// Corbado checks the code, and its answer never arrives.
		r.emu.ServeHTTP(httptest.NewRecorder(), req)
		select {
		case <-stall:
		case <-req.Context().Done():
		}
		return true
	})
	expectUpstreamFailure(t, "check", r.do("POST", "/signUpOrLogin", map[string]string{"email": email, "otp": code}, ""), 504, "upstream_timeout")
	r.checkCode(email, code, 401)
	if res := r.do("POST", "/signUpOrLogin", map[string]string{"email": email}, ""); res.status != 200 {
		t.Fatalf("request code: %d %s", res.status, res.raw)
	}
	codes := r.env.Mailbox.Codes(email)
	if len(codes) != 2 {
		t.Fatalf("%d codes mailed, want a second one at once", len(codes))
	}
	r.checkCode(email, codes[1], 200)
}
