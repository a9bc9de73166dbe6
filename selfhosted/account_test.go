package selfhosted_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

// eachStore runs f once per shipped store: memory, SQLite and, when
// PASSKEYS_TEST_POSTGRES_DSN is set, PostgreSQL. newStore returns a fresh,
// empty store on every call.
func eachStore(t *testing.T, f func(t *testing.T, newStore func(t *testing.T) selfhosted.Store)) {
	t.Run("Memory", func(t *testing.T) {
		f(t, openMemoryForTest)
	})
	t.Run("SQLite", func(t *testing.T) {
		f(t, openSQLiteForTest)
	})
	t.Run("Postgres", func(t *testing.T) {
		if os.Getenv("PASSKEYS_TEST_POSTGRES_DSN") == "" {
			t.Skip("set PASSKEYS_TEST_POSTGRES_DSN to run against PostgreSQL")
		}
		f(t, openPostgresForTest)
	})
}

// rig is an engine on one store with the suite's clock and mailbox.
type rig struct {
	t      *testing.T
	store  selfhosted.Store
	engine *selfhosted.Engine
	clock  *e2e.Clock
	mail   *passkeystest.Mailbox
}

func newRig(t *testing.T, store selfhosted.Store) *rig {
	r := &rig{t: t, store: store, clock: e2e.NewClock(), mail: passkeystest.NewMailbox()}
	e, err := selfhosted.New(selfhosted.Config{
		RPID: e2e.RPID, Origins: []string{e2e.Origin}, Store: store, OTPSender: r.mail, Clock: r.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.engine = e
	return r
}

// code returns the newest code sent to email.
func (r *rig) code(email string) string {
	r.t.Helper()
	c, ok := r.mail.Last(email)
	if !ok {
		r.t.Fatalf("no code was sent to %s", email)
	}
	return c
}

// signUp creates an account for email by code.
func (r *rig) signUp(email string) passkeys.User {
	r.t.Helper()
	ctx := r.t.Context()
	if _, err := r.engine.StartOTP(ctx, email, passkeys.Client{}); err != nil {
		r.t.Fatal(err)
	}
	u, _, err := r.engine.FinishOTP(ctx, email, r.code(email), passkeys.Client{})
	if err != nil {
		r.t.Fatal(err)
	}
	r.clock.Advance(time.Minute) // past the cooldown
	return u
}

// addPasskey appends a passkey of a fresh authenticator to u's account.
func (r *rig) addPasskey(u passkeys.User) *passkeystest.Authenticator {
	r.t.Helper()
	ctx := r.t.Context()
	auth := passkeystest.New(e2e.Origin)
	start, err := r.engine.StartAppend(ctx, u, passkeys.Client{})
	if err != nil || !start.Allow {
		r.t.Fatalf("StartAppend: %+v, %v", start, err)
	}
	att, err := auth.Create(start.Options)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.engine.FinishAppend(ctx, u, att, passkeys.Client{}); err != nil {
		r.t.Fatal(err)
	}
	return auth
}

// loginAllowed reports whether a button login for email may start.
func (r *rig) loginAllowed(email string) bool {
	r.t.Helper()
	start, err := r.engine.StartLogin(r.t.Context(), email, passkeys.Client{})
	if err != nil {
		r.t.Fatal(err)
	}
	return start.Allow
}

func wantCode(t *testing.T, what string, err error, want *passkeys.Error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %s", what, err, want.Code)
	}
}

// hostSessions is a host's own session system: opaque tokens in a map,
// for users the passkey engine has never seen.
type hostSessions struct {
	mu     sync.Mutex
	tokens map[string]passkeys.User
}

func (h *hostSessions) add(token string, u passkeys.User) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tokens[token] = u
}

func (h *hostSessions) IssueSession(_ context.Context, u passkeys.User) (string, error) {
	token := "host-" + rand.Text()
	h.add(token, u)
	return token, nil
}

func (h *hostSessions) VerifySession(_ context.Context, token string) (passkeys.User, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	u, ok := h.tokens[token]
	if !ok {
		return passkeys.User{}, passkeys.ErrUnauthorized.With("Unknown host session.", nil)
	}
	return u, nil
}

