package selfhosted_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/pgstore"
)

// A button login lists the account's passkeys when it starts. Deleting one
// of them before it finishes must not break the login when it finishes
// with another passkey that is still registered; finishing with the
// deleted one, or with one that was not listed, still fails.
func TestLoginInFlightSurvivesAnotherPasskeysDeletion(t *testing.T) {
	for _, st := range append(testStores[:len(testStores):len(testStores)], testStore{"postgres", openPostgresForTest}) {
		t.Run(st.name, func(t *testing.T) { testLoginInFlight(t, st.open(t)) })
	}
}

func testLoginInFlight(t *testing.T, store selfhosted.Store) {
	ctx := t.Context()
	const origin, email = "https://inflight.example", "inflight@example.com"
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	mail := passkeystest.NewMailbox()
	e, err := selfhosted.New(selfhosted.Config{
		RPID: "inflight.example", Origins: []string{origin}, Store: store, OTPSender: mail, Clock: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := passkeys.New(passkeys.Options{
		Backend: e, JWTKey: []byte("in-flight login tests' session key, 32+ bytes"), Clock: clock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.StripPrefix("/auth", h))
	t.Cleanup(ts.Close)

	// Four devices, each a client with its own authenticator.
	var dev [4]*passkeystest.Client
	for i := range dev {
		dev[i] = passkeystest.NewClient(ts.URL+"/auth", passkeystest.ClientOptions{
			Authenticator: passkeystest.New(origin), Mailbox: mail,
		})
	}
	s, err := dev[0].SignUpOrLogin(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(dev))
	for i := range 3 { // the fourth device gets its passkey later
		if _, err := dev[i].AppendPasskey(ctx, s.Token); err != nil {
			t.Fatalf("append on device %d: %v", i, err)
		}
		ids[i] = base64.RawURLEncoding.EncodeToString(dev[i].Authenticator().Credentials()[0].ID)
	}
	start := func() passkeystest.Ceremony {
		t.Helper()
		cer, err := dev[0].StartLogin(ctx, email)
		if err != nil || !cer.Allowed {
			t.Fatalf("StartLogin = %+v, %v; want allowed", cer, err)
		}
		return cer
	}
	finish := func(d int, cer passkeystest.Ceremony) error {
		t.Helper()
		// The device answers with its own passkey, listed or not.
		own := passkeystest.Tamper{CredentialID: dev[d].Authenticator().Credentials()[0].ID}
		resp, err := dev[d].Authenticator().Get(cer.Options, own)
		if err != nil {
			t.Fatalf("device %d: Get: %v", d, err)
		}
		_, err = dev[d].FinishLogin(ctx, resp)
		return err
	}
	wantRefused := func(what string, err error, code string) {
		t.Helper()
		var pe *passkeystest.Error
		if !errors.As(err, &pe) || pe.Status != http.StatusUnauthorized || pe.Code != code {
			t.Errorf("%s: %v; want 401 %s", what, err, code)
		}
	}

	// Started with passkeys 0, 1 and 2 listed; 0 is deleted; 1 finishes.
	cer := start()
	if err := dev[0].DeletePasskey(ctx, s.Token, ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := finish(1, cer); err != nil {
		t.Errorf("login with a registered passkey after another one was deleted: %v; want a session", err)
	}

	// Started with 1 and 2 listed; 1 is deleted and finishes: refused.
	cer = start()
	if err := dev[0].DeletePasskey(ctx, s.Token, ids[1]); err != nil {
		t.Fatal(err)
	}
	wantRefused("login with the passkey deleted after the start", finish(1, cer), "unknown_credential")

	// Started with 2 listed; 3 is added after the start and finishes:
	// refused, since it was not listed.
	cer = start()
	if _, err := dev[3].AppendPasskey(ctx, s.Token); err != nil {
		t.Fatal(err)
	}
	wantRefused("login with a passkey added after the start", finish(3, cer), "passkey_verification_failed")

	// The passkeys left still log in.
	for _, d := range []int{2, 3} {
		if _, err := dev[d].LoginWithPasskey(ctx, email); err != nil {
			t.Errorf("device %d: login: %v", d, err)
		}
	}
}

// openPostgresForTest opens a pgstore on a schema of its own that is
// dropped after the test, or skips without PASSKEYS_TEST_POSTGRES_DSN.
func openPostgresForTest(t *testing.T) selfhosted.Store {
	return openPostgresPoolsForTest(t, 1)[0]
}

// openPostgresPoolsForTest opens n pgstore pools on one schema of their
// own, as n instances of an application would, dropped after the test, or
// skips without PASSKEYS_TEST_POSTGRES_DSN. opts are passed to each.
func openPostgresPoolsForTest(t *testing.T, n int, opts ...pgstore.Option) []*pgstore.Store {
	dsn := os.Getenv("PASSKEYS_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("set PASSKEYS_TEST_POSTGRES_DSN (e.g. postgres://root@127.0.0.1:5432/test?sslmode=disable) to run against PostgreSQL")
	}
	schema := "inflight_" + strings.ToLower(rand.Text())
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	pools := make([]*pgstore.Store, n)
	for i := range pools {
		s, err := pgstore.Open(t.Context(), dsn, append([]pgstore.Option{pgstore.WithSchema(schema)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		pools[i] = s
	}
	return pools
}
