package selfhosted_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

const originTestOrigin = "https://localhost"

// originVariants are origins that are not, byte for byte, the configured
// one; go-webauthn alone accepts most of them.
var originVariants = []string{
	"https://localhost/",
	"https://localhost/login",
	"https://localhost?next=/",
	"https://localhost#top",
	"https://user@localhost",
	"https://user:password@localhost",
	"HTTPS://localhost",
	"https://LOCALHOST",
	"https://LocalHost",
	"https://localhost:443",
	"https://localhost:443/",
	"https://localhost:8443",
	"http://localhost",
	"https://localhost.",
	"https://sub.localhost",
	" https://localhost",
}

// TestOriginExact runs append, button login and conditional-UI login with
// each origin variant in clientDataJSON, signed by the software
// authenticator: every one is refused, and the exact origin is accepted.
func TestOriginExact(t *testing.T) {
	for _, st := range testStores {
		t.Run(st.name, func(t *testing.T) {
			s := newTestServer(t, originTestOrigin, st.open(t))
			a := s.signUp("origin@example.com")
			for _, v := range originVariants {
				auth := passkeystest.New(originTestOrigin)
				att, err := auth.Create(s.appendOptions(a), passkeystest.Tamper{Origin: v})
				if err != nil {
					t.Fatal(err)
				}
				r := s.post("/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, a.token)
				expectStatus(t, fmt.Sprintf("append with origin %q", v), r, 400, "passkey_verification_failed")
			}
			if n := s.passkeyCount(a); n != 0 {
				t.Errorf("%d passkeys stored by appends with other origins", n)
			}

			auth := passkeystest.New(originTestOrigin)
			att, err := auth.Create(s.appendOptions(a))
			if err != nil {
				t.Fatal(err)
			}
			expectStatus(t, "append with the exact origin", s.post("/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, a.token), 200, "")
			for _, path := range []string{"login", "mediation"} {
				for _, v := range originVariants {
					resp, err := auth.Get(s.loginOptions(path, a), passkeystest.Tamper{Origin: v})
					if err != nil {
						t.Fatal(err)
					}
					r := s.post("/passkey/"+path+"/finish", map[string]json.RawMessage{"assertionResponse": resp}, "")
					expectStatus(t, fmt.Sprintf("%s with origin %q", path, v), r, 401, "passkey_verification_failed")
				}
				resp, err := auth.Get(s.loginOptions(path, a))
				if err != nil {
					t.Fatal(err)
				}
				r := s.post("/passkey/"+path+"/finish", map[string]json.RawMessage{"assertionResponse": resp}, "")
				expectStatus(t, path+" with the exact origin", r, 200, "")
			}
		})
	}
}

// TestOriginDuplicateMembers signs clientDataJSON that names its origin
// twice, or in two cases: encoding/json, and so go-webauthn, would read
// the last or the case-folded one; the engine refuses them all.
func TestOriginDuplicateMembers(t *testing.T) {
	s := newTestServer(t, originTestOrigin, memstore.New())
	a := s.signUp("dup@example.com")
	variants := []string{
		`{"type":%q,"challenge":%q,"origin":"https://evil.example","origin":"https://localhost","crossOrigin":false}`,
		`{"type":%q,"challenge":%q,"origin":"https://localhost","origin":"https://localhost","crossOrigin":false}`,
		`{"type":%q,"challenge":%q,"origin":"https://localhost","Origin":"https://evil.example","crossOrigin":false}`,
		`{"type":%q,"challenge":%q,"ORIGIN":"https://localhost","crossOrigin":false}`,
		`{"type":%q,"challenge":%q,"challenge":"AAAA","origin":"https://localhost","crossOrigin":false}`,
	}
	clientData := func(format, typ string, opts []byte) []byte {
		var o struct {
			PublicKey struct {
				Challenge string `json:"challenge"`
			} `json:"publicKey"`
		}
		if err := json.Unmarshal(opts, &o); err != nil {
			t.Fatal(err)
		}
		return fmt.Appendf(nil, format, typ, o.PublicKey.Challenge)
	}
	for _, f := range variants {
		auth := newES256Authenticator(t, originTestOrigin)
		opts := s.appendOptions(a)
		r := s.post("/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": auth.create(t, opts, clientData(f, "webauthn.create", opts))}, a.token)
		expectStatus(t, "append "+f, r, 400, "passkey_verification_failed")
	}
	auth := newES256Authenticator(t, originTestOrigin)
	expectStatus(t, "honest append", s.post("/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": auth.create(t, s.appendOptions(a), nil)}, a.token), 200, "")
	for _, path := range []string{"login", "mediation"} {
		for _, f := range variants {
			opts := s.loginOptions(path, a)
			r := s.post("/passkey/"+path+"/finish", map[string]json.RawMessage{"assertionResponse": auth.get(t, opts, clientData(f, "webauthn.get", opts))}, "")
			expectStatus(t, path+" "+f, r, 401, "passkey_verification_failed")
		}
		r := s.post("/passkey/"+path+"/finish", map[string]json.RawMessage{"assertionResponse": auth.get(t, s.loginOptions(path, a), nil)}, "")
		expectStatus(t, "honest "+path, r, 200, "")
	}
}

// TestNewRefusesNonCanonicalOrigins: configured origins that no browser
// sends are a start-up error naming the field.
func TestNewRefusesNonCanonicalOrigins(t *testing.T) {
	for _, o := range []string{"https://localhost:443", "HTTPS://localhost", "http://localhost:80", "http://localhost:03000", "https://localhost:"} {
		_, err := selfhosted.New(selfhosted.Config{
			RPID: "localhost", Origins: []string{o}, Store: memstore.New(), OTPSender: &codeBox{},
		})
		if err == nil || !strings.Contains(err.Error(), "Config.Origins") {
			t.Errorf("origin %q: %v, want an error naming Config.Origins", o, err)
		}
	}
}
