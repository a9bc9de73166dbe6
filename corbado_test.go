package passkeys_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/passkeystest/corbadotest"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/corbadospec"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

// corbadoEmulator starts an emulator on env's clock and mailbox. It fails
// t on every request or response that does not match the OpenAPI
// description when CORBADO_SPEC_DIR is set.
func corbadoEmulator(t *testing.T, env *e2e.Env) (*corbadotest.Emulator, *httptest.Server) {
	t.Helper()
	rp := e2e.RP()
	emu, err := corbadotest.New(corbadotest.Options{
		RPID: rp.RPID, Origins: rp.Origins, AndroidApps: rp.AndroidApps, RelatedOrigins: rp.RelatedOrigins,
		Clock: env.Clock.Now, OnOTP: env.Mailbox.Deliver, Errorf: t.Errorf,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(emu)
	t.Cleanup(ts.Close)
	return emu, ts
}

// specClient returns an HTTP client that checks each request it sends and
// each response it gets against the OpenAPI description, or nil (the
// default client) when the checks are off (see corbadospec.FromEnv).
func specClient(t *testing.T) *http.Client {
	t.Helper()
	spec, err := corbadospec.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if spec == nil {
		return nil
	}
	return &http.Client{Transport: spec.Transport(nil)}
}

// corbadoOn returns the Corbado backend pointed at the emulator at url.
func corbadoOn(t *testing.T, env *e2e.Env, emu *corbadotest.Emulator, url string, mod func(*passkeys.CorbadoOptions)) *passkeys.Corbado {
	t.Helper()
	o := passkeys.CorbadoOptions{
		ProjectID: emu.ProjectID(), APISecret: emu.APISecret(), BaseURL: url,
		HTTPClient: specClient(t), Clock: env.Clock.Now,
	}
	if mod != nil {
		mod(&o)
	}
	b, err := passkeys.NewCorbado(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCorbadoEndToEnd(t *testing.T) {
	e2e.Run(t, func(t *testing.T, env *e2e.Env) e2e.Target {
		emu, ts := corbadoEmulator(t, env)
		return e2e.Target{Backend: corbadoOn(t, env, emu, ts.URL, nil), Sessions: hostSessions(t, env), UpstreamOrigins: true,
			Activity: selfhosted.NewActivitySink(memstore.New(), nil)}
	})
}

// Two instances of the Corbado backend on one emulator (one Corbado
// project), whose host keeps its sessions and its audit trail in one
// shared store.
func TestCorbadoEndToEndShared(t *testing.T) {
	e2e.RunShared(t, func(t *testing.T, env *e2e.Env) (e2e.Target, e2e.Target) {
		emu, ts := corbadoEmulator(t, env)
		store := memstore.New()
		target := func() e2e.Target {
			s, err := selfhosted.NewSessions(store, selfhosted.SessionsConfig{Clock: env.Clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			return e2e.Target{Backend: corbadoOn(t, env, emu, ts.URL, nil), Sessions: s, UpstreamOrigins: true,
				Activity: selfhosted.NewActivitySink(store, nil)}
		}
		return target(), target()
	})
}

// hostSessions is the host's session system beside Corbado, which keeps no
// sessions: the revocable sessions of selfhosted.NewSessions on a memstore.
func hostSessions(t *testing.T, env *e2e.Env) *selfhosted.Sessions {
	t.Helper()
	s, err := selfhosted.NewSessions(memstore.New(), selfhosted.SessionsConfig{Clock: env.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewCorbadoValidates(t *testing.T) {
	const secret = "corbado1_s3cr3tValueThatMustNotLeak"
	ok := passkeys.CorbadoOptions{ProjectID: "pro-1234567890", APISecret: secret}
	for _, tc := range []struct {
		name string
		mod  func(*passkeys.CorbadoOptions)
		want string // "" means valid
	}{
		{"defaults", func(*passkeys.CorbadoOptions) {}, ""},
		{"https with a path", func(o *passkeys.CorbadoOptions) { o.BaseURL = "https://corbado.example.com/api" }, ""},
		{"http on loopback", func(o *passkeys.CorbadoOptions) { o.BaseURL = "http://127.0.0.1:8080" }, ""},
		{"http on localhost with /v2", func(o *passkeys.CorbadoOptions) { o.BaseURL = "http://localhost:8080/v2/" }, ""},
		{"http on IPv6 loopback", func(o *passkeys.CorbadoOptions) { o.BaseURL = "http://[::1]:8080" }, ""},
		{"no project ID", func(o *passkeys.CorbadoOptions) { o.ProjectID = "" }, "CorbadoOptions.ProjectID is required"},
		{"project ID without pro-", func(o *passkeys.CorbadoOptions) { o.ProjectID = "1234567890" }, "CorbadoOptions.ProjectID"},
		{"project ID with letters", func(o *passkeys.CorbadoOptions) { o.ProjectID = "pro-12ab" }, "CorbadoOptions.ProjectID"},
		{"project ID with only the prefix", func(o *passkeys.CorbadoOptions) { o.ProjectID = "pro-" }, "CorbadoOptions.ProjectID"},
		{"no secret", func(o *passkeys.CorbadoOptions) { o.APISecret = "" }, "CorbadoOptions.APISecret is required"},
		{"secret of another kind", func(o *passkeys.CorbadoOptions) { o.APISecret = "sk_live_s3cr3tValueThatMustNotLeak" }, "CorbadoOptions.APISecret"},
		{"secret with only the prefix", func(o *passkeys.CorbadoOptions) { o.APISecret = "corbado1_" }, "CorbadoOptions.APISecret"},
		{"relative base URL", func(o *passkeys.CorbadoOptions) { o.BaseURL = "backendapi.cloud.corbado.io" }, "CorbadoOptions.BaseURL"},
		{"base URL with query", func(o *passkeys.CorbadoOptions) { o.BaseURL = "https://corbado.example.com?x=1" }, "CorbadoOptions.BaseURL"},
		{"base URL with fragment", func(o *passkeys.CorbadoOptions) { o.BaseURL = "https://corbado.example.com#x" }, "CorbadoOptions.BaseURL"},
		{"base URL with user info", func(o *passkeys.CorbadoOptions) { o.BaseURL = "https://pro-1:" + secret + "@corbado.example.com" }, "CorbadoOptions.BaseURL"},
		{"plain http off loopback", func(o *passkeys.CorbadoOptions) { o.BaseURL = "http://corbado.example.com" }, "CorbadoOptions.BaseURL"},
		{"http on a lookalike host", func(o *passkeys.CorbadoOptions) { o.BaseURL = "http://localhost.example.com" }, "CorbadoOptions.BaseURL"},
		{"other scheme", func(o *passkeys.CorbadoOptions) { o.BaseURL = "ftp://corbado.example.com" }, "CorbadoOptions.BaseURL"},
		{"negative timeout", func(o *passkeys.CorbadoOptions) { o.Timeout = -time.Second }, "CorbadoOptions.Timeout"},
		{"negative cooldown", func(o *passkeys.CorbadoOptions) { o.OTPCooldown = -time.Second }, "CorbadoOptions.OTPCooldown"},
		{"validity under a second", func(o *passkeys.CorbadoOptions) { o.OTPValidity = time.Millisecond }, "CorbadoOptions.OTPValidity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.mod(&o)
			_, err := passkeys.NewCorbado(o)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("NewCorbado: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("NewCorbado: %v, want an error naming %q", err, tc.want)
			case err != nil && strings.Contains(err.Error(), "s3cr3tValueThatMustNotLeak"):
				t.Errorf("the error holds the secret: %v", err)
			}
		})
	}
}

// The requests carry the credentials and a User-Agent naming the library,
// and a base URL given with its /v2 works as one without.
func TestCorbadoRequestHeaders(t *testing.T) {
	env := &e2e.Env{Clock: e2e.NewClock(), Mailbox: e2e.NewMailbox()}
	emu, ts := corbadoEmulator(t, env)
	var agents []string
	var mu sync.Mutex
	emu.SetIntercept(func(_ http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		agents = append(agents, r.UserAgent())
		return false
	})
	b := corbadoOn(t, env, emu, ts.URL+"/v2/", nil)
	if _, err := b.StartOTP(context.Background(), "ua@example.com", passkeys.Client{RemoteAddr: "192.0.2.1", UserAgent: "Mozilla/5.0"}); err != nil {
		t.Fatal(err)
	}
	if len(env.Mailbox.Codes("ua@example.com")) != 1 {
		t.Error("no code was sent")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(agents) == 0 {
		t.Fatal("no request reached the emulator")
	}
	for _, ua := range agents {
		if !strings.HasPrefix(ua, "passkeys-go/") {
			t.Errorf("User-Agent %q, want passkeys-go/<version>", ua)
		}
	}
}

// With CORBADO_SPEC_DIR set, both sides check the wire format: the
// client's transport refuses a request off the description before sending
// it, and the emulator answers one with 400 and reports it.
func TestCorbadoSpecValidation(t *testing.T) {
	corbadospec.ForTest(t)
	var reports []string
	var mu sync.Mutex
	emu, err := corbadotest.New(corbadotest.Options{
		RPID: e2e.RPID, Origins: []string{e2e.Origin},
		Errorf: func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			reports = append(reports, fmt.Sprintf(format, args...))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(emu)
	t.Cleanup(ts.Close)
	send := func(c *http.Client, body string) (*http.Response, error) {
		req, err := http.NewRequest("POST", ts.URL+"/v2/passkey/mediation/start", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth(emu.ProjectID(), emu.APISecret())
		return c.Do(req)
	}
	// clientInformation is required.
	if res, err := send(specClient(t), `{}`); err == nil || !strings.Contains(err.Error(), "does not match") {
		if res != nil {
			res.Body.Close()
		}
		t.Errorf("the checking client sent a malformed request: %v", err)
	}
	mu.Lock()
	n := len(reports)
	mu.Unlock()
	if n != 0 {
		t.Errorf("the malformed request reached the emulator: %q", reports)
	}
	res, err := send(http.DefaultClient, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var rsp struct {
		Error struct{ Type, Details string }
	}
	_ = json.NewDecoder(res.Body).Decode(&rsp)
	if res.StatusCode != 400 || rsp.Error.Type != "validation_error" || !strings.Contains(rsp.Error.Details, "clientInformation") {
		t.Errorf("malformed request answered %d %+v", res.StatusCode, rsp)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) != 1 || !strings.Contains(reports[0], "does not match the OpenAPI description") {
		t.Errorf("emulator reports %q, want one mismatch", reports)
	}
	// A well-formed request passes both.
	res2, err := send(specClient(t), `{"clientInformation":{"remoteAddress":"192.0.2.1","userAgent":"x","userVerifyingPlatformAuthenticatorAvailable":true,"conditionalMediationAvailable":true,"parsedDeviceInfo":{"browserName":"","browserVersion":"","osName":"","osVersion":""}}}`)
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != 200 {
		t.Errorf("well-formed request: %d", res2.StatusCode)
	}
}
