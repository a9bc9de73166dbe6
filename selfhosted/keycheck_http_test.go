package selfhosted_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/passkeyready/passkeys/internal/rawauthn"
	"github.com/passkeyready/passkeys/selfhosted"
)

const keyTestOrigin = "http://localhost:3000"

// TestAppendRefusesBadKeys registers passkeys whose attestation carries a
// malformed or weak public key: each is 400 passkey_verification_failed
// and nothing is stored.
func TestAppendRefusesBadKeys(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := k.PublicKey.Bytes()
	x, y := raw[1:33], raw[33:]
	offCurve := new(big.Int).Add(new(big.Int).SetBytes(y), big.NewInt(1)).FillBytes(make([]byte, 32))
	rsa1024 := rsaKey(t, 1024)
	rsa2048 := rsaKey(t, 2048)
	smallOrder := make([]byte, 32)
	smallOrder[0] = 1 // the neutral element
	bad := []struct {
		name string
		cose []byte
	}{
		{"EC2 point not on the curve", rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x, -3, offCurve)},
		{"EC2 short coordinate", rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x[1:], -3, y)},
		{"EC2 unknown curve", rawauthn.Map(1, 2, 3, -7, -1, 42, -2, x, -3, y)},
		{"EC2 curve P-384 for ES256", rawauthn.Map(1, 2, 3, -7, -1, 2, -2, x, -3, y)},
		{"kty EC2 with alg RS256", rawauthn.Map(1, 2, 3, -257, -1, 1, -2, x, -3, y)},
		{"kty RSA with alg ES256", rawauthn.Map(1, 3, 3, -7, -1, rsa2048.N.Bytes(), -2, []byte{1, 0, 1})},
		{"kty OKP with alg ES256", rawauthn.Map(1, 1, 3, -7, -1, 6, -2, x)},
		{"unknown kty", rawauthn.Map(1, 9, 3, -7, -1, 1, -2, x, -3, y)},
		{"RSA 1024-bit", newRSAAuthenticator(keyTestOrigin, rsa1024).cose},
		{"RSA exponent 1", rawauthn.Map(1, 3, 3, -257, -1, rsa2048.N.Bytes(), -2, []byte{1})},
		{"RSA exponent 3", rawauthn.Map(1, 3, 3, -257, -1, rsa2048.N.Bytes(), -2, []byte{3})},
		{"short Ed25519", rawauthn.Map(1, 1, 3, -8, -1, 6, -2, x[:31])},
		{"Ed25519 of small order", rawauthn.Map(1, 1, 3, -8, -1, 6, -2, smallOrder)},
		{"EC2 with private key", rawauthn.Map(1, 2, 3, -7, -1, 1, -2, x, -3, y, -4, x)},
	}
	for _, st := range testStores {
		t.Run(st.name, func(t *testing.T) {
			s := newTestServer(t, keyTestOrigin, st.open(t))
			a := s.signUp("keys@example.com")
			for _, b := range bad {
				auth := newES256Authenticator(t, keyTestOrigin)
				auth.cose = b.cose
				r := s.post("/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": auth.create(t, s.appendOptions(a), nil)}, a.token)
				expectStatus(t, b.name, r, 400, "passkey_verification_failed")
			}
			if n := s.passkeyCount(a); n != 0 {
				t.Errorf("%d passkeys stored, want 0", n)
			}
		})
	}
}

// TestGoodKeysRegisterAndLogIn registers an ES256, an EdDSA and an RS256
// passkey by hand and logs in with each, by button and by conditional UI.
func TestGoodKeysRegisterAndLogIn(t *testing.T) {
	for _, st := range testStores {
		t.Run(st.name, func(t *testing.T) {
			s := newTestServer(t, keyTestOrigin, st.open(t))
			for _, tc := range []struct {
				name string
				auth *rawAuthenticator
			}{
				{"ES256", newES256Authenticator(t, keyTestOrigin)},
				{"EdDSA", newEd25519Authenticator(t, keyTestOrigin)},
				{"RS256", newRSAAuthenticator(keyTestOrigin, rsaKey(t, 2048))},
			} {
				a := s.signUp(strings.ToLower(tc.name) + "@example.com")
				r := s.post("/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": tc.auth.create(t, s.appendOptions(a), nil)}, a.token)
				expectStatus(t, tc.name+" append", r, 200, "")
				for _, path := range []string{"login", "mediation"} {
					r := s.post("/passkey/"+path+"/finish", map[string]json.RawMessage{"assertionResponse": tc.auth.get(t, s.loginOptions(path, a), nil)}, "")
					expectStatus(t, tc.name+" "+path, r, 200, "")
				}
			}
		})
	}
}

// TestWeakRSAKeyNeverLogsIn: a 1024-bit RSA passkey is not stored, so
// neither login finds it; and one already in the store (written before keys
// were checked) does not log in either.
func TestWeakRSAKeyNeverLogsIn(t *testing.T) {
	for _, st := range testStores {
		t.Run(st.name, func(t *testing.T) {
			store := st.open(t)
			s := newTestServer(t, keyTestOrigin, store)
			a := s.signUp("weak@example.com")
			auth := newRSAAuthenticator(keyTestOrigin, rsaKey(t, 1024))
			r := s.post("/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": auth.create(t, s.appendOptions(a), nil)}, a.token)
			expectStatus(t, "append", r, 400, "passkey_verification_failed")
			r = s.post("/passkey/login/start", map[string]string{"email": a.email}, "")
			if r.status != 200 || string(r.body["loginAllow"]) != "false" {
				t.Errorf("login start after a refused append: %d %s, want loginAllow false", r.status, r.raw)
			}
			r = s.post("/passkey/mediation/finish", map[string]json.RawMessage{"assertionResponse": auth.get(t, s.loginOptions("mediation", a), nil)}, "")
			// It was never stored: no account owns it.
			expectStatus(t, "mediation with the refused key", r, 401, "unknown_credential")

			// The same key written to the store directly.
			cred, err := json.Marshal(webauthn.Credential{ID: auth.id, PublicKey: auth.cose, AttestationType: "none"})
			if err != nil {
				t.Fatal(err)
			}
			err = store.AddCredential(t.Context(), selfhosted.CredentialRecord{
				ID: auth.id, UserID: a.id, Name: "legacy", Data: cred, CreatedAt: time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC),
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{"login", "mediation"} {
				r := s.post("/passkey/"+path+"/finish", map[string]json.RawMessage{"assertionResponse": auth.get(t, s.loginOptions(path, a), nil)}, "")
				expectStatus(t, "stored weak key, "+path, r, 401, "passkey_verification_failed")
			}
		})
	}
}

// rsaKey returns an RSA key of the given size, made once per test binary.
func rsaKey(t testing.TB, bits int) *rsa.PrivateKey {
	rsaKeysMu.Lock()
	defer rsaKeysMu.Unlock()
	if k := rsaKeysMade[bits]; k != nil {
		return k
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	rsaKeysMade[bits] = k
	return k
}
