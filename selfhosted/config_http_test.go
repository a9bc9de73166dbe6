package selfhosted_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
