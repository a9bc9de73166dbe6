package selfhosted_test

import (
	"context"
	"encoding/json"
	"fmt"
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
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
	"github.com/passkeyready/passkeys/selfhosted/pgstore"
)

// otpRig is a handler on the engine over HTTP, with a clock the test
// moves, for the failure bound's tests.
type otpRig struct {
	t     *testing.T
	h     *passkeys.Handler
	url   string
	clock *e2e.Clock
	mail  *passkeystest.Mailbox
	// limited receives the handler's rate_limited events.
	limited chan passkeys.Event
}

// eachLimiter runs f with the memory limiter on memstore and SQLite, and
// with pgstore's limiter on PostgreSQL when PASSKEYS_TEST_POSTGRES_DSN is
// set.
func eachLimiter(t *testing.T, f func(t *testing.T, r *otpRig)) {
	open := func(t *testing.T, newStore func(clock *e2e.Clock) (selfhosted.Store, passkeys.Limiter)) *otpRig {
		r := &otpRig{t: t, clock: e2e.NewClock(), mail: passkeystest.NewMailbox(), limited: make(chan passkeys.Event, 100)}
		store, limiter := newStore(r.clock)
		e, err := selfhosted.New(selfhosted.Config{
			RPID: e2e.RPID, Origins: []string{e2e.Origin}, Store: store, OTPSender: r.mail, Clock: r.clock.Now,
		})
		if err != nil {
			t.Fatal(err)
		}
		r.h, err = passkeys.New(passkeys.Options{
			Backend: e, JWTKey: []byte("failure bound tests' session key, 32+ bytes"), Clock: r.clock.Now, Limiter: limiter,
			// The per-email check limit is not under test: ten a minute
			// lets a hundred checks through in minutes of the clock,
			// during which the failure bound forgives almost nothing.
			OTPCheckLimit:       passkeys.Rate{Events: 10, Per: time.Minute, Burst: 10},
			ReauthenticationAge: -1,
			Logger:              slog.New(slog.NewTextHandler(io.Discard, nil)),
			Events: passkeys.EventSinkFunc(func(_ context.Context, e passkeys.Event) {
				if e.Kind == passkeys.EventRateLimited {
					select {
					case r.limited <- e:
					default:
					}
				}
			}),
		})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(http.StripPrefix("/auth", r.h))
		t.Cleanup(ts.Close)
		r.url = ts.URL + "/auth"
		return r
	}
	t.Run("Memory", func(t *testing.T) {
		f(t, open(t, func(*e2e.Clock) (selfhosted.Store, passkeys.Limiter) { return memstore.New(), nil }))
	})
	t.Run("SQLite", func(t *testing.T) {
		f(t, open(t, func(*e2e.Clock) (selfhosted.Store, passkeys.Limiter) { return openSQLiteForTest(t), nil }))
	})
	t.Run("Postgres", func(t *testing.T) {
		f(t, open(t, func(c *e2e.Clock) (selfhosted.Store, passkeys.Limiter) {
			s := openPostgresPoolsForTest(t, 1, pgstore.WithClock(c.Now))[0]
			return s, s
		}))
	})
}

// client returns a device with a fresh authenticator.
func (r *otpRig) client() *passkeystest.Client {
	return passkeystest.NewClient(r.url, passkeystest.ClientOptions{Authenticator: passkeystest.New(e2e.Origin), Mailbox: r.mail})
}

// answer is what a code check got.
type answer struct {
	status     int
	code       string
	detail     string
	retryAfter string
}

// post sends body to path with token as the bearer token unless empty.
func (r *otpRig) post(path, token string, body any) answer {
	r.t.Helper()
	res := e2e.Call(r.t, nil, http.MethodPost, r.url+path, body, token)
	var p struct{ Code, Detail string }
	_ = json.Unmarshal(res.Body, &p)
	return answer{res.Status, p.Code, p.Detail, res.Header.Get("Retry-After")}
}

// newCode has a new code sent for path (signUpOrLogin or account/email)
// after the resend cooldown and returns it.
func (r *otpRig) newCode(path, token, email string) string {
	r.t.Helper()
	r.clock.Advance(31 * time.Second)
	if a := r.post(path, token, map[string]string{"email": email}); a.status != http.StatusOK {
		r.t.Fatalf("requesting a code for %s: %+v", email, a)
	}
	c, ok := r.mail.Last(email)
	if !ok {
		r.t.Fatalf("no code was sent to %s", email)
	}
	return c
}

// fail makes n wrong checks for email on path, across several codes
// (four a code, so that none runs out of its own tries), each answered
// 401 otp_invalid, and returns the newest code, still good.
func (r *otpRig) fail(path, token, email string, n int) string {
	r.t.Helper()
	var code string
	for i := range n {
		if i%4 == 0 {
			code = r.newCode(path, token, email)
		}
		if a := r.post(path, token, map[string]string{"email": email, "otp": wrong(code)}); a.status != http.StatusUnauthorized || a.code != "otp_invalid" {
			r.t.Fatalf("wrong check #%d for %s: %+v; want 401 otp_invalid", i+1, email, a)
		}
	}
	return code
}

