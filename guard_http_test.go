package passkeys_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest"
)

// tokenVerifier answers each token with the error (or user) it names.
type tokenVerifier map[string]error

func (v tokenVerifier) VerifySession(_ context.Context, token string) (passkeys.User, error) {
	if err, ok := v[token]; ok {
		return passkeys.User{}, err
	}
	return passkeys.User{ID: "host-user-1", Email: "host@example.com"}, nil
}

// A SessionVerifier's error wrapping ErrUnauthorized is 401, any other
// is 503 unavailable with Retry-After, logged at ERROR, on the handler's
// routes and on the host's guarded routes alike. A refused token is logged
// at INFO on the handler's routes and at DEBUG on the host's. Every line
// names the full request path, prefix included, and keeps all of the
// verifier's error as its cause.
func TestVerifierErrors(t *testing.T) {
	v := tokenVerifier{
		"down":    errors.New("dial tcp 10.0.0.5:5432: connection refused"),
		"pool":    fmt.Errorf("mysessions: read: %w", passkeys.ErrUnavailable.With("", errors.New("pool timeout"))),
		"gone":    fmt.Errorf("mysessions: row 7: %w", passkeys.ErrUnauthorized),
		"revoked": fmt.Errorf("mysessions: row 8: %w", passkeys.ErrUnauthorized.With("Your session was revoked.", errors.New("revoked at noon"))),
	}
	r := newHTTPRig(t, rigOptions{tweak: func(o *passkeys.Options) {
		o.SessionVerifier = v
	}})
	for _, tc := range []struct {
		token  string
		status int
		code   string
		detail string
		causes []string // parts of the logged cause
	}{
		{"down", http.StatusServiceUnavailable, "unavailable", "", []string{"session verifier", "connection refused"}},
		{"pool", http.StatusServiceUnavailable, "unavailable", "", []string{"mysessions: read", "pool timeout"}},
		{"gone", http.StatusUnauthorized, "unauthorized", "", []string{"mysessions: row 7"}},
		{"revoked", http.StatusUnauthorized, "unauthorized", "Your session was revoked.", []string{"mysessions: row 8", "revoked at noon"}},
	} {
		for _, route := range []struct {
			path, method, clientLevel string
		}{
			{"/auth/passkeys", http.MethodGet, "INFO"},
			{"/auth/logout", http.MethodPost, "INFO"},
			{"/api/me", http.MethodGet, "DEBUG"},
			{"/app/me", http.MethodGet, "DEBUG"},
		} {
			what := tc.token + " at " + route.path
			r.clock.Advance(10 * time.Second) // past the burst window of the ERROR lines
			p := r.do(route.method, route.path, tc.token, "{}")
			wantProblem(t, what, p, tc.status, tc.code)
			if tc.detail != "" && !strings.Contains(string(p.Body), tc.detail) {
				t.Errorf("%s: body %s, want the detail %q", what, p.Body, tc.detail)
			}
			if tc.status == http.StatusServiceUnavailable && p.Header.Get("Retry-After") != "2" {
				t.Errorf("%s: Retry-After %q, want 2", what, p.Header.Get("Retry-After"))
			}
			level := route.clientLevel
			if tc.status >= 500 {
				level = "ERROR"
			}
			lines := r.logs.take(t)
			if len(lines) != 1 {
				t.Errorf("%s: log lines %v, want one", what, lines)
				continue
			}
			l := lines[0]
			cause := fmt.Sprint(l["cause"])
			if l["level"] != level || l["path"] != route.path || l["code"] != tc.code {
				t.Errorf("%s: logged %v, want level %s, path %s, code %s", what, l, level, route.path, tc.code)
			}
			for _, part := range tc.causes {
				if !strings.Contains(cause, part) {
					t.Errorf("%s: logged cause %q, want it to hold %q", what, cause, part)
				}
			}
		}
	}
	wantStatus(t, "a good token on the host route", r.me("good"), http.StatusOK)
}

// With Options.DisableOTP, signUpOrLogin and account/email are 404 and
// send nothing, while a session from elsewhere (here another handler on
// the same engine and sessions) adds a passkey, lists sessions and signs
// in by passkey.
func TestDisableOTP(t *testing.T) {
	r := newHTTPRig(t, rigOptions{})
	ctx := t.Context()
	ann := r.signIn("ann@example.com", uaLaptop)
	opts := r.opts
	opts.DisableOTP = true
	off, err := passkeys.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/id/", http.StripPrefix("/id", off))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	codes := len(r.mail.All())
	do := func(method, path, token, body string) reply {
		o := *r
		o.ts = ts
		return o.do(method, path, token, body)
	}
	for _, tc := range []struct{ path, token, body string }{
		{"/id/signUpOrLogin", "", `{"email":"ann@example.com"}`},
		{"/id/signUpOrLogin", "", `{"email":"ann@example.com","otp":"123456"}`},
		{"/id/account/email", ann.Token, `{"email":"new@example.com"}`},
	} {
		p := do(http.MethodPost, tc.path, tc.token, tc.body)
		wantProblem(t, tc.path, p, http.StatusNotFound, "not_found")
		if !strings.Contains(string(p.Body), "DisableOTP") {
			t.Errorf("%s: body %s, want a detail naming DisableOTP", tc.path, p.Body)
		}
	}
	if n := len(r.mail.All()); n != codes {
		t.Errorf("%d codes sent with OTP off", n-codes)
	}
	c := passkeystest.NewClient(ts.URL+"/id", passkeystest.ClientOptions{Authenticator: r.auth})
	if _, err := c.AppendPasskey(ctx, ann.Token); err != nil {
		t.Fatalf("append with OTP off: %v", err)
	}
	s, err := c.LoginWithPasskey(ctx, "ann@example.com")
	if err != nil || s.User != ann.User {
		t.Fatalf("passkey login with OTP off = %+v, %v", s, err)
	}
	if p := do(http.MethodGet, "/id/sessions", s.Token, ""); !wantStatus(t, "GET sessions with OTP off", p, http.StatusOK) || !strings.Contains(string(p.Body), `"method":"passkey"`) {
		t.Errorf("GET sessions with OTP off: %s", p.Body)
	}
	wantStatus(t, "logout with OTP off", do(http.MethodPost, "/id/logout", s.Token, "{}"), http.StatusNoContent)
	wantProblem(t, "the token after logout", r.me(s.Token), http.StatusUnauthorized, "unauthorized")
}
