package selfhosted_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/jackc/pgx/v5"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
	"github.com/passkeyready/passkeys/selfhosted/pgstore"
	"github.com/passkeyready/passkeys/selfhosted/sqlitestore"
)

// The handler benchmarks report, besides ns/op, their cost as a multiple of
// two ceilings measured once per process before the benchmarks run:
// go-webauthn's own parse and validate of the same kind of response
// ("x-gowebauthn") and a bare ECDSA P-256 verification ("x-ecdsa").
//
//	go test -run XXX -bench . -benchmem ./selfhosted/
//
// The postgres cases run when PASSKEYS_TEST_POSTGRES_DSN names a server.

// benchStore is a store under benchmark.
type benchStore struct {
	name string
	open func(b *testing.B) selfhosted.Store
}

var benchStores = []benchStore{
	{"memory", func(*testing.B) selfhosted.Store { return memstore.New() }},
	{"sqlite", func(b *testing.B) selfhosted.Store {
		s, err := sqlitestore.Open(filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}},
	{"postgres", openBenchPostgres},
}

// openBenchPostgres opens a pgstore in a schema of its own on the server
// PASSKEYS_TEST_POSTGRES_DSN names, and drops the schema afterwards.
func openBenchPostgres(b *testing.B) selfhosted.Store {
	dsn := os.Getenv("PASSKEYS_TEST_POSTGRES_DSN")
	if dsn == "" {
		b.Skip("PASSKEYS_TEST_POSTGRES_DSN is not set")
	}
	ctx := context.Background()
	schema := "bench_" + hex.EncodeToString(randomID(6))
	s, err := pgstore.Open(ctx, dsn, pgstore.WithSchema(schema))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		s.Close()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			b.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			b.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return s
}

func randomID(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// benchHandler is a handler on the self-hosted engine, driven in-process
// through ServeHTTP.
type benchHandler struct {
	h    *passkeys.Handler
	mail *e2e.Mailbox
}

// newBenchHandler builds the handler on store with the rate limits off, so
// that setup may sign up any number of users and start any number of
// ceremonies from one address, and with a logger that discards.
func newBenchHandler(b *testing.B, store selfhosted.Store) *benchHandler {
	mail := e2e.NewMailbox()
	engine, err := selfhosted.New(selfhosted.Config{
		RPID: e2e.RPID, Origins: []string{e2e.Origin}, Store: store, OTPSender: mail,
	})
	if err != nil {
		b.Fatal(err)
	}
	off := passkeys.Rate{Events: -1}
	h, err := passkeys.New(passkeys.Options{
		Backend: engine, JWTKey: e2e.JWTKey,
		IPLimit: off, EmailLimit: off, OTPCheckLimit: off, StartLimit: off,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	return &benchHandler{h: h, mail: mail}
}

// request builds a JSON POST to path with an optional bearer token.
func request(path, token string, body any) *http.Request {
	j, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(j))
	r.Header.Set("Content-Type", "application/json")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

// serve runs r and fails unless the answer is 200.
func (bh *benchHandler) serve(b *testing.B, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	bh.h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		b.Fatalf("%s: status %d: %s", r.URL.Path, w.Code, w.Body)
	}
	return w
}

// call posts body to path and returns the decoded 200 answer.
func (bh *benchHandler) call(b *testing.B, path, token string, body any) map[string]json.RawMessage {
	var out map[string]json.RawMessage
	if err := json.Unmarshal(bh.serve(b, request(path, token, body)).Body.Bytes(), &out); err != nil {
		b.Fatal(err)
	}
	return out
}

// signUp runs the OTP flow for email and returns the session token.
func (bh *benchHandler) signUp(b *testing.B, email string) string {
	bh.call(b, "/signUpOrLogin", "", map[string]string{"email": email})
	codes := bh.mail.Codes(email)
	if len(codes) == 0 {
		b.Fatalf("no code sent to %s", email)
	}
	res := bh.call(b, "/signUpOrLogin", "", map[string]string{"email": email, "otp": codes[len(codes)-1]})
	var token string
	if err := json.Unmarshal(res["sessionToken"], &token); err != nil || token == "" {
		b.Fatalf("sign-up gave no session: %s", res["sessionToken"])
	}
	return token
}

// appendFinishRequest starts adding a passkey for the session token and
// returns the finish request carrying a's answer.
func (bh *benchHandler) appendFinishRequest(b *testing.B, token string, a *passkeystest.Authenticator) *http.Request {
	res := bh.call(b, "/passkey/append/start", token, map[string]any{})
	att, err := a.Create(res["attestationOptions"])
	if err != nil {
		b.Fatal(err)
	}
	return request("/passkey/append/finish", token, map[string]json.RawMessage{"attestationResponse": att})
}

// runFinishes serves the prepared requests, one per iteration, and reports
// the cost against the ceilings.
func (bh *benchHandler) runFinishes(b *testing.B, reqs []*http.Request, gowebauthn float64) {
	b.ReportAllocs()
	b.ResetTimer()
	for _, r := range reqs {
		w := httptest.NewRecorder()
		bh.h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: status %d: %s", r.URL.Path, w.Code, w.Body)
		}
	}
	b.StopTimer()
	reportRatios(b, gowebauthn)
}

// reportRatios reports ns/op as multiples of the go-webauthn ceiling given
// and of a bare ECDSA verification.
func reportRatios(b *testing.B, gowebauthn float64) {
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns/gowebauthn, "x-gowebauthn")
	b.ReportMetric(ns/ceilings().ecdsa, "x-ecdsa")
}

// BenchmarkLoginFinish measures POST passkey/login/finish through the
// handler, each iteration finishing a fresh ceremony of one user.
func BenchmarkLoginFinish(b *testing.B) {
	for _, st := range benchStores {
		b.Run(st.name, func(b *testing.B) {
			bh := newBenchHandler(b, st.open(b))
			email := "bench@example.com"
			token := bh.signUp(b, email)
			a := passkeystest.New(e2e.Origin)
			bh.serve(b, bh.appendFinishRequest(b, token, a))
			reqs := make([]*http.Request, b.N)
			for i := range reqs {
				res := bh.call(b, "/passkey/login/start", "", map[string]string{"email": email})
				resp, err := a.Get(res["assertionOptions"])
				if err != nil {
					b.Fatal(err)
				}
				reqs[i] = request("/passkey/login/finish", "", map[string]json.RawMessage{"assertionResponse": resp})
			}
			bh.runFinishes(b, reqs, ceilings().login)
		})
	}
}

// BenchmarkAppendFinish measures POST passkey/append/finish through the
// handler, each iteration adding the first passkey of a fresh user.
func BenchmarkAppendFinish(b *testing.B) {
	for _, st := range benchStores {
		if st.name == "postgres" {
			continue
		}
		b.Run(st.name, func(b *testing.B) {
			bh := newBenchHandler(b, st.open(b))
			reqs := make([]*http.Request, b.N)
			for i := range reqs {
				token := bh.signUp(b, fmt.Sprintf("bench%d@example.com", i))
				reqs[i] = bh.appendFinishRequest(b, token, passkeystest.New(e2e.Origin))
			}
			bh.runFinishes(b, reqs, ceilings().append)
		})
	}
}

// waUser is a go-webauthn user for the ceiling benchmarks.
type waUser struct {
	id    []byte
	creds []webauthn.Credential
}

func (u *waUser) WebAuthnID() []byte                         { return u.id }
func (u *waUser) WebAuthnName() string                       { return "bench@example.com" }
func (u *waUser) WebAuthnDisplayName() string                { return "bench@example.com" }
func (u *waUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// newGoWebauthn configures go-webauthn as the engine does: same RP,
// discoverable credentials, user verification required.
func newGoWebauthn(b *testing.B) *webauthn.WebAuthn {
	rk := true
	wa, err := webauthn.New(&webauthn.Config{
		RPID: e2e.RPID, RPDisplayName: e2e.RPID, RPOrigins: []string{e2e.Origin},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			RequireResidentKey: &rk,
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   protocol.VerificationRequired,
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	return wa
}

// goWebauthnRegistration is one registration prepared with go-webauthn and
// answered by the software authenticator.
type goWebauthnRegistration struct {
	user     *waUser
	session  *webauthn.SessionData
	response []byte
}

func prepareRegistration(b *testing.B, wa *webauthn.WebAuthn, a *passkeystest.Authenticator) goWebauthnRegistration {
	u := &waUser{id: randomID(32)}
	creation, session, err := wa.BeginRegistration(u)
	if err != nil {
		b.Fatal(err)
	}
	opts, err := json.Marshal(creation)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := a.Create(opts)
	if err != nil {
		b.Fatal(err)
	}
	return goWebauthnRegistration{u, session, resp}
}

// register runs a prepared registration and returns the new credential.
func (r goWebauthnRegistration) register(wa *webauthn.WebAuthn) (*webauthn.Credential, error) {
	parsed, err := protocol.ParseCredentialCreationResponseBytes(r.response)
	if err != nil {
		return nil, err
	}
	return wa.CreateCredential(r.user, *r.session, parsed)
}

// registeredUser registers one passkey with go-webauthn and returns its
// user and the registration response.
func registeredUser(b *testing.B, wa *webauthn.WebAuthn, a *passkeystest.Authenticator) (*waUser, []byte) {
	r := prepareRegistration(b, wa, a)
	cred, err := r.register(wa)
	if err != nil {
		b.Fatal(err)
	}
	r.user.creds = append(r.user.creds, *cred)
	return r.user, r.response
}

// BenchmarkGoWebauthnLogin is the ceiling of a login finish: go-webauthn's
// own parse and validate of the software authenticator's ES256 assertion,
// with no store, session data or HTTP around it.
func BenchmarkGoWebauthnLogin(b *testing.B) {
	wa := newGoWebauthn(b)
	a := passkeystest.New(e2e.Origin)
	u, _ := registeredUser(b, wa, a)
	type login struct {
		session  *webauthn.SessionData
		response []byte
	}
	logins := make([]login, b.N)
	for i := range logins {
		assertion, session, err := wa.BeginLogin(u)
		if err != nil {
			b.Fatal(err)
		}
		opts, err := json.Marshal(assertion)
		if err != nil {
			b.Fatal(err)
		}
		resp, err := a.Get(opts)
		if err != nil {
			b.Fatal(err)
		}
		logins[i] = login{session, resp}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for _, l := range logins {
		parsed, err := protocol.ParseCredentialRequestResponseBytes(l.response)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := wa.ValidateLogin(u, *l.session, parsed); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGoWebauthnAppend is the ceiling of an append finish:
// go-webauthn's own parse and CreateCredential of the software
// authenticator's attestation ("none").
func BenchmarkGoWebauthnAppend(b *testing.B) {
	wa := newGoWebauthn(b)
	regs := make([]goWebauthnRegistration, b.N)
	for i := range regs {
		regs[i] = prepareRegistration(b, wa, passkeystest.New(e2e.Origin))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for _, r := range regs {
		if _, err := r.register(wa); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkECDSAVerify is a bare ecdsa.VerifyASN1 of one assertion
// signature: P-256 over SHA-256(authenticatorData || SHA-256(clientDataJSON)).
func BenchmarkECDSAVerify(b *testing.B) {
	wa := newGoWebauthn(b)
	a := passkeystest.New(e2e.Origin)
	u, registration := registeredUser(b, wa, a)
	var reg struct {
		Response struct {
			PublicKey string `json:"publicKey"`
		} `json:"response"`
	}
	if err := json.Unmarshal(registration, &reg); err != nil {
		b.Fatal(err)
	}
	spki, err := base64.RawURLEncoding.DecodeString(reg.Response.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	key, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		b.Fatal(err)
	}
	pub, ok := key.(*ecdsa.PublicKey)
	if !ok {
		b.Fatalf("public key is a %T", key)
	}
	assertion, _, err := wa.BeginLogin(u)
	if err != nil {
		b.Fatal(err)
	}
	opts, err := json.Marshal(assertion)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := a.Get(opts)
	if err != nil {
		b.Fatal(err)
	}
	var get struct {
		Response struct {
			ClientDataJSON    string `json:"clientDataJSON"`
			AuthenticatorData string `json:"authenticatorData"`
			Signature         string `json:"signature"`
		} `json:"response"`
	}
	if err := json.Unmarshal(resp, &get); err != nil {
		b.Fatal(err)
	}
	var parts [3][]byte
	for i, s := range []string{get.Response.ClientDataJSON, get.Response.AuthenticatorData, get.Response.Signature} {
		if parts[i], err = base64.RawURLEncoding.DecodeString(s); err != nil {
			b.Fatal(err)
		}
	}
	clientDataHash := sha256.Sum256(parts[0])
	digest := sha256.Sum256(append(parts[1], clientDataHash[:]...))
	sig := parts[2]
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			b.Fatal("signature does not verify")
		}
	}
}

// ceilingNs holds the ceilings in ns/op.
type ceilingNs struct {
	login, append, ecdsa float64
}

// ceilingVals is measured by TestMain when benchmarks run: testing.Benchmark
// cannot run inside a benchmark (it waits for the lock the running one
// holds), and outside m.Run it stays out of -cpuprofile.
var ceilingVals ceilingNs

// TestMain measures the ceilings first when benchmarks were asked for.
func TestMain(m *testing.M) {
	flag.Parse()
	if flag.Lookup("test.bench").Value.String() != "" {
		ns := func(f func(*testing.B)) float64 {
			r := testing.Benchmark(f)
			if r.N == 0 {
				fmt.Fprintln(os.Stderr, "selfhosted_test: a ceiling benchmark failed")
				os.Exit(1)
			}
			return float64(r.T.Nanoseconds()) / float64(r.N)
		}
		ceilingVals = ceilingNs{
			login:  ns(BenchmarkGoWebauthnLogin),
			append: ns(BenchmarkGoWebauthnAppend),
			ecdsa:  ns(BenchmarkECDSAVerify),
		}
	}
	os.Exit(m.Run())
}

// ceilings returns the ceilings TestMain measured.
func ceilings() ceilingNs { return ceilingVals }
