package corbadoapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/internal/corbadoapi"
)

// server answers every request with handler and counts them.
func server(t *testing.T, handler http.HandlerFunc) (*corbadoapi.Client, *atomic.Int32) {
	t.Helper()
	n := &atomic.Int32{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		handler(w, r)
	}))
	t.Cleanup(ts.Close)
	c := corbadoapi.New(corbadoapi.Config{
		BaseURL: ts.URL, ProjectID: "pro-1", APISecret: "corbado1_secret", UserAgent: "passkeys-go/test",
		Timeout: 5 * time.Second, Backoff: func(int) time.Duration { return 0 },
	})
	return c, n
}

const errorBody = `{"httpStatusCode":400,"message":"Bad Request","requestData":{"requestID":"req-42"},"runtime":0.1,` +
	`"error":{"type":"validation_error","details":"bad value","validation":[{"field":"value","message":"wrong"}]}}`

func TestRequestShape(t *testing.T) {
	var got *http.Request
	var body string
	c, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		_, _ = io.WriteString(w, `{"challengeID":"cha-1","type":"email_otp","identifierValue":"a@example.com","value":"","expires":1,"status":"completed"}`)
	})
	ch, err := c.ChallengeUpdate(context.Background(), "usr-1", "cha/1", corbadoapi.ChallengeUpdateReq{Value: "123456"})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Status != "completed" || ch.ChallengeID != "cha-1" {
		t.Errorf("decoded %+v", ch)
	}
	user, pass, ok := got.BasicAuth()
	switch {
	case got.Method != http.MethodPatch || got.URL.EscapedPath() != "/v2/users/usr-1/challenges/cha%2F1":
		t.Errorf("request %s %s", got.Method, got.URL.EscapedPath())
	case !ok || user != "pro-1" || pass != "corbado1_secret":
		t.Errorf("Basic auth %q %q %v", user, pass, ok)
	case got.UserAgent() != "passkeys-go/test" || got.Header.Get("Content-Type") != "application/json":
		t.Errorf("headers %v", got.Header)
	case body != `{"value":"123456"}`:
		t.Errorf("body %s", body)
	}
}

func TestListQuery(t *testing.T) {
	var query string
	c, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		_, _ = io.WriteString(w, `{"identifiers":[],"paging":{"page":1,"totalPages":0,"totalItems":0}}`)
	})
	_, err := c.IdentifierList(context.Background(), corbadoapi.ListParams{
		Filter: []string{"identifierValue:eq:a+b@example.com", "identifierType:eq:email"}, PageSize: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "filter%5B%5D=identifierValue%3Aeq%3Aa%2Bb%40example.com&filter%5B%5D=identifierType%3Aeq%3Aemail&pageSize=1"
	if query != want {
		t.Errorf("query %s, want %s", query, want)
	}
}

func TestErrorKeepsStatusAndBody(t *testing.T) {
	c, _ := server(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, errorBody)
	})
	_, err := c.UserCreate(context.Background(), corbadoapi.UserCreateReq{Status: "pending"})
	var e *corbadoapi.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v, want *corbadoapi.Error", err, err)
	}
	if e.Op != "UserCreate" || e.StatusCode != 400 || e.Type() != "validation_error" || string(e.Body) != errorBody {
		t.Errorf("error %+v", e)
	}
	if msg := e.Error(); !strings.Contains(msg, "bad value") || !strings.Contains(msg, "req-42") || strings.Contains(msg, "corbado1_secret") {
		t.Errorf("message %q", msg)
	}
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		get    bool
		want   int32
	}{
		{"GET after 500", 500, true, 3},
		{"GET after 503", 503, true, 3},
		{"GET after 429", 429, true, 3},
		{"GET after 501", 501, true, 1},
		{"GET after 404", 404, true, 1},
		{"POST after 500", 500, false, 1},
		{"POST after 429", 429, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, n := server(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(tc.status) })
			var err error
			if tc.get {
				_, err = c.UserGet(context.Background(), "usr-1")
			} else {
				_, err = c.UserCreate(context.Background(), corbadoapi.UserCreateReq{Status: "pending"})
			}
			var e *corbadoapi.Error
			if !errors.As(err, &e) || e.StatusCode != tc.status || e.Rsp != nil {
				t.Errorf("error %v", err)
			}
			if got := n.Load(); got != tc.want {
				t.Errorf("%d requests, want %d", got, tc.want)
			}
		})
	}
}

func TestRetryThenSuccess(t *testing.T) {
	var calls atomic.Int32
	c, _ := server(t, func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, `{"userID":"usr-1","status":"active","updated":"x","updatedMs":1}`)
	})
	u, err := c.UserGet(context.Background(), "usr-1")
	if err != nil || u.Status != "active" || calls.Load() != 2 {
		t.Errorf("UserGet = %+v, %v after %d calls", u, err, calls.Load())
	}
}

