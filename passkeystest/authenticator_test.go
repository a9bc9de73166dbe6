package passkeystest_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/passkeyready/passkeys/passkeystest"
)

const (
	rpID   = "example.test"
	origin = "https://example.test"
)

// user is a relying party account as go-webauthn sees it.
type user struct {
	id    []byte
	name  string
	creds []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.id }
func (u *user) WebAuthnName() string                       { return u.name }
func (u *user) WebAuthnDisplayName() string                { return u.name }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// store records c as a server does after a ceremony: it replaces the stored
// credential with the same id or adds it.
func (u *user) store(c *webauthn.Credential) {
	i := slices.IndexFunc(u.creds, func(s webauthn.Credential) bool { return bytes.Equal(s.ID, c.ID) })
	if i < 0 {
		u.creds = append(u.creds, *c)
		return
	}
	u.creds[i] = *c
}

// relyingParty is a go-webauthn relying party with its accounts.
type relyingParty struct {
	w     *webauthn.WebAuthn
	users []*user
}

// newRelyingParty returns a relying party for rpID requiring resident keys
// and user verification, with accounts alice and bob.
func newRelyingParty(t *testing.T, origins ...string) *relyingParty {
	t.Helper()
	if len(origins) == 0 {
		origins = []string{origin}
	}
	w, err := webauthn.New(&webauthn.Config{
		RPID:          rpID,
		RPDisplayName: "Example",
		RPOrigins:     origins,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationRequired,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &relyingParty{w: w, users: []*user{
		{id: []byte("user-alice-0001"), name: "alice"},
		{id: []byte("user-bob-000002"), name: "bob"},
	}}
}

// register runs a registration ceremony for u through a and stores the
// credential on success.
func (rp *relyingParty) register(a *passkeystest.Authenticator, u *user, tp ...passkeystest.Tamper) (*webauthn.Credential, error) {
	creation, session, err := rp.w.BeginRegistration(u)
	if err != nil {
		return nil, err
	}
	options, err := json.Marshal(creation)
	if err != nil {
		return nil, err
	}
	resp, err := a.Create(options, tp...)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(resp)
	if err != nil {
		return nil, err
	}
	cred, err := rp.w.CreateCredential(u, *session, parsed)
	if err != nil {
		return nil, err
	}
	u.store(cred)
	return cred, nil
}

// mustRegister is register failing the test on error.
func (rp *relyingParty) mustRegister(t *testing.T, a *passkeystest.Authenticator, u *user) *webauthn.Credential {
	t.Helper()
	cred, err := rp.register(a, u)
	if err != nil {
		t.Fatalf("register %s: %v", u.name, err)
	}
	return cred
}

// login runs a login ceremony through a: for u with allowCredentials, or a
// discoverable one when u is nil. It returns the signed-in user and stores
// the updated credential on success.
func (rp *relyingParty) login(a *passkeystest.Authenticator, u *user, tp ...passkeystest.Tamper) (*user, *webauthn.Credential, error) {
	var (
		assertion *protocol.CredentialAssertion
		session   *webauthn.SessionData
		err       error
	)
	if u != nil {
		assertion, session, err = rp.w.BeginLogin(u)
	} else {
		assertion, session, err = rp.w.BeginDiscoverableLogin()
	}
	if err != nil {
		return nil, nil, err
	}
	options, err := json.Marshal(assertion)
	if err != nil {
		return nil, nil, err
	}
	resp, err := a.Get(options, tp...)
	if err != nil {
		return nil, nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(resp)
	if err != nil {
		return nil, nil, err
	}
	var cred *webauthn.Credential
	if u != nil {
		cred, err = rp.w.ValidateLogin(u, *session, parsed)
	} else {
		var found webauthn.User
		found, cred, err = rp.w.ValidatePasskeyLogin(rp.byHandle, *session, parsed)
		if err == nil {
			u = found.(*user)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	u.store(cred)
	return u, cred, nil
}

// byHandle is the discoverable-login user lookup.
func (rp *relyingParty) byHandle(_, userHandle []byte) (webauthn.User, error) {
	for _, u := range rp.users {
		if bytes.Equal(u.id, userHandle) {
			return u, nil
		}
	}
	return nil, errors.New("no such user")
}

// flows names the two login ceremonies: with allowCredentials for a known
// user, and discoverable.
var flows = []struct {
	name         string
	discoverable bool
}{{"allowCredentials", false}, {"discoverable", true}}

// loginUser returns u for the allowCredentials flow and nil for the
// discoverable one.
func loginUser(discoverable bool, u *user) *user {
	if discoverable {
		return nil
	}
	return u
}

func TestRegisterThenLogin(t *testing.T) {
	rp := newRelyingParty(t)
	alice := rp.users[0]
	a := passkeystest.New(origin)
	a.BackupEligible = true
	a.BackedUp = true

	cred := rp.mustRegister(t, a, alice)
	if cred.AttestationType != "none" || cred.AttestationFormat != "none" {
		t.Errorf("attestation type/format = %q/%q, want none/none", cred.AttestationType, cred.AttestationFormat)
	}
	if !cred.Flags.UserPresent || !cred.Flags.UserVerified || !cred.Flags.BackupEligible || !cred.Flags.BackupState {
		t.Errorf("flags = %+v, want UP, UV, BE and BS", cred.Flags)
	}
	if cred.Authenticator.SignCount != 0 {
		t.Errorf("registration sign count = %d, want 0", cred.Authenticator.SignCount)
	}
	if !slices.Contains(cred.Transport, protocol.Internal) {
		t.Errorf("transports = %v, want internal", cred.Transport)
	}
	held := a.Credentials()
	if len(held) != 1 || !bytes.Equal(held[0].ID, cred.ID) || held[0].RPID != rpID || !bytes.Equal(held[0].UserHandle, alice.id) {
		t.Fatalf("Credentials() = %+v, want one for %s bound to %q and alice", held, b64(cred.ID), rpID)
	}

	for i, flow := range flows {
		got, cred, err := rp.login(a, loginUser(flow.discoverable, alice))
		if err != nil {
			t.Fatalf("%s login: %v", flow.name, err)
		}
		if got != alice {
			t.Errorf("%s login signed in %s, want alice", flow.name, got.name)
		}
		want := uint32(i + 1)
		if cred.Authenticator.SignCount != want || cred.Authenticator.CloneWarning {
			t.Errorf("%s login: sign count %d (clone warning %v), want %d", flow.name, cred.Authenticator.SignCount, cred.Authenticator.CloneWarning, want)
		}
		if n := a.Credentials()[0].SignCount; n != want {
			t.Errorf("%s login: held sign count %d, want %d", flow.name, n, want)
		}
	}
}

func TestRegistrationResponseJSON(t *testing.T) {
	a := passkeystest.New(origin)
	a.AAGUID = [16]byte{0xad, 0xce, 0x00, 0x02, 0x35, 0xbc, 0xc6, 0x0a, 0x64, 0x8b, 0x0b, 0x25, 0xf1, 0xf0, 0x55, 0x03}
	challenge := b64([]byte("registration-challenge-32-bytes!"))
	options := fmt.Sprintf(`{"publicKey":{"rp":{"id":%q,"name":"Example"},"user":{"id":%q,"name":"alice","displayName":"Alice"},"challenge":%q,"pubKeyCredParams":[{"type":"public-key","alg":-257},{"type":"public-key","alg":-7}]}}`,
		rpID, b64([]byte("alice")), challenge)
	resp, err := a.Create([]byte(options))
	if err != nil {
		t.Fatal(err)
	}

	r := decodeCredential(t, resp)
	assertKeys(t, mustJSON(t, r.Response), "clientDataJSON", "attestationObject", "transports", "publicKeyAlgorithm", "publicKey", "authenticatorData")
	if r.Type != "public-key" || r.AuthenticatorAttachment != "platform" || string(r.ClientExtensionResults) != "{}" {
		t.Errorf("type %q, attachment %q, extensions %s; want public-key, platform, {}", r.Type, r.AuthenticatorAttachment, r.ClientExtensionResults)
	}
	if string(r.Response["transports"]) != `["internal"]` || string(r.Response["publicKeyAlgorithm"]) != "-7" {
		t.Errorf("transports %s, publicKeyAlgorithm %s; want [\"internal\"], -7", r.Response["transports"], r.Response["publicKeyAlgorithm"])
	}
	id := unb64(t, r.ID)
	if len(id) != 32 || r.RawID != r.ID {
		t.Errorf("id %q (%d bytes), rawId %q; want equal, 32 bytes", r.ID, len(id), r.RawID)
	}

	clientDataJSON := unb64(t, field(t, r.Response, "clientDataJSON"))
	wantClientData := `{"type":"webauthn.create","challenge":"` + challenge + `","origin":"https://example.test","crossOrigin":false}`
	if string(clientDataJSON) != wantClientData {
		t.Errorf("clientDataJSON = %s\nwant %s", clientDataJSON, wantClientData)
	}

	authData := unb64(t, field(t, r.Response, "authenticatorData"))
	rpHash := sha256.Sum256([]byte(rpID))
	if !bytes.Equal(authData[:32], rpHash[:]) {
		t.Errorf("rpIdHash = %x, want %x", authData[:32], rpHash)
	}
	if authData[32] != 0x45 {
		t.Errorf("flags = %#x, want 0x45 (UP|UV|AT)", authData[32])
	}
	if n := binary.BigEndian.Uint32(authData[33:37]); n != 0 {
		t.Errorf("signCount = %d, want 0", n)
	}
	if !bytes.Equal(authData[37:53], a.AAGUID[:]) {
		t.Errorf("AAGUID = %x, want %x", authData[37:53], a.AAGUID)
	}
	if n := binary.BigEndian.Uint16(authData[53:55]); n != 32 || !bytes.Equal(authData[55:87], id) {
		t.Errorf("credential id length %d, id %x; want 32, %x", n, authData[55:87], id)
	}

	parsed, err := protocol.ParseCredentialCreationResponseBytes(resp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(parsed.Response.AttestationObject.RawAuthData, authData) {
		t.Error("attestationObject authData differs from authenticatorData")
	}
	if parsed.Response.AttestationObject.Format != "none" || len(parsed.Response.AttestationObject.AttStatement) != 0 {
		t.Errorf("fmt %q, attStmt %v; want none, {}", parsed.Response.AttestationObject.Format, parsed.Response.AttestationObject.AttStatement)
	}
	// go-webauthn re-encodes the key canonically; equal bytes mean ours was canonical.
	coseKey := authData[87:]
	if !bytes.Equal(parsed.Response.AttestationObject.AuthData.AttData.CredentialPublicKey, coseKey) {
		t.Errorf("COSE key %x is not in canonical form %x", coseKey, parsed.Response.AttestationObject.AuthData.AttData.CredentialPublicKey)
	}
	spki, err := x509.ParsePKIXPublicKey(unb64(t, field(t, r.Response, "publicKey")))
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := spki.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("publicKey is %T, want a P-256 ECDSA key", spki)
	}
	point, err := pub.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	wantKey := slices.Concat([]byte{0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20}, point[1:33], []byte{0x22, 0x58, 0x20}, point[33:])
	if !bytes.Equal(coseKey, wantKey) {
		t.Errorf("COSE key = %x\nwant %x", coseKey, wantKey)
	}
}

func TestAuthenticationResponseJSON(t *testing.T) {
	rp := newRelyingParty(t)
	alice := rp.users[0]
	a := passkeystest.New(origin)
	rp.mustRegister(t, a, alice)
	pub := publicKey(t, alice.creds[0])

	challenge := b64([]byte("authentication-challenge-32byte!"))
	resp, err := a.Get([]byte(fmt.Sprintf(`{"challenge":%q,"rpId":%q,"userVerification":"required"}`, challenge, rpID)))
	if err != nil {
		t.Fatal(err)
	}
	r := decodeCredential(t, resp)
	assertKeys(t, mustJSON(t, r.Response), "clientDataJSON", "authenticatorData", "signature", "userHandle")
	if r.ID != b64(alice.creds[0].ID) || r.RawID != r.ID || r.Type != "public-key" || r.AuthenticatorAttachment != "platform" || string(r.ClientExtensionResults) != "{}" {
		t.Errorf("id %q, rawId %q, type %q, attachment %q, extensions %s", r.ID, r.RawID, r.Type, r.AuthenticatorAttachment, r.ClientExtensionResults)
	}
	if got := unb64(t, field(t, r.Response, "userHandle")); !bytes.Equal(got, alice.id) {
		t.Errorf("userHandle = %q, want %q", got, alice.id)
	}
	clientDataJSON := unb64(t, field(t, r.Response, "clientDataJSON"))
	wantClientData := `{"type":"webauthn.get","challenge":"` + challenge + `","origin":"https://example.test","crossOrigin":false}`
	if string(clientDataJSON) != wantClientData {
		t.Errorf("clientDataJSON = %s\nwant %s", clientDataJSON, wantClientData)
	}
	authData := unb64(t, field(t, r.Response, "authenticatorData"))
	rpHash := sha256.Sum256([]byte(rpID))
	if len(authData) != 37 || !bytes.Equal(authData[:32], rpHash[:]) || authData[32] != 0x05 || binary.BigEndian.Uint32(authData[33:]) != 1 {
		t.Errorf("authenticatorData = %x, want rpIdHash %x, flags 0x05, signCount 1", authData, rpHash)
	}
	clientDataHash := sha256.Sum256(clientDataJSON)
	digest := sha256.Sum256(slices.Concat(authData, clientDataHash[:]))
	if !ecdsa.VerifyASN1(pub, digest[:], unb64(t, field(t, r.Response, "signature"))) {
		t.Error("signature does not verify over authenticatorData || SHA-256(clientDataJSON)")
	}
}

func TestRegistrationRejected(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*passkeystest.Authenticator)
		tamper    passkeystest.Tamper
	}{
		{name: "origin", tamper: passkeystest.Tamper{Origin: "https://evil.test"}},
		{name: "rp id", tamper: passkeystest.Tamper{RPID: "evil.test"}},
		{name: "type", tamper: passkeystest.Tamper{Type: "webauthn.get"}},
		{name: "challenge", tamper: passkeystest.Tamper{Challenge: b64([]byte("some-other-challenge-32-bytes!!!"))}},
		{name: "user not verified", configure: func(a *passkeystest.Authenticator) { a.UserVerified = false }},
		{name: "user not present", configure: func(a *passkeystest.Authenticator) { a.UserPresent = false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rp := newRelyingParty(t)
			alice := rp.users[0]
			a := passkeystest.New(origin)
			if tt.configure != nil {
				tt.configure(a)
			}
			if _, err := rp.register(a, alice, tt.tamper); err == nil {
				t.Fatal("relying party accepted the registration")
			}
			honest := passkeystest.New(origin)
			if _, err := rp.register(honest, alice); err != nil {
				t.Fatalf("honest registration after the rejected one: %v", err)
			}
		})
	}
}

func TestLoginRejected(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*passkeystest.Authenticator)
		tamper    func(bob *user) passkeystest.Tamper
	}{
		{name: "origin", tamper: func(*user) passkeystest.Tamper { return passkeystest.Tamper{Origin: "https://evil.test"} }},
		{name: "rp id", tamper: func(*user) passkeystest.Tamper { return passkeystest.Tamper{RPID: "evil.test"} }},
		{name: "type", tamper: func(*user) passkeystest.Tamper { return passkeystest.Tamper{Type: "webauthn.create"} }},
		{name: "challenge", tamper: func(*user) passkeystest.Tamper {
			return passkeystest.Tamper{Challenge: b64([]byte("some-other-challenge-32-bytes!!!"))}
		}},
		{name: "bad signature", tamper: func(*user) passkeystest.Tamper { return passkeystest.Tamper{BadSignature: true} }},
		{name: "user handle of another user", tamper: func(bob *user) passkeystest.Tamper { return passkeystest.Tamper{UserHandle: bob.id} }},
		{name: "user not verified", configure: func(a *passkeystest.Authenticator) { a.UserVerified = false }},
		{name: "user not present", configure: func(a *passkeystest.Authenticator) { a.UserPresent = false }},
		{name: "backup eligibility changed", configure: func(a *passkeystest.Authenticator) { a.BackupEligible = true }},
		{name: "backed up but not eligible", configure: func(a *passkeystest.Authenticator) { a.BackedUp = true }},
	}
	for _, tt := range tests {
		for _, flow := range flows {
			t.Run(tt.name+"/"+flow.name, func(t *testing.T) {
				rp := newRelyingParty(t)
				alice, bob := rp.users[0], rp.users[1]
				a := passkeystest.New(origin)
				rp.mustRegister(t, a, alice)
				rp.mustRegister(t, passkeystest.New(origin), bob)

				var tp passkeystest.Tamper
				if tt.tamper != nil {
					tp = tt.tamper(bob)
				}
				if tt.configure != nil {
					tt.configure(a)
				}
				if got, _, err := rp.login(a, loginUser(flow.discoverable, alice), tp); err == nil {
					t.Fatalf("relying party accepted the login as %s", got.name)
				}

				// The same authenticator, honest again, still signs in: the
				// rejection came from the altered response alone.
				a.UserPresent, a.UserVerified, a.BackupEligible, a.BackedUp = true, true, false, false
				if got, _, err := rp.login(a, loginUser(flow.discoverable, alice)); err != nil || got != alice {
					t.Fatalf("honest login after the rejected one: user %v, error %v", got, err)
				}
			})
		}
	}
}

func TestExcludeCredentials(t *testing.T) {
	rp := newRelyingParty(t)
	alice := rp.users[0]
	a := passkeystest.New(origin)
	rp.mustRegister(t, a, alice)

	creation, _, err := rp.w.BeginRegistration(alice, webauthn.WithExclusions(webauthn.Credentials(alice.creds).CredentialDescriptors()))
	if err != nil {
		t.Fatal(err)
	}
	options, err := json.Marshal(creation)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Create(options); !errors.Is(err, passkeystest.ErrExcluded) {
		t.Errorf("Create with the held credential excluded: error %v, want ErrExcluded", err)
	}
	if n := len(a.Credentials()); n != 1 {
		t.Errorf("holds %d credentials after the excluded Create, want 1", n)
	}
	if _, err := passkeystest.New(origin).Create(options); err != nil {
		t.Errorf("Create on an authenticator not holding the excluded credential: %v", err)
	}
}

func TestZeroCounter(t *testing.T) {
	rp := newRelyingParty(t)
	alice := rp.users[0]
	a := passkeystest.New(origin)
	a.ZeroCounter = true
	rp.mustRegister(t, a, alice)
	for _, flow := range flows {
		_, cred, err := rp.login(a, loginUser(flow.discoverable, alice))
		if err != nil {
			t.Fatalf("%s login: %v", flow.name, err)
		}
		if cred.Authenticator.SignCount != 0 || cred.Authenticator.CloneWarning {
			t.Errorf("%s login: sign count %d, clone warning %v; want 0, false", flow.name, cred.Authenticator.SignCount, cred.Authenticator.CloneWarning)
		}
	}
	if n := a.Credentials()[0].SignCount; n != 0 {
		t.Errorf("held sign count %d, want 0", n)
	}
}

func TestSignCount(t *testing.T) {
	rp := newRelyingParty(t)
	alice := rp.users[0]
	a := passkeystest.New(origin)
	id := rp.mustRegister(t, a, alice).ID

	if err := a.SetSignCount(id, 41); err != nil {
		t.Fatal(err)
	}
	_, cred, err := rp.login(a, alice)
	if err != nil {
		t.Fatal(err)
	}
	if cred.Authenticator.SignCount != 42 {
		t.Errorf("sign count after SetSignCount(41) = %d, want 42", cred.Authenticator.SignCount)
	}

	replayed := uint32(42)
	_, cred, err = rp.login(a, alice, passkeystest.Tamper{SignCount: &replayed})
	if err != nil {
		t.Fatal(err)
	}
	if !cred.Authenticator.CloneWarning {
		t.Error("a repeated sign count raised no clone warning")
	}
	if n := a.Credentials()[0].SignCount; n != 43 {
		t.Errorf("held sign count after a tampered report = %d, want 43", n)
	}

	if err := a.SetSignCount([]byte("unknown"), 1); !errors.Is(err, passkeystest.ErrNoCredential) {
		t.Errorf("SetSignCount of an unknown id: error %v, want ErrNoCredential", err)
	}
}

func TestForget(t *testing.T) {
	for _, flow := range flows {
		t.Run(flow.name, func(t *testing.T) {
			rp := newRelyingParty(t)
			alice := rp.users[0]
			a := passkeystest.New(origin)
			id := rp.mustRegister(t, a, alice).ID
			a.Forget(id)
			if n := len(a.Credentials()); n != 0 {
				t.Errorf("holds %d credentials after Forget, want 0", n)
			}
			if _, _, err := rp.login(a, loginUser(flow.discoverable, alice)); !errors.Is(err, passkeystest.ErrNoCredential) {
				t.Errorf("login with the forgotten credential: error %v, want ErrNoCredential", err)
			}
		})
	}
}

func TestChoosesCredential(t *testing.T) {
	rp := newRelyingParty(t)
	alice, bob := rp.users[0], rp.users[1]
	a := passkeystest.New(origin)
	aliceID := rp.mustRegister(t, a, alice).ID
	rp.mustRegister(t, a, bob)

	if got, _, err := rp.login(a, nil); err != nil || got != bob {
		t.Errorf("discoverable login: user %v, error %v; want the most recent, bob", got, err)
	}
	if got, _, err := rp.login(a, nil, passkeystest.Tamper{CredentialID: aliceID}); err != nil || got != alice {
		t.Errorf("discoverable login choosing alice's credential: user %v, error %v", got, err)
	}
	if got, _, err := rp.login(a, alice); err != nil || got != alice {
		t.Errorf("login with alice's allowCredentials: user %v, error %v", got, err)
	}
	if _, _, err := rp.login(a, nil, passkeystest.Tamper{CredentialID: []byte("unknown")}); !errors.Is(err, passkeystest.ErrNoCredential) {
		t.Errorf("choosing an unknown credential: error %v, want ErrNoCredential", err)
	}
	other := passkeystest.New("https://other.test")
	if _, err := other.Get([]byte(`{"challenge":"AAAAAAAAAAAAAAAAAAAAAA"}`)); !errors.Is(err, passkeystest.ErrNoCredential) {
		t.Errorf("Get on an empty authenticator: error %v, want ErrNoCredential", err)
	}
}

func TestCreateReplacesSameUser(t *testing.T) {
	rp := newRelyingParty(t)
	alice := rp.users[0]
	a := passkeystest.New(origin)
	rp.mustRegister(t, a, alice)
	second := rp.mustRegister(t, a, alice).ID
	held := a.Credentials()
	if len(held) != 1 || !bytes.Equal(held[0].ID, second) {
		t.Fatalf("Credentials() = %+v, want only the second credential %s", held, b64(second))
	}
	if _, cred, err := rp.login(a, nil); err != nil || !bytes.Equal(cred.ID, second) {
		t.Errorf("login: credential %v, error %v; want %s", cred, err, b64(second))
	}
}

func TestWrapperAndBareOptions(t *testing.T) {
	for _, wrapped := range []bool{true, false} {
		t.Run(fmt.Sprintf("wrapped=%v", wrapped), func(t *testing.T) {
			rp := newRelyingParty(t)
			alice := rp.users[0]
			a := passkeystest.New(origin)

			creation, session, err := rp.w.BeginRegistration(alice)
			if err != nil {
				t.Fatal(err)
			}
			options := mustJSON(t, creation)
			if !wrapped {
				options = mustJSON(t, creation.Response)
			}
			resp, err := a.Create(options)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := protocol.ParseCredentialCreationResponseBytes(resp)
			if err != nil {
				t.Fatal(err)
			}
			cred, err := rp.w.CreateCredential(alice, *session, parsed)
			if err != nil {
				t.Fatal(err)
			}
			alice.store(cred)

			assertion, session, err := rp.w.BeginLogin(alice)
			if err != nil {
				t.Fatal(err)
			}
			options = mustJSON(t, assertion)
			if !wrapped {
				options = mustJSON(t, assertion.Response)
			}
			resp, err = a.Get(options)
			if err != nil {
				t.Fatal(err)
			}
			assertionData, err := protocol.ParseCredentialRequestResponseBytes(resp)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rp.w.ValidateLogin(alice, *session, assertionData); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRPIDFromOrigin(t *testing.T) {
	t.Run("missing rp id is the origin's host", func(t *testing.T) {
		rp := newRelyingParty(t)
		alice := rp.users[0]
		a := passkeystest.New(origin)
		rp.mustRegister(t, a, alice)

		assertion, session, err := rp.w.BeginDiscoverableLogin()
		if err != nil {
			t.Fatal(err)
		}
		assertion.Response.RelyingPartyID = ""
		resp, err := a.Get(mustJSON(t, assertion))
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := protocol.ParseCredentialRequestResponseBytes(resp)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := rp.w.ValidatePasskeyLogin(rp.byHandle, *session, parsed); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("parent domain of the origin's host", func(t *testing.T) {
		const sub = "https://login.example.test"
		rp := newRelyingParty(t, sub)
		alice := rp.users[0]
		a := passkeystest.New(sub)
		rp.mustRegister(t, a, alice)
		if _, _, err := rp.login(a, nil); err != nil {
			t.Fatal(err)
		}
		// Without rpId the subdomain itself is the rp id, which holds nothing.
		if _, err := a.Get([]byte(`{"challenge":"AAAAAAAAAAAAAAAAAAAAAA"}`)); !errors.Is(err, passkeystest.ErrNoCredential) {
			t.Errorf("Get without rpId from %s: error %v, want ErrNoCredential", sub, err)
		}
	})
}

func TestInvalidOptions(t *testing.T) {
	user := b64([]byte("alice"))
	challenge := "AAAAAAAAAAAAAAAAAAAAAA"
	creation := func(rp, userID, challenge, params string) []byte {
		return []byte(fmt.Sprintf(`{"rp":{"id":%q,"name":"Example"},"user":{"id":%q,"name":"alice","displayName":"Alice"},"challenge":%q,"pubKeyCredParams":%s}`, rp, userID, challenge, params))
	}
	es256 := `[{"type":"public-key","alg":-7}]`
	tests := []struct {
		name    string
		options []byte
		tamper  []passkeystest.Tamper
	}{
		{name: "not JSON", options: []byte(`{`)},
		{name: "no ES256", options: creation(rpID, user, challenge, `[{"type":"public-key","alg":-257}]`)},
		{name: "rp id of another site", options: creation("other.test", user, challenge, es256)},
		{name: "rp id below the origin", options: creation("login.example.test", user, challenge, es256)},
		{name: "no user id", options: creation(rpID, "", challenge, es256)},
		{name: "user id over 64 bytes", options: creation(rpID, b64(make([]byte, 65)), challenge, es256)},
		{name: "challenge not base64url", options: creation(rpID, user, "not base64!", es256)},
		{name: "no challenge", options: creation(rpID, user, "", es256)},
		{name: "Get-only tamper", options: creation(rpID, user, challenge, es256), tamper: []passkeystest.Tamper{{BadSignature: true}}},
		{name: "two tampers", options: creation(rpID, user, challenge, es256), tamper: []passkeystest.Tamper{{}, {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := passkeystest.New(origin)
			if resp, err := a.Create(tt.options, tt.tamper...); err == nil {
				t.Errorf("Create accepted the options: %s", resp)
			}
			if n := len(a.Credentials()); n != 0 {
				t.Errorf("holds %d credentials after a failed Create, want 0", n)
			}
		})
	}
	if _, err := passkeystest.New(origin).Create(creation(rpID, user, challenge, `[]`)); err != nil {
		t.Errorf("Create with empty pubKeyCredParams (browser default includes ES256): %v", err)
	}
}

func TestConcurrentGet(t *testing.T) {
	rp := newRelyingParty(t)
	alice := rp.users[0]
	a := passkeystest.New(origin)
	rp.mustRegister(t, a, alice)
	pub := publicKey(t, alice.creds[0])
	assertion, _, err := rp.w.BeginDiscoverableLogin()
	if err != nil {
		t.Fatal(err)
	}
	options := mustJSON(t, assertion)

	const n = 16
	counts := make([]uint32, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := a.Get(options)
			if err != nil {
				errs[i] = err
				return
			}
			parsed, err := protocol.ParseCredentialRequestResponseBytes(resp)
			if err != nil {
				errs[i] = err
				return
			}
			r := parsed.Raw.AssertionResponse
			clientDataHash := sha256.Sum256(r.ClientDataJSON)
			digest := sha256.Sum256(slices.Concat(r.AuthenticatorData, clientDataHash[:]))
			if !ecdsa.VerifyASN1(pub, digest[:], r.Signature) {
				errs[i] = errors.New("signature does not verify")
			}
			counts[i] = parsed.Response.AuthenticatorData.Counter
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	slices.Sort(counts)
	for i, c := range counts {
		if c != uint32(i+1) {
			t.Fatalf("counters = %v, want each of 1..%d once", counts, n)
		}
	}
	if got := a.Credentials()[0].SignCount; got != n {
		t.Errorf("held sign count %d, want %d", got, n)
	}
}

// assertKeys checks that the JSON object has exactly the given members.
// credentialJSON is a PublicKeyCredential as toJSON() writes it.
type credentialJSON struct {
	ID, RawID, Type, AuthenticatorAttachment string
	Response                                 map[string]json.RawMessage
	ClientExtensionResults                   json.RawMessage
}

// decodeCredential decodes resp and checks that it has exactly the
// members of a PublicKeyCredential's JSON.
func decodeCredential(t *testing.T, resp []byte) credentialJSON {
	t.Helper()
	var r credentialJSON
	if err := json.Unmarshal(resp, &r); err != nil {
		t.Fatal(err)
	}
	assertKeys(t, resp, "id", "rawId", "type", "authenticatorAttachment", "response", "clientExtensionResults")
	return r
}

func assertKeys(t *testing.T, object []byte, want ...string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(object, &m); err != nil {
		t.Fatal(err)
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("members %v, want %v", got, want)
	}
}

// field returns the string member name of m.
func field(t *testing.T, m map[string]json.RawMessage, name string) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(m[name], &s); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

// unb64 decodes unpadded base64url, failing the test on anything else.
func unb64(t *testing.T, s string) []byte {
	t.Helper()
	if strings.ContainsAny(s, "=+/") {
		t.Errorf("%q is not unpadded base64url", s)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return b
}

// publicKey returns the ECDSA key of a credential the relying party stored.
func publicKey(t *testing.T, c webauthn.Credential) *ecdsa.PublicKey {
	t.Helper()
	k, err := webauthncose.ParsePublicKey(c.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ec, ok := k.(webauthncose.EC2PublicKeyData)
	if !ok {
		t.Fatalf("stored key is %T, want EC2", k)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), slices.Concat([]byte{0x04}, ec.XCoord, ec.YCoord))
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
