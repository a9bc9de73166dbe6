package passkeys_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest"
)

// The failure bound holds on the Corbado backend as on the self-hosted
// engine: 100 failed checks for an address, across codes, and the right
// code is refused with 429; a success in between does not count; a
// passkey login still works.
func TestCorbadoOTPFailureBound(t *testing.T) {
	ctx := t.Context()
	env := &e2e.Env{Clock: e2e.NewClock(), Mailbox: e2e.NewMailbox()}
	emu, ts := corbadoEmulator(t, env)
	h, err := passkeys.New(passkeys.Options{
		Backend: corbadoOn(t, env, emu, ts.URL, nil), JWTKey: e2e.JWTKey, Clock: env.Clock.Now,
		OTPCheckLimit: passkeys.Rate{Events: 10, Per: time.Minute, Burst: 10}, // not under test
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	const email = "bounded@example.com"
	c := passkeystest.NewClient(srv.URL, passkeystest.ClientOptions{Authenticator: passkeystest.New(e2e.Origin), Mailbox: env.Mailbox})
	s, err := c.SignUpOrLogin(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AppendPasskey(ctx, s.Token); err != nil {
		t.Fatal(err)
	}
	// fail makes n wrong checks, four a code, and returns the newest code.
	fail := func(n int) string {
		t.Helper()
		var code string
		for i := range n {
			if i%4 == 0 {
				env.Clock.Advance(time.Minute) // past the resend cooldown
				if _, err := c.RequestCode(ctx, email); err != nil {
					t.Fatal(err)
				}
				code, _ = env.Mailbox.Last(email)
			}
			w := []byte(code)
			w[5] = '0' + (w[5]-'0'+1)%10
			var pe *passkeystest.Error
			if _, err := c.SubmitCode(ctx, email, string(w)); !errors.As(err, &pe) || pe.Status != http.StatusUnauthorized {
				t.Fatalf("wrong check #%d: %v; want 401", i+1, err)
			}
		}
		return code
	}
	if _, err := c.SubmitCode(ctx, email, fail(99)); err != nil {
		t.Fatalf("the right code after 99 failures: %v", err)
	}
	_, err = c.SubmitCode(ctx, email, fail(1))
	var pe *passkeystest.Error
	if !errors.As(err, &pe) || pe.Status != http.StatusTooManyRequests || pe.Code != "too_many_attempts" ||
		!strings.Contains(pe.Detail, "passkey") || pe.Header.Get("Retry-After") == "" {
		t.Errorf("the right code after 100 failures: %v; want 429 too_many_attempts with Retry-After pointing to passkey sign-in", err)
	}
	if _, err := c.LoginWithPasskey(ctx, email); err != nil {
		t.Errorf("passkey login with code sign-in paused: %v", err)
	}
}
