package corbadoapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/corbadoapi"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/passkeystest/corbadotest"
)

// fuzzOp is one operation of the client, the request it sends, and a
// check of a successful answer: the members the library relies on.
type fuzzOp struct {
	method, pattern string // pattern in path.Match syntax
	call            func(ctx context.Context, c *corbadoapi.Client) (complete bool, err error)
}

var fuzzOps = []fuzzOp{
	{"POST", "/v2/users", func(ctx context.Context, c *corbadoapi.Client) (bool, error) {
		u, err := c.UserCreate(ctx, corbadoapi.UserCreateReq{Status: "pending"})
		return u.UserID != "" && u.Status != "", err
	}},
	{"GET", "/v2/users/*", func(ctx context.Context, c *corbadoapi.Client) (bool, error) {
		u, err := c.UserGet(ctx, "usr-1")
		return u.UserID != "" && u.Status != "", err
	}},
	{"PATCH", "/v2/users/*", func(ctx context.Context, c *corbadoapi.Client) (bool, error) {
		u, err := c.UserUpdate(ctx, "usr-1", corbadoapi.UserUpdateReq{Status: "active"})
		return u.UserID != "" && u.Status != "", err
	}},
	{"DELETE", "/v2/users/*", func(ctx context.Context, c *corbadoapi.Client) (bool, error) {
		return true, c.UserDelete(ctx, "usr-1")
	}},
	{"GET", "/v2/identifiers", func(ctx context.Context, c *corbadoapi.Client) (bool, error) {
		_, err := c.IdentifierList(ctx, corbadoapi.ListParams{Filter: []string{"identifierValue:eq:a@example.com"}})
		return true, err
	}},
	{"POST", "/v2/users/*/identifiers", func(ctx context.Context, c *corbadoapi.Client) (bool, error) {
		i, err := c.IdentifierCreate(ctx, "usr-1", corbadoapi.IdentifierCreateReq{IdentifierType: "email", IdentifierValue: "a@example.com", Status: "pending"})
		return i.IdentifierID != "" && i.UserID != "", err
	}},
	{"PATCH", "/v2/users/*/identifiers/*", func(ctx context.Context, c *corbadoapi.Client) (bool, error) {
		i, err := c.IdentifierUpdate(ctx, "usr-1", "ide-1", corbadoapi.IdentifierUpdateReq{Status: "verified"})
		return i.IdentifierID != "" && i.UserID != "", err
	}},
	{"POST", "/v2/users/*/challenges", func(ctx context.Context, c *corbadoapi.Client) (bool, error) {
		ch, err := c.ChallengeCreate(ctx, "usr-1", corbadoapi.ChallengeCreateReq{ChallengeType: "email_otp", IdentifierValue: "a@example.com"})
		return ch.ChallengeID != "" && ch.Status != "", err
	}},
	{"PATCH", "/v2/users/*/challenges/*", func(ctx context.Context, c *corbadoapi.Client) (bool, error) {
		ch, err := c.ChallengeUpdate(ctx, "usr-1", "cha-1", corbadoapi.ChallengeUpdateReq{Value: "123456"})
		return ch.ChallengeID != "" && ch.Status != "", err
	}},
	{"GET", "/v2/users/*/credentials", func(ctx context.Context, c *corbadoapi.Client) (bool, error) {
		_, err := c.CredentialList(ctx, "usr-1", corbadoapi.ListParams{})
		return true, err
	}},
	{"DELETE", "/v2/users/*/credentials/*", func(ctx context.Context, c *corbadoapi.Client) (bool, error) {
		return true, c.CredentialDelete(ctx, "usr-1", "cre-1")
	}},
	{"POST", "/v2/passkey/append/start", func(ctx context.Context, c *corbadoapi.Client) (bool, error) {
		r, err := c.PasskeyAppendStart(ctx, corbadoapi.PasskeyAppendStartReq{UserID: "usr-1"})
		return !r.AppendAllow || r.AttestationOptions != "", err
	}},
	{"POST", "/v2/passkey/append/finish", func(ctx context.Context, c *corbadoapi.Client) (bool, error) {
		_, err := c.PasskeyAppendFinish(ctx, corbadoapi.PasskeyAppendFinishReq{UserID: "usr-1"})
		return true, err
	}},
	{"POST", "/v2/passkey/login/start", func(ctx context.Context, c *corbadoapi.Client) (bool, error) {
		r, err := c.PasskeyLoginStart(ctx, corbadoapi.PasskeyLoginStartReq{UserID: "usr-1"})
		return !r.LoginAllow || r.AssertionOptions != "", err
	}},
	{"POST", "/v2/passkey/login/finish", func(ctx context.Context, c *corbadoapi.Client) (bool, error) {
		_, err := c.PasskeyLoginFinish(ctx, corbadoapi.PasskeyLoginFinishReq{UserID: "usr-1"})
		return true, err
	}},
	{"POST", "/v2/passkey/mediation/start", func(ctx context.Context, c *corbadoapi.Client) (bool, error) {
		r, err := c.PasskeyMediationStart(ctx, corbadoapi.PasskeyMediationStartReq{})
		return !r.LoginAllow || r.AssertionOptions != "", err
	}},
	{"POST", "/v2/passkey/mediation/finish", func(ctx context.Context, c *corbadoapi.Client) (bool, error) {
		_, err := c.PasskeyMediationFinish(ctx, corbadoapi.PasskeyMediationFinishReq{})
		return true, err
	}},
}

// opOf returns the index in fuzzOps of the operation a request is.
func opOf(r *http.Request) int {
	for i, op := range fuzzOps {
		if ok, _ := path.Match(op.pattern, r.URL.Path); ok && r.Method == op.method {
			return i
		}
	}
	return -1
}