// wantBound checks that a check was refused by the failure bound.
func wantBound(t *testing.T, what string, a answer) {
	t.Helper()
	if a.status != http.StatusTooManyRequests || a.code != "too_many_attempts" || !strings.Contains(a.detail, "passkey") || a.retryAfter == "" {
		t.Errorf("%s: %+v; want 429 too_many_attempts with Retry-After and a detail pointing to passkey sign-in", what, a)
	}
}

// After 100 failed code checks for one address, across many codes and
// with the per-email check limit refilled in between, every further check
// is refused, the right code too, until a failure is forgiven or an
// operator resets the bound; a successful check does not count; passkey
// login of the account keeps working; other addresses are untouched.
func TestOTPFailureBound(t *testing.T) {
	eachLimiter(t, func(t *testing.T, r *otpRig) {
		ctx := t.Context()
		const email = "victim@example.com"
		dev := r.client()
		s, err := dev.SignUpOrLogin(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dev.AppendPasskey(ctx, s.Token); err != nil {
			t.Fatal(err)
		}
		check := func(code string) answer {
			return r.post("/signUpOrLogin", "", map[string]string{"email": email, "otp": code})
		}

		// 99 failures, then a success, which gives its token back.
		code := r.fail("/signUpOrLogin", "", email, 99)
		if a := check(code); a.status != http.StatusOK {
			t.Fatalf("the right code after 99 failures: %+v; want 200", a)
		}
		// The 100th failure is still allowed, as the success did not count.
		code = r.fail("/signUpOrLogin", "", email, 1)
		a := check(code)
		wantBound(t, "the right code after 100 failures", a)
		// 100 failures at one forgiven per 7.2 h: the next is about 7.2 h
		// away (less the minutes the failures took).
		if wait, _ := time.ParseDuration(a.retryAfter + "s"); wait < 7*time.Hour+12*time.Minute-15*time.Minute || wait > 7*time.Hour+12*time.Minute {
			t.Errorf("Retry-After %q, want about 7.2 h", a.retryAfter)
		}
		wantBound(t, "a wrong code after 100 failures", check(wrong(code)))
		select {
		case e := <-r.limited:
			if e.Reason != "otpfail" || e.Email != email || e.Endpoint != "/signUpOrLogin" {
				t.Errorf("rate_limited event %+v, want Reason otpfail for %s on /signUpOrLogin", e, email)
			}
		case <-time.After(10 * time.Second):
			t.Error("no rate_limited event for the failure bound")
		}

		// Passkey login keeps working, by button and by autofill.
		if _, err := dev.LoginWithPasskey(ctx, email); err != nil {
			t.Errorf("passkey login with code sign-in paused: %v", err)
		}
		if _, err := dev.LoginWithAutofill(ctx); err != nil {
			t.Errorf("autofill login with code sign-in paused: %v", err)
		}
		// Another address signs in by code as before.
		if _, err := r.client().SignUpOrLogin(ctx, "bystander@example.com"); err != nil {
			t.Errorf("code sign-in of another address: %v", err)
		}

		// 7.2 hours forgive one failure: one check goes through.
		r.clock.Advance(36 * time.Minute * 12)
		code = r.newCode("/signUpOrLogin", "", email)
		if a := check(wrong(code)); a.status != http.StatusUnauthorized {
			t.Errorf("a check 7.2 h later: %+v; want 401 otp_invalid", a)
		}
		wantBound(t, "the check after the forgiven one", check(code))

		// An operator reset, with the address spelt another way, lifts the
		// bound at once.
		if err := r.h.ResetOTPFailures(ctx, "Victim@EXAMPLE.com"); err != nil {
			t.Fatalf("ResetOTPFailures: %v", err)
		}
		if a := check(code); a.status != http.StatusOK {
			t.Errorf("the right code after the reset: %+v; want 200", a)
		}
		if err := r.h.ResetOTPFailures(ctx, "not an address"); err == nil {
			t.Error("ResetOTPFailures of an invalid address: no error")
		}
	})
}

// The email-change check counts against the new address's bound, the
// same bound as code sign-in for that address.
func TestOTPFailureBoundEmailChange(t *testing.T) {
	eachLimiter(t, func(t *testing.T, r *otpRig) {
		ctx := t.Context()
		s, err := r.client().SignUpOrLogin(ctx, "mover@example.com")
		if err != nil {
			t.Fatal(err)
		}
		const target = "target@example.com"
		code := r.fail("/account/email", s.Token, target, 100)
		wantBound(t, "the right email-change code after 100 failures",
			r.post("/account/email", s.Token, map[string]string{"email": target, "otp": code}))
		wantBound(t, "a sign-in code check for the same address",
			r.post("/signUpOrLogin", "", map[string]string{"email": target, "otp": "123456"}))
		// The old address is untouched: the account still signs in by code.
		if _, err := r.client().SignUpOrLogin(ctx, "mover@example.com"); err != nil {
			t.Errorf("code sign-in of the account's own address: %v", err)
		}
	})
}

// A custom Limiter without Refund cannot keep the failure bound: New says
// so, naming both fields, unless the bound is off or OTP is.
func TestOTPFailureBoundNeedsRefunder(t *testing.T) {
	e, err := selfhosted.New(selfhosted.Config{RPID: e2e.RPID, Origins: []string{e2e.Origin}, Store: memstore.New(), OTPSender: passkeystest.NewMailbox()})
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("failure bound tests' session key, 32+ bytes")
	_, err = passkeys.New(passkeys.Options{Backend: e, JWTKey: key, Limiter: allowOnly{}})
	if err == nil || !strings.Contains(err.Error(), "Options.Limiter") || !strings.Contains(err.Error(), "Options.OTPFailureLimit") {
		t.Errorf("New with a Limiter that cannot refund: %v; want an error naming Options.Limiter and Options.OTPFailureLimit", err)
	}
	for name, o := range map[string]passkeys.Options{
		"bound off": {Backend: e, JWTKey: key, Limiter: allowOnly{}, OTPFailureLimit: passkeys.Rate{Events: -1}},
		"OTP off":   {Backend: e, JWTKey: key, Limiter: allowOnly{}, DisableOTP: true},
	} {
		h, err := passkeys.New(o)
		if err != nil {
			t.Errorf("%s: New: %v", name, err)
			continue
		}
		if err := h.ResetOTPFailures(t.Context(), "a@example.com"); err == nil {
			t.Errorf("%s: ResetOTPFailures with a Limiter without Reset: %v; want an error", name, err)
		}
	}
}

// allowOnly is a Limiter with nothing but Allow.
type allowOnly struct{}

func (allowOnly) Allow(context.Context, string, passkeys.Rate) (bool, time.Duration, error) {
	return true, 0, nil
}

// A flood of wrong checks on junk addresses, one each, past the memory
// limiter's 65,536 buckets per class, neither locks new addresses out of
// code sign-in nor lifts the bound of an address that used it up: the
// limiter makes room by dropping the buckets closest to full, the junk
// ones. Before, every new address got 429 for up to 7.2 hours.
func TestOTPFailureBoundFloodOfJunkAddresses(t *testing.T) {
	if raceDetector {
		// 70,000 sequential requests take minutes under -race; the
		// limiter's own flood test (TestMemoryLimiterConformance) runs
		// there.
		t.Skip("70,000 sequential requests: run without -race")
	}
	clock := e2e.NewClock()
	mail := passkeystest.NewMailbox()
	e, err := selfhosted.New(selfhosted.Config{
		RPID: e2e.RPID, Origins: []string{e2e.Origin}, Store: memstore.New(), OTPSender: mail, Clock: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := passkeys.New(passkeys.Options{
		Backend: e, JWTKey: []byte("failure bound tests' session key, 32+ bytes"), Clock: clock.Now,
		OTPCheckLimit: passkeys.Rate{Events: 10, Per: time.Minute, Burst: 10}, // as in otpRig
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.StripPrefix("/auth", h))
	t.Cleanup(ts.Close)
	r := &otpRig{t: t, h: h, url: ts.URL + "/auth", clock: clock, mail: mail}

	const victim = "victim@example.com"
	code := r.fail("/signUpOrLogin", "", victim, 100)
	wantBound(t, "the victim's right code after 100 failures",
		r.post("/signUpOrLogin", "", map[string]string{"email": victim, "otp": code}))

	// The flood, straight into the handler to keep it quick: 70,000 junk
	// addresses, one wrong check each, from as many IPv6 /64 networks as
	// the default IPLimit (60 a minute) needs, with the clock standing
	// still so that nothing refills.
	const flood = 70_000
	for i := range flood {
		body := fmt.Sprintf(`{"email":"junk-%d@example.net","otp":"123456"}`, i)
		req := httptest.NewRequest(http.MethodPost, "/signUpOrLogin", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = fmt.Sprintf("[2001:db8:%x:%x::1]:4000", i/60/0x10000, i/60%0x10000)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("junk check #%d: %d %s; want 401 otp_invalid", i+1, w.Code, w.Body)
		}
	}

	// A new address is served: a wrong code is judged (401, not 429) and
	// the right one signs it up.
	const fresh = "newcomer@example.com"
	code = r.newCode("/signUpOrLogin", "", fresh)
	if a := r.post("/signUpOrLogin", "", map[string]string{"email": fresh, "otp": wrong(code)}); a.status != http.StatusUnauthorized || a.code != "otp_invalid" {
		t.Errorf("a new address's wrong code after the flood: %+v; want 401 otp_invalid", a)
	}
	if a := r.post("/signUpOrLogin", "", map[string]string{"email": fresh, "otp": code}); a.status != http.StatusOK {
		t.Errorf("a new address's right code after the flood: %+v; want 200", a)
	}
	// The victim's bound survived the flood.
	code = r.newCode("/signUpOrLogin", "", victim)
	wantBound(t, "the victim's right code after the flood",
		r.post("/signUpOrLogin", "", map[string]string{"email": victim, "otp": code}))
}
