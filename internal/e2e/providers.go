package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest"
)

var providerTests = []struct {
	name string
	fn   func(*testing.T, Setup)
}{
	{"ProviderNameAndIcons", testProviderNameAndIcons},
	{"ConditionalCreate", testConditionalCreate},
}

// googlePasswordManager is the AAGUID of Google Password Manager.
var googlePasswordManager = uuid.MustParse("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4")

func testProviderNameAndIcons(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	ctx := t.Context()
	a := s.signUp("gpm@example.com")
	a.auth.AAGUID = googlePasswordManager
	added, err := a.c.AppendPasskey(ctx, a.token)
	check(t, "append GPM passkey", err, 200, "")
	wantProvider := func(what string, p passkeys.Passkey) {
		t.Helper()
		if p.Name != "Google Password Manager" || p.AAGUID != googlePasswordManager.String() {
			t.Errorf("%s: name %q aaguid %q, want Google Password Manager, %s", what, p.Name, p.AAGUID, googlePasswordManager)
		}
		pr := p.Provider
		if pr == nil || pr.Name != "Google Password Manager" {
			t.Fatalf("%s: provider %+v, want Google Password Manager", what, pr)
		}
		for _, icon := range []string{pr.IconLight, pr.IconDark} {
			if !strings.HasPrefix(icon, "data:image/svg+xml;base64,") || len(icon) < 100 {
				t.Errorf("%s: icon %.60q, want an SVG data URI", what, icon)
			}
		}
	}
	wantProvider("append answer", added)
	list := s.passkeys(a)
	if len(list) != 1 {
		t.Fatalf("list: %+v", list)
	}
	wantProvider("list", list[0])
	if *list[0].Provider != *added.Provider {
		t.Errorf("list provider %+v differs from the append answer's %+v", list[0].Provider, added.Provider)
	}
	r := s.do(http.MethodGet, "/auth/account", nil, a.token)
	expect(t, "account", r, 200, "")
	if pks, _ := r.get("passkeys").([]any); len(pks) == 1 {
		pr, _ := pks[0].(map[string]any)["provider"].(map[string]any)
		if pr["name"] != "Google Password Manager" || pr["iconLight"] != added.Provider.IconLight || pr["iconDark"] != added.Provider.IconDark {
			t.Errorf("account export passkey provider: %v", pks[0])
		}
	} else {
		t.Errorf("account export passkeys: %s", r.raw)
	}

	// No AAGUID and an AAGUID the list does not know: no provider, a name
	// from the user agent, and no provider member on the wire.
	for _, tc := range []struct {
		email  string
		aaguid uuid.UUID
	}{
		{"zero@example.com", uuid.Nil},
		{"unknown@example.com", uuid.MustParse("0badc0de-0000-4000-8000-000000000001")},
	} {
		b := s.signUp(tc.email)
		b.auth.AAGUID = tc.aaguid
		p, err := b.c.AppendPasskey(ctx, b.token)
		check(t, tc.email+" append", err, 200, "")
		if p.Provider != nil || p.Name == "" || p.Name == "Google Password Manager" {
			t.Errorf("%s: passkey %+v, want no provider and a user-agent name", tc.email, p)
		}
		r := s.do(http.MethodGet, "/auth/passkeys", nil, b.token)
		expect(t, tc.email+" list", r, 200, "")
		if strings.Contains(string(r.raw), `"provider"`) {
			t.Errorf("%s: list carries a provider: %s", tc.email, r.raw)
		}
	}
}