// A host with its own users and sessions adds passkeys to a user the
// engine has never seen; every passkey login then returns the host's
// user.
func TestBringYourOwnUsers(t *testing.T) {
	eachStore(t, func(t *testing.T, newStore func(t *testing.T) selfhosted.Store) {
		ctx := t.Context()
		r := newRig(t, newStore(t))
		hs := &hostSessions{tokens: map[string]passkeys.User{}}
		h, err := passkeys.New(passkeys.Options{Backend: r.engine, SessionIssuer: hs, SessionVerifier: hs, Clock: r.clock.Now,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("/auth/", http.StripPrefix("/auth", h))
		ts := httptest.NewServer(mux)
		t.Cleanup(ts.Close)
		auth := passkeystest.New(e2e.Origin)
		c := passkeystest.NewClient(ts.URL+"/auth", passkeystest.ClientOptions{Authenticator: auth, Mailbox: r.mail})

		host := passkeys.User{ID: "acct-42", Email: " Alice@Example.COM "}
		want := passkeys.User{ID: "acct-42", Email: "alice@example.com"}
		hs.add("alice-host-session", host)
		if _, err := c.AppendPasskey(ctx, "alice-host-session"); err != nil {
			t.Fatalf("append for a host user: %v", err)
		}
		rec, err := r.store.(selfhosted.UserByIDStore).UserByID(ctx, host.ID)
		if err != nil {
			t.Fatalf("the engine's record of the host user: %v", err)
		}
		if rec.Email != want.Email || len(rec.Handle) < 32 {
			t.Errorf("record = %+v, want email %s and a handle of 32+ bytes", rec, want.Email)
		}
		for _, login := range []struct {
			name string
			do   func() (passkeystest.Session, error)
		}{
			{"button", func() (passkeystest.Session, error) { return c.LoginWithPasskey(ctx, want.Email) }},
			{"autofill", func() (passkeystest.Session, error) { return c.LoginWithAutofill(ctx) }},
		} {
			s, err := login.do()
			if err != nil {
				t.Fatalf("%s login: %v", login.name, err)
			}
			if s.User != want {
				t.Errorf("%s login: user %+v, want %+v", login.name, s.User, want)
			}
			if u, err := hs.VerifySession(ctx, s.Token); err != nil || u != want {
				t.Errorf("%s login: the host issued %+v, %v; want %+v", login.name, u, err, want)
			}
		}
		// A second passkey goes to the same record.
		second := passkeystest.NewClient(ts.URL+"/auth", passkeystest.ClientOptions{Authenticator: passkeystest.New(e2e.Origin)})
		if _, err := second.AppendPasskey(ctx, "alice-host-session"); err != nil {
			t.Fatal(err)
		}
		if list, err := c.Passkeys(ctx, "alice-host-session"); err != nil || len(list) != 2 {
			t.Errorf("passkeys of the host user: %d, %v; want 2", len(list), err)
		}
		again, err := r.store.(selfhosted.UserByIDStore).UserByID(ctx, host.ID)
		if err != nil || string(again.Handle) != string(rec.Handle) {
			t.Errorf("the record changed on the second append: %+v, %v", again, err)
		}

		// A host user whose email is an engine account's is refused; the
		// accounts are never merged.
		engineUser := r.signUp("bob@example.com")
		hs.add("bob-host-session", passkeys.User{ID: "host-bob", Email: "bob@example.com"})
		_, err = c.AppendPasskey(ctx, "bob-host-session")
		var pe *passkeystest.Error
		if !errors.As(err, &pe) || pe.Status != http.StatusConflict || pe.Code != "account_conflict" {
			t.Errorf("append for a host user with an engine user's email: %v, want 409 account_conflict", err)
		}
		if _, err := r.store.(selfhosted.UserByIDStore).UserByID(ctx, "host-bob"); !errors.Is(err, selfhosted.ErrNotFound) {
			t.Errorf("a record was created for the refused host user: %v", err)
		}
		if u, err := r.store.UserByEmail(ctx, "bob@example.com"); err != nil || u.ID != engineUser.ID {
			t.Errorf("the engine user changed: %+v, %v", u, err)
		}

		// An ID of the engine's own form is an engine account: deleted, it
		// stays deleted however valid the session presented.
		if err := r.engine.DeleteAccount(ctx, engineUser); err != nil {
			t.Fatal(err)
		}
		hs.add("stale-session", engineUser)
		_, err = c.AppendPasskey(ctx, "stale-session")
		if !errors.As(err, &pe) || pe.Status != http.StatusUnauthorized {
			t.Errorf("append for a deleted engine account: %v, want 401", err)
		}

		// A host user without a usable email is the host's mistake: 500.
		hs.add("no-email", passkeys.User{ID: "acct-43", Email: "not an address"})
		if _, err := c.AppendPasskey(ctx, "no-email"); !errors.As(err, &pe) || pe.Status != http.StatusInternalServerError {
			t.Errorf("append for a host user without an email: %v, want 500", err)
		}
	})
}

// Two first appends of one host user at once create one record, and both
// may go on.
func TestBringYourOwnUsersConcurrentFirstAppend(t *testing.T) {
	eachStore(t, func(t *testing.T, newStore func(t *testing.T) selfhosted.Store) {
		ctx := t.Context()
		r := newRig(t, newStore(t))
		host := passkeys.User{ID: "acct-race", Email: "race@example.com"}
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				s, err := r.engine.StartAppend(ctx, host, passkeys.Client{})
				if err == nil && !s.Allow {
					err = errors.New("append not allowed")
				}
				errs[i] = err
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("append %d: %v", i, err)
			}
		}
		rec, err := r.store.UserByEmail(ctx, host.Email)
		if err != nil || rec.ID != host.ID {
			t.Errorf("record = %+v, %v; want the host's user", rec, err)
		}
	})
}

