package mailer_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/mailer"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

// api posts JSON to the handler and returns the status, Content-Type and
// decoded body.
func api(t *testing.T, srv *httptest.Server, path, token, lang string, body any) (int, string, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/"+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", firefox)
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rsp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	raw, _ := io.ReadAll(rsp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s: body %q: %v", path, raw, err)
		}
	}
	return rsp.StatusCode, rsp.Header.Get("Content-Type"), out
}

var codeRE = regexp.MustCompile(`(?m)^\s+(\d{6})\s*$`)

// codeOf is the code in a received message's text part, and its language.
func codeOf(t *testing.T, m received) (code, lang string) {
	t.Helper()
	p := parse(t, m.data)
	c := codeRE.FindStringSubmatch(p.text)
	if c == nil {
		t.Fatalf("no code in text body:\n%s", p.text)
	}
	return c[1], p.header.Get("Content-Language")
}

// TestEngineDeliveryFailure runs signUpOrLogin through the self-hosted
// engine and a real SMTP server: a delivery that fails answers 503 or 502
// problem+json and leaves no code behind (the code the server did receive
// is refused, and the next request sends a fresh one at once, inside the
// cooldown); a delivery that works sends the code in the client's
// language, and the code signs in.
func TestEngineDeliveryFailure(t *testing.T) {
	var failing atomic.Pointer[smtp.SMTPError]
	ts := startServer(t, serverOpts{startTLS: true, user: testUser, pass: testPass, reject: func() *smtp.SMTPError { return failing.Load() }})
	sender := newSender(t, "smtp", ts.addr, mailer.Config{Username: testUser, Password: testPass})
	srv, logs := serveEngine(t, sender)
	const email = "carol@example.org"

	for i, tc := range []struct {
		reply  *smtp.SMTPError
		status int
		code   string
	}{
		{&smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "queue full"}, 503, "unavailable"},
		{&smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "refused"}, 502, "upstream_error"},
	} {
		failing.Store(tc.reply)
		status, ct, body := api(t, srv, "signUpOrLogin", "", "de", map[string]any{"email": email})
		if status != tc.status || ct != "application/problem+json" || body["code"] != tc.code || body["detail"] != "The code could not be sent; try again shortly." {
			t.Fatalf("failed delivery %d: %d %s %v; want %d %s", i, status, ct, body, tc.status, tc.code)
		}
		msgs := ts.messages()
		if len(msgs) != i+1 {
			t.Fatalf("server got %d messages, want %d (each request sends at once)", len(msgs), i+1)
		}
		code, _ := codeOf(t, msgs[i])
		status, _, body = api(t, srv, "signUpOrLogin", "", "", map[string]any{"email": email, "otp": code})
		if status != 401 || body["code"] != "otp_invalid" {
			t.Fatalf("the code of a failed delivery: %d %v; want 401 otp_invalid", status, body)
		}
	}

	failing.Store(nil)
	status, _, body := api(t, srv, "signUpOrLogin", "", "de-CH, en;q=0.5", map[string]any{"email": email})
	if status != 200 || body["otpSent"] != true {
		t.Fatalf("delivery after the failures: %d %v", status, body)
	}
	msgs := ts.messages()
	if len(msgs) != 3 {
		t.Fatalf("server got %d messages, want 3", len(msgs))
	}
	code, lang := codeOf(t, msgs[2])
	if lang != "de" {
		t.Errorf("Accept-Language de-CH gave a message in %q", lang)
	}
	status, _, body = api(t, srv, "signUpOrLogin", "", "", map[string]any{"email": email, "otp": code})
	token, _ := body["sessionToken"].(string)
	if status != 200 || token == "" || body["newUser"] != true {
		t.Fatalf("sign-in with the delivered code: %d %v", status, body)
	}

	// An email change sends the email-change message to the new address.
	status, _, body = api(t, srv, "account/email", token, "en", map[string]any{"email": "carol.new@example.org"})
	if status != 200 || body["otpSent"] != true {
		t.Fatalf("account/email: %d %v", status, body)
	}
	msgs = ts.messages()
	if len(msgs) != 4 || msgs[3].to[0] != "carol.new@example.org" {
		t.Fatalf("email change: messages %d", len(msgs))
	}
	if p := parse(t, msgs[3].data); p.subject != "Confirm your new email address" {
		t.Errorf("email change subject %q", p.subject)
	}

	log := logs.String()
	if !strings.Contains(log, "queue full") || !strings.Contains(log, "refused") {
		t.Errorf("the log does not name the server's replies:\n%s", log)
	}
	for _, m := range msgs {
		c, _ := codeOf(t, m)
		if strings.Contains(log, c) {
			t.Errorf("the log shows a code %s:\n%s", c, log)
		}
	}
	if strings.Contains(log, testPass) {
		t.Errorf("the log shows the SMTP password:\n%s", log)
	}
}

// TestEngineAuthFailureLogsNoPassword: a refused SMTP login is 502, and
// neither the response nor the log holds the password.
func TestEngineAuthFailureLogsNoPassword(t *testing.T) {
	ts := startServer(t, serverOpts{startTLS: true, user: testUser, pass: "another"})
	sender := newSender(t, "smtp", ts.addr, mailer.Config{Username: testUser, Password: testPass})
	srv, logs := serveEngine(t, sender)
	status, _, body := api(t, srv, "signUpOrLogin", "", "", map[string]any{"email": "dave@example.org"})
	if status != 502 || body["code"] != "upstream_error" {
		t.Fatalf("%d %v; want 502 upstream_error", status, body)
	}
	if b, _ := json.Marshal(body); strings.Contains(string(b), testPass) || strings.Contains(string(b), "535") {
		t.Errorf("the response shows the cause: %s", b)
	}
	log := logs.String()
	if !strings.Contains(log, "535") {
		t.Errorf("the log does not name the refused login:\n%s", log)
	}
	if strings.Contains(log, testPass) {
		t.Errorf("the log shows the SMTP password:\n%s", log)
	}
}

// serveEngine serves the handler on the self-hosted engine (memstore)
// that sends its codes through sender, and returns the server and the
// handler's log.
func serveEngine(t *testing.T, sender *mailer.Sender) (*httptest.Server, *e2e.Buffer) {
	t.Helper()
	engine, err := selfhosted.New(selfhosted.Config{RPID: "localhost", Origins: []string{"http://localhost"}, Store: memstore.New(), OTPSender: sender})
	if err != nil {
		t.Fatal(err)
	}
	logs := &e2e.Buffer{}
	h, err := passkeys.New(passkeys.Options{Backend: engine, JWTKey: bytes.Repeat([]byte("k"), 32), Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, logs
}
