package selfhosted_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/google/go-cmp/cmp"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

// configServer serves the handler over real HTTP on an engine whose
// Config mod changes, on memstore with the suite's clock, and returns a
// client whose mailbox gets the codes.
func configServer(t *testing.T, mod func(*selfhosted.Config)) (*passkeystest.Client, string) {
	t.Helper()
	clock, mail := e2e.NewClock(), passkeystest.NewMailbox()
	cfg := selfhosted.Config{RPID: e2e.RPID, Origins: []string{e2e.Origin}, Store: memstore.New(), OTPSender: mail, Clock: clock.Now}
	mod(&cfg)
	e, err := selfhosted.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := passkeys.New(passkeys.Options{
		Backend: e, JWTKey: e2e.JWTKey, Clock: clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.StripPrefix("/auth", h))
	t.Cleanup(ts.Close)
	url := ts.URL + "/auth"
	return passkeystest.NewClient(url, passkeystest.ClientOptions{Authenticator: passkeystest.New(e2e.Origin), Mailbox: mail}), url
}

// hintsOf returns publicKey.hints of start options, nil when absent.
func hintsOf(t *testing.T, options json.RawMessage) []string {
	t.Helper()
	var o struct {
		PublicKey struct {
			Hints []string `json:"hints"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatalf("options %s: %v", options, err)
	}
	return o.PublicKey.Hints
}

// TestConfigHints: Config.AppendHints and LoginHints reach the options of
// append and button login starts that ask for none, a request's hints
// replace them, and autofill and conditional create carry none.
func TestConfigHints(t *testing.T) {
	appendHints := []string{passkeys.HintClientDevice, passkeys.HintHybrid}
	c, _ := configServer(t, func(cfg *selfhosted.Config) {
		cfg.AppendHints = appendHints
		cfg.LoginHints = []string{passkeys.HintSecurityKey}
	})
	appendHints[0] = "changed after New" // New keeps a copy
	ctx := t.Context()
	sess, err := c.SignUpOrLogin(ctx, "defaults@example.com")
	if err != nil {
		t.Fatal(err)
	}
	cer, err := c.StartAppend(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"client-device", "hybrid"}, hintsOf(t, cer.Options)); diff != "" {
		t.Errorf("append options hints (-want +got):\n%s", diff)
	}
	// go-webauthn pairs the first hint with its attachment, for browsers
	// that predate hints.
	var sel struct {
		PublicKey struct {
			AuthenticatorSelection struct {
				AuthenticatorAttachment string `json:"authenticatorAttachment"`
			} `json:"authenticatorSelection"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(cer.Options, &sel); err != nil || sel.PublicKey.AuthenticatorSelection.AuthenticatorAttachment != "platform" {
		t.Errorf("append options authenticatorAttachment %q, want platform: %s", sel.PublicKey.AuthenticatorSelection.AuthenticatorAttachment, cer.Options)
	}
	att, err := c.Authenticator().Create(cer.Options)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.FinishAppend(ctx, sess.Token, att); err != nil {
		t.Fatalf("append finish: %v", err)
	}
	cer, err = c.StartAppendWithHints(ctx, sess.Token, []string{passkeys.HintSecurityKey})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"security-key"}, hintsOf(t, cer.Options)); diff != "" {
		t.Errorf("append options with asked-for hints (-want +got):\n%s", diff)
	}
	cer, err = c.StartConditionalAppend(ctx, sess.Token)
	if err != nil {
		t.Fatal(err)
	}
	if got := hintsOf(t, cer.Options); got != nil {
		t.Errorf("conditional create options carry hints %q", got)
	}

	cer, err = c.StartLogin(ctx, "defaults@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"security-key"}, hintsOf(t, cer.Options)); diff != "" {
		t.Errorf("login options hints (-want +got):\n%s", diff)
	}
	cer, err = c.StartLoginWithHints(ctx, "defaults@example.com", []string{passkeys.HintHybrid, passkeys.HintClientDevice})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"hybrid", "client-device"}, hintsOf(t, cer.Options)); diff != "" {
		t.Errorf("login options with asked-for hints (-want +got):\n%s", diff)
	}
	resp, err := c.Authenticator().Get(cer.Options)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.FinishLogin(ctx, resp); err != nil {
		t.Fatalf("login finish: %v", err)
	}
	cer, err = c.StartMediation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := hintsOf(t, cer.Options); got != nil {
		t.Errorf("autofill options carry hints %q", got)
	}
}

