package selfhosted_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/internal/rawauthn"
	"github.com/passkeyready/passkeys/selfhosted"
)

// This file holds what the key and origin tests share: an HTTP server of
// the passkeys handler on the engine, and rawAuthenticator, a software
// authenticator that writes any COSE key into its attestation, signs with
// ES256, EdDSA or RS256 and writes any clientDataJSON (its bytes are made
// by internal/rawauthn, which the example server's probes share).

// codeBox is an OTPSender that keeps the last code per email.
type codeBox struct {
	mu    sync.Mutex
	codes map[string]string
}

func (b *codeBox) SendOTP(_ context.Context, email, code string, _ time.Duration) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.codes[email] = code
	return nil
}

// testServer is the passkeys handler on the engine, over real HTTP.
type testServer struct {
	t     *testing.T
	url   string
	store selfhosted.Store
	codes *codeBox
}

// newTestServer serves the engine for RP ID localhost and the one origin.
func newTestServer(t *testing.T, origin string, store selfhosted.Store) *testServer {
	t.Helper()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	codes := &codeBox{codes: map[string]string{}}
	e, err := selfhosted.New(selfhosted.Config{
		RPID: "localhost", Origins: []string{origin}, Store: store, OTPSender: codes, Clock: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := passkeys.New(passkeys.Options{
		Backend: e, JWTKey: []byte("key and origin tests' session key, 32+ bytes"), Clock: clock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.StripPrefix("/auth", h))
	t.Cleanup(ts.Close)
	return &testServer{t: t, url: ts.URL + "/auth", store: store, codes: codes}
}

// reply is a decoded JSON answer.
type reply struct {
	status int
	body   map[string]json.RawMessage
	raw    []byte
}

func (r reply) str(name string) string {
	var s string
	_ = json.Unmarshal(r.body[name], &s)
	return s
}

// call sends a JSON body (nil for GET) with an optional bearer token.
func (s *testServer) call(method, path string, body any, token string) reply {
	s.t.Helper()
	res := e2e.Call(s.t, nil, method, s.url+path, body, token)
	r := reply{status: res.Status, raw: res.Body}
	if err := json.Unmarshal(r.raw, &r.body); err != nil {
		s.t.Fatalf("%s %s: %v: %s", method, path, err, r.raw)
	}
	return r
}

func (s *testServer) post(path string, body any, token string) reply {
	s.t.Helper()
	return s.call(http.MethodPost, path, body, token)
}

// expectStatus checks the status and, for errors, the problem code.
func expectStatus(t *testing.T, what string, r reply, status int, code string) {
	t.Helper()
	if r.status != status || (code != "" && r.str("code") != code) {
		t.Errorf("%s: %d %s, want %d %s", what, r.status, r.raw, status, code)
	}
}

// account is a signed-up user.
type account struct {
	email, id, token string
}

// signUp runs the OTP flow for email.
func (s *testServer) signUp(email string) account {
	s.t.Helper()
	expectStatus(s.t, "request code", s.post("/signUpOrLogin", map[string]string{"email": email}, ""), 200, "")
	s.codes.mu.Lock()
	code := s.codes.codes[email]
	s.codes.mu.Unlock()
	r := s.post("/signUpOrLogin", map[string]string{"email": email, "otp": code}, "")
	if r.status != 200 {
		s.t.Fatalf("sign-up of %s: %d %s", email, r.status, r.raw)
	}
	var u passkeys.User
	_ = json.Unmarshal(r.body["user"], &u)
	return account{email: email, id: u.ID, token: r.str("sessionToken")}
}

// appendOptions starts an append ceremony.
func (s *testServer) appendOptions(a account) []byte {
	s.t.Helper()
	r := s.post("/passkey/append/start", map[string]any{}, a.token)
	expectStatus(s.t, "append start", r, 200, "")
	return r.body["attestationOptions"]
}

// loginOptions starts a button login (path "login") or a conditional-UI
// one ("mediation"); it fails the test unless a login may be attempted.
func (s *testServer) loginOptions(path string, a account) []byte {
	s.t.Helper()
	var body any = map[string]any{}
	if path == "login" {
		body = map[string]string{"email": a.email}
	}
	r := s.post("/passkey/"+path+"/start", body, "")
	expectStatus(s.t, path+" start", r, 200, "")
	if string(r.body["loginAllow"]) != "true" {
		s.t.Fatalf("%s start: %s", path, r.raw)
	}
	return r.body["assertionOptions"]
}

// passkeyCount lists a's passkeys.
func (s *testServer) passkeyCount(a account) int {
	s.t.Helper()
	r := s.call(http.MethodGet, "/passkeys", nil, a.token)
	expectStatus(s.t, "list passkeys", r, 200, "")
	var list []json.RawMessage
	_ = json.Unmarshal(r.body["passkeys"], &list)
	return len(list)
}

// rawAuthenticator makes WebAuthn responses by hand. cose is the public key
// written into the attestation, whatever it says; sign signs
// authenticatorData || SHA-256(clientDataJSON) at login.
type rawAuthenticator struct {
	origin string
	cose   []byte
	sign   func(msg []byte) ([]byte, error)

	id     []byte // set by create
	handle []byte // set by create
	count  uint32
}

func newES256Authenticator(t testing.TB, origin string) *rawAuthenticator {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := k.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return &rawAuthenticator{
		origin: origin,
		cose:   rawauthn.Map(1, 2, 3, -7, -1, 1, -2, raw[1:33], -3, raw[33:]),
		sign: func(msg []byte) ([]byte, error) {
			h := sha256.Sum256(msg)
			return ecdsa.SignASN1(rand.Reader, k, h[:])
		},
	}
}

func newEd25519Authenticator(t testing.TB, origin string) *rawAuthenticator {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &rawAuthenticator{
		origin: origin,
		cose:   rawauthn.Map(1, 1, 3, -8, -1, 6, -2, []byte(pub)),
		sign:   func(msg []byte) ([]byte, error) { return ed25519.Sign(priv, msg), nil },
	}
}

// newRSAAuthenticator signs RS256 with k; its COSE key carries k's modulus
// and exponent.
func newRSAAuthenticator(origin string, k *rsa.PrivateKey) *rawAuthenticator {
	return &rawAuthenticator{
		origin: origin,
		cose:   rawauthn.Map(1, 3, 3, -257, -1, k.N.Bytes(), -2, big.NewInt(int64(k.E)).Bytes()),
		sign: func(msg []byte) ([]byte, error) {
			h := sha256.Sum256(msg)
			return rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
		},
	}
}

// create answers creation options with a "none" attestation of a.cose. cd,
// when not nil, replaces the clientDataJSON.
func (a *rawAuthenticator) create(t testing.TB, opts []byte, cd []byte) json.RawMessage {
	t.Helper()
	resp, id, handle, err := rawauthn.Registration{RPID: "localhost", Origin: a.origin, COSE: a.cose, ClientData: cd}.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	a.id, a.handle = id, handle
	return resp
}

// get answers request options for the credential create made. cd, when not
// nil, replaces the clientDataJSON; it is signed all the same.
func (a *rawAuthenticator) get(t testing.TB, opts []byte, cd []byte) json.RawMessage {
	t.Helper()
	a.count++
	resp, err := rawauthn.Assertion{
		RPID: "localhost", Origin: a.origin, ID: a.id, Handle: a.handle, Count: a.count, Sign: a.sign, ClientData: cd,
	}.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

var (
	rsaKeysMu   sync.Mutex
	rsaKeysMade = map[int]*rsa.PrivateKey{}
)