func testConditionalCreate(t *testing.T, setup Setup) {
	s := newServer(t, setup, nil)
	ctx := t.Context()
	a := s.signUp("upgrade@example.com")
	for _, m := range []any{"silent", "optional", "required", "Conditional", "", 42} {
		if m == "" {
			continue // absent, the plain start
		}
		r := s.post("/auth/passkey/append/start", map[string]any{"mediation": m}, a.token)
		expect(t, fmt.Sprintf("mediation %#v", m), r, 400, "invalid_request")
	}

	if _, ok := s.backend.(passkeys.ConditionalAppender); !ok {
		r := s.post("/auth/passkey/append/start", map[string]any{"mediation": "conditional"}, a.token)
		expect(t, "conditional start on a backend without it", r, 400, "not_supported")
		if len(s.passkeys(a)) != 0 {
			t.Errorf("a refused conditional start added a passkey")
		}
		return
	}

	cer, err := a.c.StartConditionalAppend(ctx, a.token)
	check(t, "conditional start", err, 200, "")
	if got := field(cer.Options, "mediation"); got != "conditional" {
		t.Errorf("attestationOptions.mediation %v, want conditional: %s", got, cer.Options)
	}
	if field(cer.Options, "publicKey", "challenge") == nil {
		t.Fatalf("attestationOptions.publicKey incomplete: %s", cer.Options)
	}
	if got := field(s.appendOptions(a), "mediation"); got != nil {
		t.Errorf("plain append options carry mediation %v", got)
	}

	// The password manager creates it without asking: UP clear.
	a.auth.UserPresent = false
	att, err := a.auth.Create(cer.Options)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.c.FinishAppend(ctx, a.token, att)
	check(t, "conditional finish without user presence", err, 200, "")
	if list := s.passkeys(a); len(list) != 1 || list[0].ID != p.ID {
		t.Fatalf("list after conditional create: %+v (added %+v)", list, p)
	}

	// Without user presence, every other ceremony is refused.
	_, err = s.finish("login", assertion(t, a.auth, s.loginOptions(a)))
	check(t, "button login without user presence", err, 401, "passkey_verification_failed")
	_, err = s.finish("mediation", assertion(t, a.auth, s.mediationOptions()))
	check(t, "autofill login without user presence", err, 401, "passkey_verification_failed")
	b := s.signUp("plain@example.com")
	b.auth.UserPresent = false
	err = s.finishAppend(b, must(b.auth.Create(s.appendOptions(b))))
	check(t, "plain append without user presence", err, 400, "passkey_verification_failed")
	// The ceremony kind is the server's: a client cannot ask for it at finish.
	r := s.post("/auth/passkey/append/finish", map[string]any{"attestationResponse": must(b.auth.Create(s.appendOptions(b))), "mediation": "conditional"}, b.token)
	expect(t, "mediation member at finish", r, 400, "invalid_request")
	if list := s.passkeys(b); len(list) != 0 {
		t.Errorf("refused appends stored %+v", list)
	}

	// Everything else is still verified on a conditional create: user
	// verification as configured, the origin, the challenge.
	c := s.signUp("cond-checks@example.com")
	c.auth.UserPresent, c.auth.UserVerified = false, false
	err = s.finishAppend(c, must(c.auth.Create(must(c.c.StartConditionalAppend(ctx, c.token)).Options)))
	check(t, "conditional create without user verification", err, 400, "passkey_verification_failed")
	c.auth.UserVerified = true
	err = s.finishAppend(c, must(c.auth.Create(must(c.c.StartConditionalAppend(ctx, c.token)).Options, passkeystest.Tamper{Origin: "https://evil.example"})))
	check(t, "conditional create from another origin", err, 400, "passkey_verification_failed")
	cond := must(c.c.StartConditionalAppend(ctx, c.token)).Options
	att = must(c.auth.Create(cond))
	check(t, "conditional create", s.finishAppend(c, att), 200, "")
	check(t, "conditional create replayed", s.finishAppend(c, att), 400, "passkey_verification_failed")
	if list := s.passkeys(c); len(list) != 1 {
		t.Errorf("conditional checks stored %d passkeys, want 1", len(list))
	}

	// With user presence the upgraded passkey logs in.
	a.auth.UserPresent = true
	_, err = a.c.LoginWithPasskey(ctx, a.email)
	check(t, "login with the upgraded passkey", err, 200, "")
}
