package passkeys_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
)

// recordingBackend is stubBackend that records the emails and responses
// the handler passes on, and answers every call the tests below make.
type recordingBackend struct {
	stubBackend
	mu     sync.Mutex
	calls  []string // "method email-or-response"
	delete error
}

func (b *recordingBackend) record(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, s)
}

func (b *recordingBackend) taken() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.calls
	b.calls = nil
	return c
}

func (b *recordingBackend) StartOTP(ctx context.Context, email string, c passkeys.Client) (passkeys.OTPStart, error) {
	b.record("StartOTP " + email)
	return b.stubBackend.StartOTP(ctx, email, c)
}

func (b *recordingBackend) FinishOTP(ctx context.Context, email, code string, c passkeys.Client) (passkeys.User, bool, error) {
	b.record("FinishOTP " + email)
	return b.stubBackend.FinishOTP(ctx, email, code, c)
}

func (b *recordingBackend) StartLogin(_ context.Context, email string, _ passkeys.Client) (passkeys.LoginStart, error) {
	b.record("StartLogin " + email)
	return passkeys.LoginStart{}, nil
}

func (b *recordingBackend) StartMediation(context.Context, passkeys.Client) (passkeys.LoginStart, error) {
	b.record("StartMediation")
	return passkeys.LoginStart{}, nil
}

func (b *recordingBackend) FinishLogin(_ context.Context, resp json.RawMessage, _ passkeys.Client) (passkeys.User, error) {
	b.record("FinishLogin " + string(resp))
	return passkeys.User{ID: "usr_1", Email: "a@example.com"}, nil
}

func (b *recordingBackend) FinishAppend(_ context.Context, _ passkeys.User, resp json.RawMessage, _ passkeys.Client) (passkeys.Passkey, error) {
	b.record("FinishAppend " + string(resp))
	return passkeys.Passkey{ID: "AQID"}, nil
}

func (b *recordingBackend) DeletePasskey(_ context.Context, _ passkeys.User, id string) error {
	b.record("DeletePasskey " + id)
	return b.delete
}

func (b *recordingBackend) ListPasskeys(context.Context, passkeys.User) ([]passkeys.Passkey, error) {
	return nil, nil
}

// Every spelling of one mailbox reaches the backend, and every per-email
// limit, as one canonical form; the classes of address that display like
// another one or that no mail system should receive are refused with a
// detail that says why, and nothing reaches the backend.
func TestEmailsAreCanonical(t *testing.T) {
	b := &recordingBackend{}
	h, err := passkeys.New(passkeys.Options{Backend: b, JWTKey: key})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, email, want string }{
		{"ascii", "  Alice@Example.COM ", "alice@example.com"},
		{"unicode domain", "jörg@bücher.de", "jörg@xn--bcher-kva.de"},
		{"upper-case unicode", "JÖRG@BÜCHER.DE", "jörg@xn--bcher-kva.de"},
		{"punycode domain", "jörg@XN--BCHER-KVA.DE", "jörg@xn--bcher-kva.de"},
		{"decomposed local part", "jo\u0308rg@bücher.de", "jörg@xn--bcher-kva.de"},
		{"ideographic full stop", "user@例え。jp", "user@xn--r8jz45g.jp"},
		{"international", "用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"},
		{"subaddress kept", "a+news@example.com", "a+news@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]string{"email": tc.email})
			for _, path := range []string{"/signUpOrLogin", "/passkey/login/start"} {
				rec := post(t, h, path, string(body), "")
				if rec.Code != 200 {
					t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
				}
			}
			if got := b.taken(); len(got) != 2 || got[0] != "StartOTP "+tc.want || got[1] != "StartLogin "+tc.want {
				t.Errorf("backend got %q, want %q for both", got, tc.want)
			}
		})
	}

	for _, tc := range []struct{ name, body, detail string }{
		{"missing", `{"email":"  "}`, "email is required."},
		{"no at", `{"email":"alice"}`, "email is not a valid email address."},
		{"invalid UTF-8", "{\"email\":\"a\xffb@example.com\"}", "email is not valid UTF-8."},
		{"replacement character", `{"email":"a\ufffdb@example.com"}`, "email is not valid UTF-8."},
		{"zero-width space", `{"email":"al\u200bice@example.com"}`, "email contains an invisible or text-direction character."},
		{"soft hyphen", `{"email":"al\u00adice@example.com"}`, "email contains an invisible or text-direction character."},
		{"bidi override", `{"email":"\u202ealice@example.com"}`, "email contains an invisible or text-direction character."},
		{"fullwidth", `{"email":"ａlice@example.com"}`, "email contains a fullwidth, compatibility or look-alike form of a character; type the plain character."},
		{"kelvin sign", `{"email":"\u212aate@example.com"}`, "email contains a fullwidth, compatibility or look-alike form of a character; type the plain character."},
		{"mixed script", `{"email":"p\u0430ypal@example.com"}`, "email mixes writing systems (such as Latin and Cyrillic) within one part."},
		{"address literal", `{"email":"user@[127.0.0.1]"}`, "email must name a domain, not an IP address."},
		{"ip domain", `{"email":"user@10.0.0.1"}`, "email must name a domain, not an IP address."},
		{"reserved domain", `{"email":"user@intranet.local"}`, "email's domain is reserved for local, private or test use and cannot receive mail."},
		{"control", `{"email":"a\u0007@example.com"}`, "email contains a control character."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/signUpOrLogin", "/passkey/login/start"} {
				status, code, detail := problemOf(t, post(t, h, path, tc.body, ""))
				if status != 400 || code != "invalid_request" || detail != tc.detail {
					t.Errorf("%s: %d %s %q, want 400 invalid_request %q", path, status, code, detail, tc.detail)
				}
			}
			if got := b.taken(); len(got) != 0 {
				t.Errorf("a refused email reached the backend: %q", got)
			}
		})
	}
}