func TestMalformedAnswers(t *testing.T) {
	for name, body := range map[string]string{
		"truncated":     `{"userID":"usr-1"`,
		"trailing data": `{"userID":"usr-1","status":"active"} {}`,
		"not JSON":      `<html>oops</html>`,
		"wrong type":    `{"userID":42}`,
	} {
		t.Run(name, func(t *testing.T) {
			c, n := server(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) })
			_, err := c.UserGet(context.Background(), "usr-1")
			var e *corbadoapi.Error
			if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), "malformed answer") {
				t.Errorf("error %v", err)
			}
			if n.Load() != 1 {
				t.Errorf("a malformed answer was retried: %d requests", n.Load())
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	ts := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(ts.Close)
	c := corbadoapi.New(corbadoapi.Config{BaseURL: ts.URL, ProjectID: "pro-1", APISecret: "corbado1_x", Timeout: 50 * time.Millisecond})
	_, err := c.UserGet(context.Background(), "usr-1")
	if !corbadoapi.IsTimeout(err) {
		t.Errorf("error %v, want a timeout", err)
	}
	if corbadoapi.IsTimeout(errors.New("other")) {
		t.Error("IsTimeout of a plain error")
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	c, n := server(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	_, err := c.UserGet(context.Background(), "usr-1")
	var e *corbadoapi.Error
	if !errors.As(err, &e) || e.StatusCode != http.StatusFound || n.Load() != 1 {
		t.Errorf("error %v after %d requests", err, n.Load())
	}
}

// A call that gets no answer reports the operation and method, never the
// URL: the query of a lookup holds the email address.
func TestTransportErrorsHoldNoURL(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	stalling := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(stalling.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		name, base string
		timeout    bool
	}{
		{"timeout", stalling.URL, true},
		{"connection refused", closed.URL, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := corbadoapi.New(corbadoapi.Config{
				BaseURL: tc.base, ProjectID: "pro-1", APISecret: "corbado1_x",
				Timeout: 50 * time.Millisecond, MaxAttempts: 1,
			})
			_, err := c.IdentifierList(context.Background(), corbadoapi.ListParams{Filter: []string{"identifierValue:eq:private.person@example.com"}})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "corbado IdentifierList GET: ") || strings.Contains(msg, "private.person") || strings.Contains(msg, "identifiers") {
				t.Errorf("error %q", msg)
			}
			if corbadoapi.IsTimeout(err) != tc.timeout {
				t.Errorf("IsTimeout(%q) = %v", msg, !tc.timeout)
			}
		})
	}
}

// A 2xx answer without the members Corbado always fills in is an error.
func TestIncompleteAnswers(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, body, member string
		call               func(c *corbadoapi.Client) error
	}{
		{"user without ID", `{"status":"active"}`, "userID", func(c *corbadoapi.Client) error {
			_, err := c.UserGet(ctx, "usr-1")
			return err
		}},
		{"user without status", `{"userID":"usr-1"}`, "status", func(c *corbadoapi.Client) error {
			_, err := c.UserCreate(ctx, corbadoapi.UserCreateReq{Status: "pending"})
			return err
		}},
		{"identifier without ID", `{"userID":"usr-1","type":"email"}`, "identifierID", func(c *corbadoapi.Client) error {
			_, err := c.IdentifierCreate(ctx, "usr-1", corbadoapi.IdentifierCreateReq{})
			return err
		}},
		{"identifier without user", `{"identifierID":"ide-1"}`, "userID", func(c *corbadoapi.Client) error {
			_, err := c.IdentifierUpdate(ctx, "usr-1", "ide-1", corbadoapi.IdentifierUpdateReq{})
			return err
		}},
		{"challenge without ID", `{"status":"pending"}`, "challengeID", func(c *corbadoapi.Client) error {
			_, err := c.ChallengeCreate(ctx, "usr-1", corbadoapi.ChallengeCreateReq{})
			return err
		}},
		{"checked challenge without status", `{"challengeID":"cha-1"}`, "status", func(c *corbadoapi.Client) error {
			_, err := c.ChallengeUpdate(ctx, "usr-1", "cha-1", corbadoapi.ChallengeUpdateReq{})
			return err
		}},
		{"append allowed without options", `{"appendAllow":true}`, "attestationOptions", func(c *corbadoapi.Client) error {
			_, err := c.PasskeyAppendStart(ctx, corbadoapi.PasskeyAppendStartReq{})
			return err
		}},
		{"login allowed without options", `{"loginAllow":true,"assertionOptions":""}`, "assertionOptions", func(c *corbadoapi.Client) error {
			_, err := c.PasskeyLoginStart(ctx, corbadoapi.PasskeyLoginStartReq{})
			return err
		}},
		{"mediation allowed without options", `{"loginAllow":true}`, "assertionOptions", func(c *corbadoapi.Client) error {
			_, err := c.PasskeyMediationStart(ctx, corbadoapi.PasskeyMediationStartReq{})
			return err
		}},
		{"login refused without options", `{"loginAllow":false}`, "", func(c *corbadoapi.Client) error {
			_, err := c.PasskeyLoginStart(ctx, corbadoapi.PasskeyLoginStartReq{})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, n := server(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, tc.body) })
			err := tc.call(c)
			if tc.member == "" {
				if err != nil {
					t.Errorf("error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "incomplete answer") || !strings.Contains(err.Error(), tc.member+" is empty") {
				t.Errorf("error %v, want one naming %s", err, tc.member)
			}
			if n.Load() != 1 {
				t.Errorf("an incomplete answer was retried: %d requests", n.Load())
			}
		})
	}
}