// Deleting an account removes the user, their passkeys and their pending
// codes; the email can sign up anew.
func TestDeleteAccount(t *testing.T) {
	eachStore(t, func(t *testing.T, newStore func(t *testing.T) selfhosted.Store) {
		ctx := t.Context()
		r := newRig(t, newStore(t))
		const email = "leaving@example.com"
		u := r.signUp(email)
		auth := r.addPasskey(u)
		other := r.signUp("staying@example.com")
		otherAuth := r.addPasskey(other)

		// Ceremonies and codes in flight while the account goes.
		login, err := r.engine.StartLogin(ctx, email, passkeys.Client{})
		if err != nil || !login.Allow {
			t.Fatalf("StartLogin: %+v, %v", login, err)
		}
		mediation, err := r.engine.StartMediation(ctx, passkeys.Client{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.engine.StartOTP(ctx, email, passkeys.Client{}); err != nil {
			t.Fatal(err)
		}
		signInCode := r.code(email)
		if _, err := r.engine.StartEmailChange(ctx, u, "elsewhere@example.com", passkeys.Client{}); err != nil {
			t.Fatal(err)
		}
		changeCode := r.code("elsewhere@example.com")

		if err := r.engine.DeleteAccount(ctx, u); err != nil {
			t.Fatalf("DeleteAccount: %v", err)
		}
		if err := r.engine.DeleteAccount(ctx, u); err != nil {
			t.Errorf("DeleteAccount of a deleted account: %v, want nil", err)
		}
		if _, err := r.store.(selfhosted.UserByIDStore).UserByID(ctx, u.ID); !errors.Is(err, selfhosted.ErrNotFound) {
			t.Errorf("UserByID after delete: %v", err)
		}
		if list, err := r.store.CredentialsByUser(ctx, u.ID); err != nil || len(list) != 0 {
			t.Errorf("credentials after delete: %d, %v", len(list), err)
		}
		for _, c := range auth.Credentials() {
			if _, err := r.store.(selfhosted.CredentialByIDStore).Credential(ctx, c.ID); !errors.Is(err, selfhosted.ErrNotFound) {
				t.Errorf("credential after delete: %v", err)
			}
		}
		if r.loginAllowed(email) {
			t.Errorf("a button login of the deleted account may start")
		}
		for _, tc := range []struct {
			name    string
			options []byte
			finish  func(context.Context, []byte) (passkeys.User, error)
		}{
			{"button", login.Options, func(ctx context.Context, b []byte) (passkeys.User, error) {
				return r.engine.FinishLogin(ctx, b, passkeys.Client{})
			}},
			{"autofill", mediation.Options, func(ctx context.Context, b []byte) (passkeys.User, error) {
				return r.engine.FinishMediation(ctx, b, passkeys.Client{})
			}},
		} {
			resp, err := auth.Get(tc.options)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tc.finish(ctx, resp)
			wantCode(t, tc.name+" login with the deleted passkey", err, passkeys.ErrUnknownCredential)
		}
		_, _, err = r.engine.FinishOTP(ctx, email, signInCode, passkeys.Client{})
		wantCode(t, "a sign-in code sent before the delete", err, passkeys.ErrOTPInvalid)
		_, err = r.engine.FinishEmailChange(ctx, u, "elsewhere@example.com", changeCode, passkeys.Client{})
		wantCode(t, "an email-change code sent before the delete", err, passkeys.ErrOTPInvalid)
		_, err = r.engine.StartEmailChange(ctx, u, "elsewhere@example.com", passkeys.Client{})
		wantCode(t, "an email change of the deleted account", err, passkeys.ErrUnauthorized)

		// The other account is untouched.
		m, err := r.engine.StartMediation(ctx, passkeys.Client{})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := otherAuth.Get(m.Options)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := r.engine.FinishMediation(ctx, resp, passkeys.Client{}); err != nil || got != other {
			t.Errorf("login of the other account: %+v, %v", got, err)
		}

		// The address signs up anew, as another account.
		r.clock.Advance(time.Minute)
		again := r.signUp(email)
		if again.ID == u.ID || again.Email != email {
			t.Errorf("sign-up after delete: %+v, want a new account for %s", again, email)
		}
	})
}

// An email change moves the account to an address proven by a code sent
// there; the old address stops working for login.
func TestEmailChange(t *testing.T) {
	eachStore(t, func(t *testing.T, newStore func(t *testing.T) selfhosted.Store) {
		ctx := t.Context()
		r := newRig(t, newStore(t))
		u := r.signUp("old@example.com")
		auth := r.addPasskey(u)
		const moved = "new@example.com"

		res, err := r.engine.StartEmailChange(ctx, u, moved, passkeys.Client{})
		if err != nil || res.ExpiresIn != 10*time.Minute {
			t.Fatalf("StartEmailChange: %+v, %v", res, err)
		}
		code := r.code(moved)
		_, err = r.engine.FinishEmailChange(ctx, u, moved, wrong(code), passkeys.Client{})
		wantCode(t, "wrong code", err, passkeys.ErrOTPInvalid)
		_, _, err = r.engine.FinishOTP(ctx, moved, code, passkeys.Client{})
		wantCode(t, "the email-change code used to sign in", err, passkeys.ErrOTPInvalid)
		_, err = r.engine.FinishEmailChange(ctx, passkeys.User{ID: "usr_someoneelse", Email: "x@example.com"}, moved, code, passkeys.Client{})
		wantCode(t, "another user's email-change code", err, passkeys.ErrOTPInvalid)
		got, err := r.engine.FinishEmailChange(ctx, u, moved, code, passkeys.Client{})
		if want := (passkeys.User{ID: u.ID, Email: moved}); err != nil || got != want {
			t.Fatalf("FinishEmailChange: %+v, %v; want %+v", got, err, want)
		}
		_, err = r.engine.FinishEmailChange(ctx, u, moved, code, passkeys.Client{})
		wantCode(t, "the used code again", err, passkeys.ErrOTPInvalid)
		if r.loginAllowed("old@example.com") {
			t.Errorf("the old address still starts a login")
		}
		if !r.loginAllowed(moved) {
			t.Errorf("the new address starts no login")
		}
		m, err := r.engine.StartMediation(ctx, passkeys.Client{})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := auth.Get(m.Options)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := r.engine.FinishMediation(ctx, resp, passkeys.Client{}); err != nil || got.Email != moved {
			t.Errorf("autofill login after the change: %+v, %v; want email %s", got, err, moved)
		}
		// The old address is free: it signs up a new account.
		if fresh := r.signUp("old@example.com"); fresh.ID == u.ID {
			t.Errorf("the old address still leads to the moved account")
		}
	})
}

// An email change to an address that has an account answers the same and
// sends and changes nothing; codes expire and run out of attempts as
// sign-up codes do; a change code and a sign-up code of one address are
// apart.
func TestEmailChangeRefusals(t *testing.T) {
	eachStore(t, func(t *testing.T, newStore func(t *testing.T) selfhosted.Store) {
		ctx := t.Context()
		r := newRig(t, newStore(t))
		a := r.signUp("a@example.com")
		b := r.signUp("b@example.com")
		sentToB := len(r.mail.Codes(b.Email))

		free, err := r.engine.StartEmailChange(ctx, a, "free@example.com", passkeys.Client{})
		if err != nil {
			t.Fatal(err)
		}
		for _, taken := range []string{b.Email, a.Email} {
			res, err := r.engine.StartEmailChange(ctx, a, taken, passkeys.Client{})
			if err != nil || res != free {
				t.Errorf("change to taken %s: %+v, %v; want %+v as for a free address", taken, res, err, free)
			}
			_, err = r.engine.FinishEmailChange(ctx, a, taken, "000000", passkeys.Client{})
			wantCode(t, "finish of a change to a taken address", err, passkeys.ErrOTPInvalid)
		}
		if n := len(r.mail.Codes(b.Email)); n != sentToB {
			t.Errorf("a change to b's address sent %d codes to it", n-sentToB)
		}
		for _, u := range []passkeys.User{a, b} {
			if got, err := r.store.UserByEmail(ctx, u.Email); err != nil || got.ID != u.ID {
				t.Errorf("account %s after refused changes: %+v, %v", u.Email, got, err)
			}
		}

		// A resend within the cooldown sends nothing; the first code stays.
		if _, err := r.engine.StartEmailChange(ctx, a, "free@example.com", passkeys.Client{}); err != nil {
			t.Fatal(err)
		}
		if n := len(r.mail.Codes("free@example.com")); n != 1 {
			t.Errorf("%d codes sent within the cooldown, want 1", n)
		}

		// Taken between start and finish.
		if _, err := r.engine.StartEmailChange(ctx, a, "late@example.com", passkeys.Client{}); err != nil {
			t.Fatal(err)
		}
		lateCode := r.code("late@example.com")
		r.signUp("late@example.com")
		_, err = r.engine.FinishEmailChange(ctx, a, "late@example.com", lateCode, passkeys.Client{})
		wantCode(t, "finish after the address was taken", err, passkeys.ErrOTPInvalid)
		if got, err := r.store.UserByEmail(ctx, a.Email); err != nil || got.ID != a.ID {
			t.Errorf("account a after the late finish: %+v, %v", got, err)
		}

		// Expired.
		if _, err := r.engine.StartEmailChange(ctx, b, "expiring@example.com", passkeys.Client{}); err != nil {
			t.Fatal(err)
		}
		r.clock.Advance(10*time.Minute + time.Second)
		_, err = r.engine.FinishEmailChange(ctx, b, "expiring@example.com", r.code("expiring@example.com"), passkeys.Client{})
		wantCode(t, "expired code", err, passkeys.ErrOTPInvalid)

		// Out of attempts: five wrong checks kill the code.
		if _, err := r.engine.StartEmailChange(ctx, b, "guessed@example.com", passkeys.Client{}); err != nil {
			t.Fatal(err)
		}
		code := r.code("guessed@example.com")
		for range 5 {
			_, err = r.engine.FinishEmailChange(ctx, b, "guessed@example.com", wrong(code), passkeys.Client{})
			wantCode(t, "wrong code", err, passkeys.ErrOTPInvalid)
		}
		_, err = r.engine.FinishEmailChange(ctx, b, "guessed@example.com", code, passkeys.Client{})
		wantCode(t, "the right code after five wrong ones", err, passkeys.ErrOTPInvalid)

		// A sign-up code and a change code of one address are apart.
		r.clock.Advance(time.Minute)
		if _, err := r.engine.StartEmailChange(ctx, b, "both@example.com", passkeys.Client{}); err != nil {
			t.Fatal(err)
		}
		change := r.code("both@example.com")
		if _, err := r.engine.StartOTP(ctx, "both@example.com", passkeys.Client{}); err != nil {
			t.Fatal(err)
		}
		signUp := r.code("both@example.com")
		if n := len(r.mail.Codes("both@example.com")); n != 2 {
			t.Fatalf("%d codes for both@, want 2: the sign-up code is not held off by the change code", n)
		}
		if change != signUp {
			_, err = r.engine.FinishEmailChange(ctx, b, "both@example.com", signUp, passkeys.Client{})
			wantCode(t, "the sign-up code used for the change", err, passkeys.ErrOTPInvalid)
		}
		got, err := r.engine.FinishEmailChange(ctx, b, "both@example.com", change, passkeys.Client{})
		if err != nil || got.Email != "both@example.com" {
			t.Fatalf("change with its own code: %+v, %v", got, err)
		}
		// The sign-up code now signs in to b, who owns the address.
		u, created, err := r.engine.FinishOTP(ctx, "both@example.com", signUp, passkeys.Client{})
		if err != nil || created || u.ID != b.ID {
			t.Errorf("sign-in code after the change: %+v created=%t, %v; want b", u, created, err)
		}
	})
}

// A Store without AccountStore serves every other flow; the account
// operations fail and say what is missing.
func TestAccountWithoutAccountStore(t *testing.T) {
	type bare struct{ selfhosted.Store }
	r := newRig(t, bare{memstore.New()})
	u := r.signUp("plain@example.com")
	err := r.engine.DeleteAccount(t.Context(), u)
	if err == nil || !strings.Contains(err.Error(), "AccountStore") {
		t.Errorf("DeleteAccount: %v, want an error naming AccountStore", err)
	}
	if _, err := r.engine.StartEmailChange(t.Context(), u, "x@example.com", passkeys.Client{}); err == nil {
		t.Errorf("StartEmailChange succeeded")
	}
	if len(r.mail.Codes("x@example.com")) != 0 {
		t.Errorf("a code was sent")
	}
}

// wrong returns a code that differs from code.
func wrong(code string) string {
	w := []byte(code)
	w[0] = '0' + (w[0]-'0'+1)%10
	return fmt.Sprint(string(w))
}