// The per-email limits key on the canonical form: spelling the domain in
// Unicode once and in punycode the next time does not buy a second budget.
func TestEmailLimitsKeyOnCanonicalForm(t *testing.T) {
	b := &recordingBackend{}
	one := passkeys.Rate{Events: 1, Per: time.Hour, Burst: 1}
	h, err := passkeys.New(passkeys.Options{Backend: b, JWTKey: key, EmailLimit: one, OTPCheckLimit: one})
	if err != nil {
		t.Fatal(err)
	}
	spellings := []string{"jörg@bücher.de", "JÖRG@XN--BCHER-KVA.DE"}
	for i, otp := range []string{"", `,"otp":"000000"`} {
		for j, e := range spellings {
			rec := post(t, h, "/signUpOrLogin", `{"email":"`+e+`"`+otp+`}`, "")
			want := 200
			if otp != "" {
				want = 401 // the stub's wrong code
			}
			if j == 1 {
				want = 429
			}
			if rec.Code != want {
				t.Errorf("request %d/%d (%s): %d %s, want %d", i, j, e, rec.Code, rec.Body, want)
			}
		}
	}
}

// A JSON document that names a member twice in one object is refused on
// every endpoint, in the credential responses too, and when a response
// comes as a string holding JSON; nothing reaches the backend.
func TestDuplicateMembersRefused(t *testing.T) {
	b := &recordingBackend{}
	h, err := passkeys.New(passkeys.Options{Backend: b, JWTKey: key})
	if err != nil {
		t.Fatal(err)
	}
	var sess struct{ SessionToken string }
	_ = json.Unmarshal(post(t, h, "/signUpOrLogin", `{"email":"a@example.com","otp":"123456"}`, "").Body.Bytes(), &sess)
	b.taken()
	cred := `{"id":"AQID","response":{"clientDataJSON":"e30","clientDataJSON":"e31"}}`
	for _, tc := range []struct {
		name, path, body string
		session          bool
		detail           string
	}{
		{"code turned into a resend", "/signUpOrLogin", `{"email":"a@example.com","otp":"123456","otp":null}`, false,
			`The body names the member "otp" twice.`},
		{"escaped spelling", "/signUpOrLogin", `{"email":"a@example.com","\u0065mail":"b@example.com"}`, false,
			`The body names the member "email" twice.`},
		{"case variant turned into a resend", "/signUpOrLogin", `{"email":"a@example.com","otp":"123456","OTP":null}`, false,
			`The body names the member "otp" twice (also as "OTP": names are matched regardless of case).`},
		{"long s", "/passkey/mediation/start", `{"clientCapabilities":{},"clientCapabilitie\u017f":{"x":true}}`, false,
			`The body names the member "clientCapabilities" twice (also as "clientCapabilitieſ": names are matched regardless of case).`},
		{"kelvin sign in a credential", "/passkey/login/finish", `{"assertionResponse":{"id":"a","response":{"clientDataJSON":"e30"},"\u212ad":1,"kd":2}}`, false,
			"The body names the member \"\u212ad\" twice in /assertionResponse (also as \"kd\": names are matched regardless of case)."},
		{"case variant in a string", "/passkey/login/finish", `{"assertionResponse":` + quote(`{"id":"a","response":{"clientDataJSON":"e30","ClientDataJSON":"e31"}}`) + `}`, false,
			`assertionResponse names the member "clientDataJSON" twice in /response (also as "ClientDataJSON": names are matched regardless of case).`},
		{"login start", "/passkey/login/start", `{"email":"a@example.com","email":"b@example.com"}`, false,
			`The body names the member "email" twice.`},
		{"capabilities", "/passkey/mediation/start", `{"clientCapabilities":{"conditionalGet":true,"conditionalGet":false}}`, false,
			`The body names the member "conditionalGet" twice in /clientCapabilities.`},
		{"append start", "/passkey/append/start", `{"clientCapabilities":{},"clientCapabilities":{}}`, true,
			`The body names the member "clientCapabilities" twice.`},
		{"inside the attestation", "/passkey/append/finish", `{"attestationResponse":` + cred + `}`, true,
			`The body names the member "clientDataJSON" twice in /attestationResponse/response.`},
		{"attestation twice", "/passkey/append/finish", `{"attestationResponse":{"id":"a"},"attestationResponse":{"id":"b"}}`, true,
			`The body names the member "attestationResponse" twice.`},
		{"inside the assertion", "/passkey/login/finish", `{"assertionResponse":` + cred + `}`, false,
			`The body names the member "clientDataJSON" twice in /assertionResponse/response.`},
		{"assertion as a string", "/passkey/login/finish", `{"assertionResponse":` + quote(cred) + `}`, false,
			`assertionResponse names the member "clientDataJSON" twice in /response.`},
		{"attestation as a string", "/passkey/append/finish", `{"attestationResponse":` + quote(`{"id":"a","id":"b"}`) + `}`, true,
			`attestationResponse names the member "id" twice.`},
		{"mediation assertion as a string", "/passkey/mediation/finish", `{"assertionResponse":` + quote(`{"id":"a","type":"public-key","type":"x"}`) + `}`, false,
			`assertionResponse names the member "type" twice.`},
		{"deep in an array", "/passkey/mediation/finish", `{"assertionResponse":{"id":"a","x":[{"k":1,"k":2}]}}`, false,
			`The body names the member "k" twice in /assertionResponse/x/0.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := ""
			if tc.session {
				token = sess.SessionToken
			}
			status, code, detail := problemOf(t, post(t, h, tc.path, tc.body, token))
			if status != 400 || code != "invalid_request" || detail != tc.detail {
				t.Errorf("%d %s %q, want 400 invalid_request %q", status, code, detail, tc.detail)
			}
			if got := b.taken(); len(got) != 0 {
				t.Errorf("the backend was called: %q", got)
			}
		})
	}

	// The same documents without the duplicate are accepted.
	for _, tc := range []struct{ path, body string }{
		{"/signUpOrLogin", `{"email":"a@example.com","otp":"123456"}`},
		{"/passkey/login/finish", `{"assertionResponse":` + quote(`{"id":"AQID","response":{"clientDataJSON":"e30"}}`) + `}`},
		{"/passkey/mediation/start", `{"clientCapabilities":{"conditionalGet":true,"hybridTransport":false}}`},
	} {
		if rec := post(t, h, tc.path, tc.body, ""); rec.Code != 200 {
			t.Errorf("%s %s: %d %s", tc.path, tc.body, rec.Code, rec.Body)
		}
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Every response the handler writes, and the 401 of both guards, carries
// X-Content-Type-Options: nosniff.
func TestNosniffEverywhere(t *testing.T) {
	b := &recordingBackend{}
	b.panicOnList = false
	h, err := passkeys.New(passkeys.Options{Backend: b, JWTKey: key})
	if err != nil {
		t.Fatal(err)
	}
	var sess struct{ SessionToken string }
	_ = json.Unmarshal(post(t, h, "/signUpOrLogin", `{"email":"a@example.com","otp":"123456"}`, "").Body.Bytes(), &sess)
	host := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	jwts, err := passkeys.NewJWTSessions(passkeys.JWTOptions{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	panicking := &stubBackend{panicOnList: true}
	hp, err := passkeys.New(passkeys.Options{Backend: panicking, JWTKey: key})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		handler http.Handler
		method  string
		path    string
		body    string
		auth    bool
		status  int
	}{
		{"json", h, "POST", "/signUpOrLogin", `{"email":"a@example.com"}`, false, 200},
		{"problem", h, "POST", "/signUpOrLogin", `{"email":1}`, false, 400},
		{"no content", h, "DELETE", "/passkeys/AQID", "", true, 204},
		{"not found", h, "GET", "/nothing", "", false, 404},
		{"method not allowed", h, "PUT", "/signUpOrLogin", "", false, 405},
		{"guard", h, "GET", "/passkeys", "", false, 401},
		{"host route guard", h.RequireSession(host), "GET", "/me", "", false, 401},
		{"package guard", passkeys.RequireSession(jwts, host), "GET", "/me", "", false, 401},
		{"panic", hp, "GET", "/passkeys", "", true, 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if tc.auth {
				tok := sess.SessionToken
				if tc.handler == hp {
					var s struct{ SessionToken string }
					_ = json.Unmarshal(post(t, hp, "/signUpOrLogin", `{"email":"a@example.com","otp":"123456"}`, "").Body.Bytes(), &s)
					tok = s.SessionToken
				}
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			rec := httptest.NewRecorder()
			tc.handler.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Errorf("status %d %s, want %d", rec.Code, rec.Body, tc.status)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
		})
	}
}