type recordedAnswer struct {
	op     int
	status int
	body   []byte
}

// recorder is a transport that keeps every answer it passes on.
type recorder struct {
	mu  sync.Mutex
	got []recordedAnswer
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	rec.mu.Lock()
	rec.got = append(rec.got, recordedAnswer{opOf(r), res.StatusCode, body})
	rec.mu.Unlock()
	return res, nil
}

// emulatorAnswers runs sign-up, append, both logins, a lookup of a user
// that does not exist and a passkey deletion through the Corbado backend
// against the emulator, and returns every answer the emulator gave.
func emulatorAnswers(tb testing.TB) []recordedAnswer {
	tb.Helper()
	ctx := context.Background()
	env := &e2e.Env{Clock: e2e.NewClock(), Mailbox: e2e.NewMailbox()}
	emu, err := corbadotest.New(corbadotest.Options{RPID: e2e.RPID, Origins: []string{e2e.Origin}, Clock: env.Clock.Now, OnOTP: env.Mailbox.Deliver})
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(emu)
	defer ts.Close()
	rec := &recorder{}
	b, err := passkeys.NewCorbado(passkeys.CorbadoOptions{
		ProjectID: emu.ProjectID(), APISecret: emu.APISecret(), BaseURL: ts.URL, Clock: env.Clock.Now,
		HTTPClient: &http.Client{Transport: rec},
	})
	if err != nil {
		tb.Fatal(err)
	}
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	const email = "fuzz@example.com"
	_, err = b.StartOTP(ctx, email, passkeys.Client{})
	must(err)
	codes := env.Mailbox.Codes(email)
	u, _, err := b.FinishOTP(ctx, email, codes[len(codes)-1], passkeys.Client{})
	must(err)
	auth := passkeystest.New(e2e.Origin)
	as, err := b.StartAppend(ctx, u, passkeys.Client{UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"})
	must(err)
	att, err := auth.Create(as.Options)
	must(err)
	pk, err := b.FinishAppend(ctx, u, att, passkeys.Client{})
	must(err)
	ls, err := b.StartLogin(ctx, email, passkeys.Client{})
	must(err)
	resp, err := auth.Get(ls.Options)
	must(err)
	_, err = b.FinishLogin(ctx, resp, passkeys.Client{})
	must(err)
	ms, err := b.StartMediation(ctx, passkeys.Client{})
	must(err)
	resp, err = auth.Get(ms.Options)
	must(err)
	_, err = b.FinishMediation(ctx, resp, passkeys.Client{})
	must(err)
	_, err = b.LookupUser(ctx, u.ID)
	must(err)
	if _, err := b.LookupUser(ctx, "usr-404"); !errors.Is(err, passkeys.ErrUnauthorized) {
		tb.Fatalf("lookup of an unknown user: %v", err)
	}
	must(b.DeletePasskey(ctx, u, pk.ID))
	return rec.got
}

// FuzzResponses feeds every operation answers derived from the
// emulator's: the client never panics; a 2xx answer it accepts has the
// members the library relies on; any other status is an *Error that
// keeps status and body, whose message holds no credential.
//
//	go test -run XXX -fuzz FuzzResponses -fuzztime 3m ./internal/corbadoapi/
func FuzzResponses(f *testing.F) {
	for _, a := range emulatorAnswers(f) {
		if a.op < 0 {
			f.Fatalf("an answer to a request of no known operation")
		}
		f.Add(uint8(a.op), uint16(a.status), a.body)
	}
	f.Add(uint8(1), uint16(400), []byte(`{"httpStatusCode":400,"message":"Bad Request","requestData":{"requestID":"req-1"},"runtime":0,"error":{"type":"validation_error","validation":[{"field":"userID","message":"does not exist"}]}}`))
	f.Add(uint8(4), uint16(503), []byte(`<html>maintenance</html>`))
	const secret = "corbado1_fuzzsecret"
	f.Fuzz(func(t *testing.T, op uint8, status uint16, body []byte) {
		o := fuzzOps[int(op)%len(fuzzOps)]
		code := 200 + int(status)%400
		c := corbadoapi.New(corbadoapi.Config{
			BaseURL: "http://corbado.test", ProjectID: "pro-1", APISecret: secret, Timeout: time.Second, MaxAttempts: 1,
			HTTPClient: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{
					StatusCode: code, Header: http.Header{"Content-Type": {"application/json"}, "Retry-After": {"1"}},
					Body: io.NopCloser(bytes.NewReader(body)), Request: r,
				}, nil
			})},
		})
		complete, err := o.call(context.Background(), c)
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Fatalf("the error holds the secret: %v", err)
		}
		var ae *corbadoapi.Error
		switch {
		case code < 300 && err == nil:
			if !complete {
				t.Fatalf("%s %s: an incomplete %d answer was accepted: %s", o.method, o.pattern, code, body)
			}
			if !json.Valid(body) {
				t.Fatalf("%s %s: a body that is not JSON was accepted: %q", o.method, o.pattern, body)
			}
		case code < 300:
			if errors.As(err, &ae) {
				t.Fatalf("a %d answer became an API error: %v", code, err)
			}
		case !errors.As(err, &ae):
			t.Fatalf("a %d answer is not an *Error: %v", code, err)
		case ae.StatusCode != code || !bytes.Equal(ae.Body, body):
			t.Fatalf("the *Error keeps %d %q, want %d %q", ae.StatusCode, ae.Body, code, body)
		case ae.Rsp != nil && ae.Type() == "":
			t.Fatalf("an errorRsp without a type: %s", body)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