func TestConfigHintsValidated(t *testing.T) {
	ok := selfhosted.Config{RPID: "example.com", Origins: []string{"https://example.com"}, Store: memstore.New(), OTPSender: e2e.NewMailbox()}
	for _, tc := range []struct {
		name string
		mod  func(*selfhosted.Config)
		want string
	}{
		{"empty append hints", func(c *selfhosted.Config) { c.AppendHints = []string{} }, "Config.AppendHints names no hint (leave it nil for none)"},
		{"unknown login hint", func(c *selfhosted.Config) { c.LoginHints = []string{"platform"} },
			`Config.LoginHints holds "platform", which is not a hint; use "security-key", "client-device" or "hybrid"`},
		{"duplicate append hint", func(c *selfhosted.Config) { c.AppendHints = []string{"hybrid", "hybrid"} }, `Config.AppendHints names "hybrid" twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			_, err := selfhosted.New(c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

// wantStatus checks that err is a passkeystest.Error with this status
// and code.
func wantStatus(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	var e *passkeystest.Error
	if !errors.As(err, &e) || e.Status != status || e.Code != code {
		t.Errorf("%s: %v, want %d %s", what, err, status, code)
	}
}

// userVerificationOf returns publicKey.authenticatorSelection.userVerification
// of creation options.
func userVerificationOf(t *testing.T, options json.RawMessage) string {
	t.Helper()
	var o struct {
		PublicKey struct {
			AuthenticatorSelection struct {
				UserVerification string `json:"userVerification"`
			} `json:"authenticatorSelection"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatalf("options %s: %v", options, err)
	}
	return o.PublicKey.AuthenticatorSelection.UserVerification
}

// TestConditionalCreateUserVerification: a conditional create holds the
// UV flag to Config.ConditionalCreateUserVerification (default
// UserVerification), and no other ceremony does: with it "preferred", a
// password manager's passkey without UP and UV is added by a conditional
// create, while a plain append, a button login and an autofill login
// without UV are still refused.
func TestConditionalCreateUserVerification(t *testing.T) {
	ctx := t.Context()
	t.Run("default follows UserVerification", func(t *testing.T) {
		c, _ := configServer(t, func(*selfhosted.Config) {})
		sess, err := c.SignUpOrLogin(ctx, "strict@example.com")
		if err != nil {
			t.Fatal(err)
		}
		cer, err := c.StartConditionalAppend(ctx, sess.Token)
		if err != nil {
			t.Fatal(err)
		}
		if got := userVerificationOf(t, cer.Options); got != "required" {
			t.Errorf("conditional create options userVerification %q, want required", got)
		}
		a := c.Authenticator()
		a.UserPresent, a.UserVerified = false, false
		_, err = c.FinishAppend(ctx, sess.Token, create(t, a, cer.Options))
		wantStatus(t, "conditional create without UV", err, 400, "passkey_verification_failed")
		if list, err := c.Passkeys(ctx, sess.Token); err != nil || len(list) != 0 {
			t.Errorf("passkeys after the refused create: %+v, %v", list, err)
		}
	})

	t.Run("preferred for conditional create only", func(t *testing.T) {
		c, url := configServer(t, func(cfg *selfhosted.Config) {
			cfg.ConditionalCreateUserVerification = protocol.VerificationPreferred
		})
		sess, err := c.SignUpOrLogin(ctx, "upgrade@example.com")
		if err != nil {
			t.Fatal(err)
		}
		plain, err := c.StartAppend(ctx, sess.Token)
		if err != nil {
			t.Fatal(err)
		}
		if got := userVerificationOf(t, plain.Options); got != "required" {
			t.Errorf("plain append options userVerification %q, want required", got)
		}
		cer, err := c.StartConditionalAppend(ctx, sess.Token)
		if err != nil {
			t.Fatal(err)
		}
		if got := userVerificationOf(t, cer.Options); got != "preferred" {
			t.Errorf("conditional create options userVerification %q, want preferred", got)
		}
		a := c.Authenticator()
		a.UserPresent, a.UserVerified = false, false
		added, err := c.FinishAppend(ctx, sess.Token, create(t, a, cer.Options))
		if err != nil {
			t.Fatalf("conditional create without UP and UV: %v", err)
		}

		// Every other ceremony still requires UV (and UP).
		a.UserPresent = true
		other := passkeystest.NewClient(url, passkeystest.ClientOptions{Authenticator: passkeystest.New(e2e.Origin)})
		other.Authenticator().UserVerified = false
		_, err = other.FinishAppend(ctx, sess.Token, create(t, other.Authenticator(), plain.Options))
		wantStatus(t, "plain append without UV", err, 400, "passkey_verification_failed")
		_, err = c.LoginWithPasskey(ctx, "upgrade@example.com")
		wantStatus(t, "button login without UV", err, 401, "passkey_verification_failed")
		_, err = c.LoginWithAutofill(ctx)
		wantStatus(t, "autofill login without UV", err, 401, "passkey_verification_failed")
		// The passkey logs in once its authenticator verifies the user.
		a.UserVerified = true
		s, err := c.LoginWithPasskey(ctx, "upgrade@example.com")
		if err != nil || s.User.ID != sess.User.ID {
			t.Fatalf("login with UV: %+v, %v", s, err)
		}
		if list, err := c.Passkeys(ctx, s.Token); err != nil || len(list) != 1 || list[0].ID != added.ID {
			t.Errorf("passkeys: %+v, %v; want only %s", list, err, added.ID)
		}
	})

	t.Run("the two settings are apart", func(t *testing.T) {
		c, _ := configServer(t, func(cfg *selfhosted.Config) {
			cfg.UserVerification = protocol.VerificationPreferred
			cfg.ConditionalCreateUserVerification = protocol.VerificationRequired
		})
		sess, err := c.SignUpOrLogin(ctx, "apart@example.com")
		if err != nil {
			t.Fatal(err)
		}
		a := c.Authenticator()
		a.UserVerified = false
		a.UserPresent = false
		cer, err := c.StartConditionalAppend(ctx, sess.Token)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.FinishAppend(ctx, sess.Token, create(t, a, cer.Options))
		wantStatus(t, "conditional create without UV, required", err, 400, "passkey_verification_failed")
		a.UserPresent = true
		if _, err := c.AppendPasskey(ctx, sess.Token); err != nil {
			t.Errorf("plain append without UV, preferred: %v", err)
		}
	})

	if _, err := selfhosted.New(selfhosted.Config{
		RPID: "example.com", Origins: []string{"https://example.com"}, Store: memstore.New(), OTPSender: e2e.NewMailbox(),
		ConditionalCreateUserVerification: "sometimes",
	}); err == nil || !strings.Contains(err.Error(), `Config.ConditionalCreateUserVerification "sometimes" is not required, preferred or discouraged`) {
		t.Errorf("bad ConditionalCreateUserVerification: %v", err)
	}
}

// create answers creation options with a, failing the test if it cannot.
func create(t *testing.T, a *passkeystest.Authenticator, options json.RawMessage) []byte {
	t.Helper()
	att, err := a.Create(options)
	if err != nil {
		t.Fatal(err)
	}
	return att
}
